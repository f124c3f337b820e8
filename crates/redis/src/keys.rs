//! Key names of one queue. Every key carries the queue's hash tag (`{queue}`), so all keys
//! of a queue live in one Redis Cluster slot and the Lua scripts touching several of them
//! stay valid on a cluster.

use std::sync::Arc;

use more_executors_core::ConfigError;

use crate::call::Concat;

/// The consumer group every worker of a queue reads through.
pub(crate) const GROUP: &str = "mx-workers";

/// Key names of one queue.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) queue: Arc<str>,
    /// `mx:{queue}:`, the prefix of every key; scripts build per-job keys from it.
    pub(crate) prefix: Arc<str>,
    /// The stream of queued jobs.
    pub(crate) stream: Arc<str>,
    /// The dead-letter stream.
    pub(crate) dead: Arc<str>,
    /// The queue's length: jobs waiting or running.
    pub(crate) len: Arc<str>,
}

impl Keys {
    /// Validates `queue` and derives the key names.
    pub(crate) fn new(queue: &str) -> Result<Keys, ConfigError> {
        if queue.is_empty() {
            return Err(ConfigError::new(
                "queue name",
                "an empty name; give the queue a name such as \"emails\"",
            ));
        }
        if queue.len() > 200 || queue.contains(['{', '}']) || queue.chars().any(char::is_whitespace) {
            return Err(ConfigError::new(
                "queue name",
                format!(
                    "{queue:?} must be at most 200 characters without braces or whitespace \
                     (the name becomes the Redis Cluster hash tag of the queue's keys)"
                ),
            ));
        }
        let prefix: Arc<str> = format!("mx:{{{queue}}}:").into();
        Ok(Keys {
            queue: queue.into(),
            stream: format!("{prefix}jobs").into(),
            dead: format!("{prefix}dead").into(),
            len: format!("{prefix}len").into(),
            prefix,
        })
    }

    /// `job:<id>`, the job's queued state (written into the command as it is sent).
    pub(crate) fn job<'a>(&'a self, id: &'a str) -> Concat<'a, 3> {
        Concat([&self.prefix, "job:", id])
    }

    /// `out:<id>`, the job's outcome.
    pub(crate) fn out<'a>(&'a self, id: &'a str) -> Concat<'a, 3> {
        Concat([&self.prefix, "out:", id])
    }

    pub(crate) fn reply(&self, client: &str) -> String {
        format!("{}reply:{client}", self.prefix)
    }

    pub(crate) fn control(&self, worker: &str) -> String {
        format!("{}ctl:{worker}", self.prefix)
    }
}

/// A random identifier (128 bits, hex): job ids, client and worker names.
pub(crate) fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Checks a caller-chosen job key (idempotency key or attach id).
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 200 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_hash_tag() {
        let k = Keys::new("mail").unwrap();
        assert_eq!(&*k.stream, "mx:{mail}:jobs");
        assert_eq!(redis::ToRedisArgs::to_redis_args(&k.job("a1")), vec![b"mx:{mail}:job:a1".to_vec()]);
        assert_eq!(redis::ToRedisArgs::to_redis_args(&k.out("a1")), vec![b"mx:{mail}:out:a1".to_vec()]);
        assert_eq!(k.reply("c"), "mx:{mail}:reply:c");
        assert!(Keys::new("").is_err());
        assert!(Keys::new("a{b}").is_err());
        assert!(Keys::new("a b").is_err());
    }

    #[test]
    fn ids() {
        assert_eq!(random_id().len(), 32);
        assert_ne!(random_id(), random_id());
        assert!(valid_id("order-17.v2"));
        assert!(!valid_id("has space"));
        assert!(!valid_id(""));
    }
}
