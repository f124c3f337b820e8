//! Starts a private `redis-server` for tests, examples and benchmarks: a free loopback
//! port, a fresh temporary directory, append-only persistence, stopped on drop.
//!
//! Without `redis-server` on the PATH, [`RedisServer::start`] returns `None` after printing
//! one line saying how to install it, unless `MORE_EXECUTORS_REQUIRE_REDIS=1` is set (as in
//! CI), where it panics.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

fn installed(program: &str) -> bool {
    Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Whether the Redis programs are installed; prints one line saying how to install them
/// when they are not (or panics when `MORE_EXECUTORS_REQUIRE_REDIS=1`, as in CI).
fn have_redis(programs: &[&str]) -> bool {
    if programs.iter().all(|p| installed(p)) {
        return true;
    }
    if std::env::var("MORE_EXECUTORS_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
        panic!("{} not on the PATH but MORE_EXECUTORS_REQUIRE_REDIS=1", programs.join(" / "));
    }
    println!(
        "skipped: {} not found on the PATH; install it (Debian/Ubuntu: apt-get install redis-server) to run the Redis tests",
        programs.join(" / ")
    );
    false
}

/// A free loopback port; with `bus`, one whose cluster bus port (+10000) is free too.
fn free_port(bus: bool) -> u16 {
    loop {
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("no free port").port();
        if !bus || (port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()) {
            return port;
        }
    }
}

impl RedisServer {
    /// Starts a server, or returns `None` (after printing why) when none is installed.
    pub fn start() -> Option<RedisServer> {
        have_redis(&["redis-server"]).then(|| RedisServer::spawn_new(free_port(false), Vec::new()))
    }

    fn spawn_new(port: u16, extra: Vec<String>) -> RedisServer {
        let dir =
            std::env::temp_dir().join(format!("mx-redis-{}-{port}-{:x}", std::process::id(), rand_u64()));
        std::fs::create_dir_all(&dir).expect("cannot create the server's directory");
        let mut s = RedisServer { child: None, port, dir, extra };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg("yes")
            .arg("--appendfsync")
            .arg("always")
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server could not be started");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.command("PING").is_some_and(|r| r.starts_with("+PONG")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer within 20 s", self.port);
    }

    /// Sends one inline command and returns the raw reply (`None` if the server is down).
    pub fn command(&self, cmd: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(format!("{cmd}\r\n").as_bytes()).ok()?;
        let mut buf = vec![0u8; 1 << 20];
        let mut out = Vec::new();
        loop {
            let n = s.read(&mut buf).ok()?;
            out.extend_from_slice(&buf[..n]);
            if n == 0 || is_complete(&out) {
                break;
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the server the clean way (`SHUTDOWN`: the append-only file is synced).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self.command("SHUTDOWN");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts the server again on the same port and directory (its data comes
    /// back from the append-only file).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// [`restart`](Self::restart), by value (for `spawn_blocking`).
    pub fn restart_and_return(mut self) -> RedisServer {
        self.restart();
        self
    }

    /// The server process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// CPU time (user + system) the server process has used so far (Linux; `None`
    /// elsewhere).
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds_of(&format!("/proc/{}/stat", self.pid()?))
    }

    /// The integer after `field:` in `INFO` output.
    pub fn info_field(&self, section: &str, field: &str) -> u64 {
        let info = self.command(&format!("INFO {section}")).unwrap_or_default();
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Calls per command from `INFO commandstats`.
    pub fn command_calls(&self) -> Vec<(String, u64)> {
        let info = self.command("INFO commandstats").unwrap_or_default();
        info.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("cmdstat_")?;
                let (name, stats) = rest.split_once(':')?;
                let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
                Some((name.to_string(), calls))
            })
            .collect()
    }
}

/// CPU time (user + system, seconds) of a process from its `/proc/<pid>/stat`.
pub fn cpu_seconds_of(stat: &str) -> Option<f64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces):
    // state is field 3, utime field 14, stime field 15.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// A Redis Cluster of local `redis-server` masters (no replicas), each in its own
/// temporary directory, stopped on drop.
pub struct RedisCluster {
    /// The masters.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` cluster-enabled servers, joins them with `redis-cli --cluster
    /// create` and waits until every node reports `cluster_state:ok`; `None` (after
    /// printing why) when redis-server or redis-cli is not installed.
    pub fn start(masters: usize) -> Option<RedisCluster> {
        if !have_redis(&["redis-server", "redis-cli"]) {
            return None;
        }
        let cluster_args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"];
        let nodes: Vec<RedisServer> = (0..masters)
            .map(|_| {
                RedisServer::spawn_new(free_port(true), cluster_args.iter().map(|a| a.to_string()).collect())
            })
            .collect();
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli could not be run");
        assert!(status.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !nodes.iter().all(|n| n.command("CLUSTER INFO").is_some_and(|i| i.contains("cluster_state:ok")))
        {
            assert!(Instant::now() < deadline, "the cluster did not reach cluster_state:ok within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(RedisCluster { nodes })
    }

    /// The masters' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The hash slot of `key`.
    pub fn slot(&self, key: &str) -> u64 {
        let r = self.nodes[0].command(&format!("CLUSTER KEYSLOT {key}")).unwrap_or_default();
        r.trim().trim_start_matches(':').parse().expect("CLUSTER KEYSLOT answers an integer")
    }

    /// The index of the node holding `key`, which must exist.
    pub fn node_with(&self, key: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.command(&format!("EXISTS {key}")).as_deref() == Some(":1\r\n"))
    }
}

fn is_complete(reply: &[u8]) -> bool {
    // Simple replies end with CRLF; a bulk reply "$<len>\r\n<data>\r\n" is complete once
    // all of it arrived.
    let text = String::from_utf8_lossy(reply);
    if let Some(rest) = text.strip_prefix('$') {
        if let Some((len, body)) = rest.split_once("\r\n") {
            return len.parse::<i64>().map_or(true, |n| n < 0 || body.len() >= n as usize + 2);
        }
        return false;
    }
    text.ends_with("\r\n")
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How long a test waits for Redis-side progress before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// `f`'s output; panics when it takes longer than [`PATIENCE`].
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(PATIENCE, f).await.expect("did not complete within 60 s")
}

/// Polls `cond` every 5 ms until it holds; panics naming `what` after [`PATIENCE`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// [`eventually`] for a condition that asks Redis (an async check).
pub async fn eventually_async<F: std::future::Future<Output = bool>>(
    what: &str,
    mut cond: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
