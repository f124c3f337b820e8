//! Commands built in one buffer: script calls and keys made of parts.
//!
//! The hot paths send one command per batch with two to five arguments per job. Built
//! through `redis::ScriptInvocation`, every argument is a vector of its own, copied again
//! into the command when it is sent; a key built with `format!` is a string of its own.
//! Here each argument is written straight into the command's single buffer. Scripts whose
//! arguments grow with a batch (submit, acknowledge, heartbeat, release) are called with
//! [`ScriptCall`]; those with a fixed handful of arguments (attach, cancel, reclaim, dead
//! letter) through `redis::Script`'s own builder.

use std::io::Write;

use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, RedisWrite, Script, ServerErrorKind, ToRedisArgs};

use crate::conn::Conn;

/// One argument made of several parts (a key such as `<prefix>out:<id>`), written into
/// the command's buffer without building a `String` first.
pub(crate) struct Concat<'a, const N: usize>(pub(crate) [&'a str; N]);

impl<const N: usize> ToRedisArgs for Concat<'_, N> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let mut arg = out.writer_for_next_arg();
        for part in self.0 {
            // Writing to memory cannot fail.
            let _ = arg.write_all(part.as_bytes());
        }
    }
}

/// A call of a script, as one `EVALSHA` command. When Redis does not know the script
/// (a restarted server, `SCRIPT FLUSH`), it is loaded and the call sent once more.
pub(crate) struct ScriptCall {
    script: &'static Script,
    cmd: Cmd,
}

impl ScriptCall {
    /// A call of `script` with `keys`; `args` and `bytes` size the buffer for the
    /// arguments to come (an estimate: the buffer grows if they are short).
    pub(crate) fn new(script: &'static Script, keys: &[&str], args: usize, bytes: usize) -> Self {
        let key_bytes: usize = keys.iter().map(|k| k.len()).sum();
        let mut cmd = Cmd::with_capacity(3 + keys.len() + args, 64 + key_bytes + bytes);
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(keys.len());
        for key in keys {
            cmd.arg(*key);
        }
        ScriptCall { script, cmd }
    }

    /// Appends an argument (`ARGV[i]`).
    pub(crate) fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.cmd.arg(arg);
        self
    }

    /// Sends the call; may be sent again after an error.
    pub(crate) async fn invoke<T: FromRedisValue>(&self, conn: &mut Conn) -> RedisResult<T> {
        match self.cmd.query_async(conn).await {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.script.load_async(conn).await?;
                self.cmd.query_async(conn).await
            }
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_concatenated_argument_is_one_argument() {
        let mut cmd = redis::cmd("GET");
        cmd.arg(Concat(["mx:{q}:", "out:", "abc"]));
        assert_eq!(cmd.get_packed_command(), b"*2\r\n$3\r\nGET\r\n$14\r\nmx:{q}:out:abc\r\n".to_vec());
    }

    #[test]
    fn a_script_call_is_evalsha_with_its_keys_counted() {
        static S: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| Script::new("return 1"));
        let mut call = ScriptCall::new(&S, &["k1", "k2"], 1, 1);
        call.arg("a");
        let packed = String::from_utf8(call.cmd.get_packed_command()).unwrap();
        let expected = format!(
            "*6\r\n$7\r\nEVALSHA\r\n$40\r\n{}\r\n$1\r\n2\r\n$2\r\nk1\r\n$2\r\nk2\r\n$1\r\na\r\n",
            S.get_hash()
        );
        assert_eq!(packed, expected);
    }
}
