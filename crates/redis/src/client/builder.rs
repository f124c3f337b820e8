//! [`RedisExecutorBuilder`]: settings of a client, checked before it connects.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use more_executors_core::{ConfigError, Runtime};

use super::RedisExecutor;
use super::shared::{ClientConfig, Shared};
use crate::conn::Backend;
use crate::error::SetupError;
use crate::keys::{Keys, random_id};
use crate::settings::CommonSettings;

/// The largest batch size.
const MAX_BATCH: usize = 100_000;

/// Settings of a [`RedisExecutor`]; [`connect`](Self::connect) checks them and connects.
///
/// ```
/// use std::time::Duration;
/// use more_executors_redis::{RedisExecutor, SetupError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let err = RedisExecutor::builder("redis://127.0.0.1:6379/", "mail")
///     .result_ttl(Duration::ZERO)
///     .connect()
///     .await
///     .unwrap_err();
/// assert!(matches!(err, SetupError::Config(e) if e.setting() == "result TTL"));
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until connect() is called"]
pub struct RedisExecutorBuilder {
    backend: redis::RedisResult<Backend>,
    queue: String,
    name: Option<String>,
    config: ClientConfig,
}

impl RedisExecutorBuilder {
    pub(crate) fn new(backend: redis::RedisResult<Backend>, queue: &str) -> Self {
        RedisExecutorBuilder {
            backend,
            queue: queue.to_string(),
            name: None,
            config: ClientConfig {
                max_len: 0,
                unavailable_timeout: Duration::from_secs(60),
                cancel_timeout: Duration::from_secs(10),
                batch: 512,
                common: CommonSettings::default(),
            },
        }
    }

    /// The executor's name in metrics and spans (default: the queue's name).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// At most `n` jobs in the queue (waiting or running); past it `submit` resolves to
    /// [`RemoteError::QueueFull`](crate::RemoteError::QueueFull) and `submit_ready`
    /// waits. Default: no limit (0).
    pub fn max_queue_len(mut self, n: u64) -> Self {
        self.config.max_len = n;
        self
    }

    /// How long a finished job's outcome stays in Redis for [`attach`](RedisExecutor::attach)
    /// and idempotent resubmission (default 24 h; from 1 ms to 10 years).
    pub fn result_ttl(mut self, ttl: Duration) -> Self {
        self.config.common.result_ttl = ttl;
        self
    }

    /// How long Redis may stay unreachable before pending handles (and new submissions)
    /// fail with [`RemoteError::Unavailable`](crate::RemoteError::Unavailable); until then
    /// they keep waiting and resolve once Redis is back (default 60 s).
    pub fn unavailable_timeout(mut self, d: Duration) -> Self {
        self.config.unavailable_timeout = d;
        self
    }

    /// How long `cancel()` of a running job waits for its worker's answer before it
    /// counts as refused (default 10 s).
    pub fn cancel_timeout(mut self, d: Duration) -> Self {
        self.config.cancel_timeout = d;
        self
    }

    /// At most this many jobs per submit script call and outcomes per read (default 512;
    /// from 1 to 100,000).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.config.batch = n;
        self
    }

    /// How long one read of the reply list blocks in Redis when no outcome is there
    /// (default 1 s; from 10 ms to an hour). Shorter means more round trips while idle, not
    /// lower latency: an outcome wakes the read at once.
    pub fn read_block(mut self, d: Duration) -> Self {
        self.config.common.block = d;
        self
    }

    fn check(&self) -> Result<(), ConfigError> {
        let c = &self.config;
        c.common.check()?;
        if c.batch == 0 {
            return Err(ConfigError::new("batch size", "0 would never send a job; use at least 1"));
        }
        if c.batch > MAX_BATCH {
            return Err(ConfigError::new(
                "batch size",
                "must be at most 100000 (one script call runs a whole batch while Redis serves nothing else)",
            ));
        }
        if c.unavailable_timeout.is_zero() {
            return Err(ConfigError::new(
                "unavailable timeout",
                "0 would fail handles at the first hiccup; give a duration",
            ));
        }
        Ok(())
    }

    /// Checks the settings, connects (two connections: commands, and the blocking read of
    /// outcomes), and starts the client's background tasks on the current tokio runtime.
    ///
    /// # Errors
    /// [`SetupError::Config`] for a bad setting or queue name; [`SetupError::Redis`] when
    /// the URL is invalid or the server cannot be reached.
    pub async fn connect(self) -> Result<RedisExecutor, SetupError> {
        let keys = Keys::new(&self.queue)?;
        self.check()?;
        let backend = self.backend?;
        let conn = backend.connect(None).await?;
        let read_conn = backend.connect(Some(self.config.common.block)).await?;
        let runtime = Runtime::current_or_owned();
        let (tx, rx) = mpsc::unbounded_channel();
        let name: Arc<str> = self.name.as_deref().unwrap_or(&self.queue).into();
        let shared = Arc::new(Shared::new(keys, name, conn, random_id(), self.config, tx));
        let rt = runtime.handle();
        rt.spawn(super::tasks::submitter(shared.clone(), rx));
        rt.spawn(super::tasks::reader(shared.clone(), read_conn));
        Ok(RedisExecutor::from_parts(shared, runtime))
    }
}
