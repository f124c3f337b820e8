//! [`RedisWorker`]: the worker side. Reads a queue through the consumer group and runs
//! each job through a local executor stack.

mod handler;
mod report;
mod run;

pub use report::{ShutdownReport, WorkerStats};

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::stage::StageFuture;
use more_executors_core::{ConfigError, Executor};

use crate::conn::Backend;
use crate::error::SetupError;
use crate::job::RemoteJob;
use crate::keys::{Keys, random_id};
use crate::settings::{CommonSettings, LONGEST};
use handler::{Dispatch, Handler};
use more_executors_core::limit::MAX_LIMIT;

/// Settings of a worker.
#[derive(Debug, Clone)]
pub(crate) struct WorkerConfig {
    pub(crate) visibility_timeout: Duration,
    pub(crate) max_deliveries: u64,
    pub(crate) prefetch: usize,
    pub(crate) close_timeout: Duration,
    pub(crate) common: CommonSettings,
}

/// Settings and handlers of a [`RedisWorker`]; [`start`](Self::start) connects and runs it.
///
/// ```
/// use std::time::Duration;
/// use more_executors_redis::RedisWorker;
///
/// let builder = RedisWorker::builder("redis://127.0.0.1:6379/", "mail")
///     .visibility_timeout(Duration::from_secs(60))
///     .max_deliveries(3)
///     .prefetch(32);
/// # drop(builder);
/// ```
#[must_use = "a builder does nothing until start() is called"]
pub struct RedisWorkerBuilder {
    backend: redis::RedisResult<Backend>,
    queue: String,
    name: Option<String>,
    handlers: HashMap<&'static str, Arc<dyn Dispatch>>,
    config: WorkerConfig,
}

impl fmt::Debug for RedisWorkerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisWorkerBuilder")
            .field("queue", &self.queue)
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish()
    }
}

impl RedisWorkerBuilder {
    fn new(backend: redis::RedisResult<Backend>, queue: &str) -> Self {
        RedisWorkerBuilder {
            backend,
            queue: queue.to_string(),
            name: None,
            handlers: HashMap::new(),
            config: WorkerConfig {
                visibility_timeout: Duration::from_secs(30),
                max_deliveries: 5,
                prefetch: 64,
                close_timeout: Duration::from_secs(30),
                common: CommonSettings::default(),
            },
        }
    }

    /// This worker's consumer name in the group (default: a random id). Names must be
    /// unique among the queue's live workers; reusing a dead worker's name adopts its
    /// pending entries.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Runs jobs of type `J` through `exec`, a local executor stack taking `J` itself
    /// (a [`WorkerPool`](https://docs.rs/more-executors-jobs) whose item is `J`, or any
    /// stack over it). A later handler for the same [`RemoteJob::NAME`] replaces this one.
    pub fn handle<J, X>(self, exec: X) -> Self
    where
        J: RemoteJob,
        X: Executor<J, Future: StageFuture<Ok = J::Output, Err = J::Error>> + 'static,
    {
        self.handle_with(exec, |job: J| job)
    }

    /// Runs jobs of type `J` through `exec`, turning each into `exec`'s job type with
    /// `make` (for example a closure for an [`AsyncExecutor`](more_executors_core::AsyncExecutor)
    /// stack with retry and timeout). A panic in `make` fails that job with
    /// [`Error::Panicked`](more_executors_core::Error::Panicked).
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde::{Deserialize, Serialize};
    /// use more_executors_core::prelude::*;
    /// use more_executors_redis::{RedisWorker, RemoteJob};
    ///
    /// #[derive(Clone, Serialize, Deserialize)]
    /// struct Add(u32, u32);
    /// impl RemoteJob for Add {
    ///     const NAME: &'static str = "add";
    ///     type Output = u32;
    ///     type Error = String;
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let local = AsyncExecutor::new().with_concurrency_limit(8).unwrap();
    /// let builder = RedisWorker::builder("redis://127.0.0.1:6379/", "math")
    ///     .handle_with(local, |Add(a, b)| move || async move { Ok::<u32, String>(a + b) });
    /// # drop(builder);
    /// # }
    /// ```
    pub fn handle_with<J, X, XJ, F>(mut self, exec: X, make: F) -> Self
    where
        J: RemoteJob,
        X: Executor<XJ, Future: StageFuture<Ok = J::Output, Err = J::Error>> + 'static,
        F: Fn(J) -> XJ + Send + Sync + 'static,
        XJ: 'static,
    {
        let h: Handler<J, X, XJ, F> = Handler { exec, make, _types: PhantomData };
        self.handlers.insert(J::NAME, Arc::new(h));
        self
    }

    /// How long a claimed job may go without its worker's heartbeat before another worker
    /// claims it again (default 30 s). A live worker heartbeats its running jobs every
    /// third of this, so long jobs are not reclaimed while their worker lives; a killed
    /// worker's jobs run again elsewhere after about this long. From 30 ms to 10 years.
    pub fn visibility_timeout(mut self, d: Duration) -> Self {
        self.config.visibility_timeout = d;
        self
    }

    /// After this many deliveries without an acknowledgement, a job goes to the
    /// dead-letter stream and its handle fails with
    /// [`RemoteError::DeadLettered`](crate::RemoteError::DeadLettered) (default 5).
    pub fn max_deliveries(mut self, n: u64) -> Self {
        self.config.max_deliveries = n;
        self
    }

    /// At most this many jobs claimed and running on this worker at once (default 64).
    /// The local stack may limit concurrency further; prefetch bounds what this worker
    /// takes from the queue, leaving the rest to other workers. From 1 to
    /// [`MAX_LIMIT`](more_executors_core::limit::MAX_LIMIT).
    pub fn prefetch(mut self, n: usize) -> Self {
        self.config.prefetch = n;
        self
    }

    /// How long [`shutdown`](RedisWorker::shutdown) lets running jobs finish before
    /// handing them back to the queue (default 30 s).
    pub fn close_timeout(mut self, d: Duration) -> Self {
        self.config.close_timeout = d;
        self
    }

    /// How long outcomes stay in Redis after the job finished (default 24 h; from 1 ms to
    /// 10 years). Use the same value as the clients.
    pub fn result_ttl(mut self, d: Duration) -> Self {
        self.config.common.result_ttl = d;
        self
    }

    /// How long one read of the queue blocks in Redis when it is empty (default 1 s; from
    /// 10 ms to an hour).
    pub fn read_block(mut self, d: Duration) -> Self {
        self.config.common.block = d;
        self
    }

    fn check(&self) -> Result<(), ConfigError> {
        let c = &self.config;
        if c.visibility_timeout < Duration::from_millis(30) {
            return Err(ConfigError::new(
                "visibility timeout",
                "must be at least 30 ms (heartbeats run every third of it); typical values are seconds",
            ));
        }
        if c.visibility_timeout > LONGEST {
            return Err(ConfigError::new(
                "visibility timeout",
                "must be at most 10 years (Redis keeps idle times in milliseconds); typical values are seconds",
            ));
        }
        if c.max_deliveries == 0 {
            return Err(ConfigError::new(
                "max deliveries",
                "0 would dead-letter every job unrun; use at least 1",
            ));
        }
        if c.prefetch == 0 {
            return Err(ConfigError::new("prefetch", "0 would never claim a job; use at least 1"));
        }
        if c.prefetch > MAX_LIMIT {
            return Err(ConfigError::new(
                "prefetch",
                format!("must be at most {MAX_LIMIT} (the most slots a semaphore holds)"),
            ));
        }
        c.common.check()?;
        if let Some(name) = self.handlers.keys().find(|n| n.contains('\n')) {
            return Err(ConfigError::new(
                "handlers",
                format!("job name {name:?} contains a line break; give the job type a name without one"),
            ));
        }
        if self.handlers.is_empty() {
            return Err(ConfigError::new(
                "handlers",
                "a worker without handlers cannot run any job; add one with handle() or handle_with()",
            ));
        }
        Ok(())
    }

    /// Checks the settings, connects, creates the queue's consumer group if needed, and
    /// starts the worker's tasks on the current tokio runtime.
    ///
    /// # Errors
    /// [`SetupError::Config`] for a bad setting or no handler; [`SetupError::Redis`] when
    /// Redis cannot be reached.
    pub async fn start(self) -> Result<RedisWorker, SetupError> {
        let keys = Keys::new(&self.queue)?;
        self.check()?;
        let backend = self.backend?;
        let id = self.name.unwrap_or_else(random_id);
        let worker = run::start(backend, keys, id, self.handlers, self.config).await?;
        Ok(worker)
    }
}

/// A worker process's side of a queue: it claims jobs through the consumer group, runs
/// each through the local executor stack registered for its name, stores the outcome and
/// acknowledges (in one script, so a job is acknowledged only once its outcome is
/// stored), and pushes the outcome to the clients waiting for it.
///
/// # Delivery
/// - Execution is **at least once**: a job whose worker dies (or stops heartbeating) is
///   claimed by another worker after the visibility timeout and runs again. The first
///   outcome stored wins; the client's handle resolves **exactly once**.
/// - A job whose payload this worker cannot decode, or whose name it has no handler for,
///   is handed back with that reason; after `max_deliveries` deliveries without an
///   acknowledgement a job goes to the dead-letter stream and its handle fails with the
///   reason. Nothing is dropped silently.
/// - A client's cancel of a running job reaches this worker, which cancels the job's
///   local handle; the local stack's answer is sent back to the client.
/// - Redis going away: every loop retries with backoff; outcomes not yet stored are kept
///   in memory and stored once Redis is back.
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
/// use more_executors_jobs::WorkerPool;
/// use more_executors_redis::{RedisWorker, RemoteJob};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Add(u32, u32);
/// impl RemoteJob for Add {
///     const NAME: &'static str = "add";
///     type Output = u32;
///     type Error = String;
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = WorkerPool::new(4, 64, |Add(a, b)| async move { Ok::<u32, String>(a + b) })?;
/// let worker = RedisWorker::builder("redis://127.0.0.1:6379/", "math").handle(pool).start().await?;
/// // ... until the process should stop:
/// let report = worker.shutdown().await;
/// println!("{report}");
/// # Ok(()) }
/// ```
pub struct RedisWorker {
    inner: run::Running,
}

impl fmt::Debug for RedisWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisWorker").field("id", &self.id()).field("stats", &self.stats()).finish()
    }
}

impl RedisWorker {
    /// A builder for a worker on queue `queue` of the Redis server at `url`.
    pub fn builder(url: &str, queue: &str) -> RedisWorkerBuilder {
        RedisWorkerBuilder::new(redis::Client::open(url).map(Backend::Single), queue)
    }

    /// A builder for a worker using an existing `redis::Client`.
    pub fn with_client(client: redis::Client, queue: &str) -> RedisWorkerBuilder {
        RedisWorkerBuilder::new(Ok(Backend::Single(client)), queue)
    }

    /// A builder for a worker on a Redis Cluster (feature `cluster`).
    #[cfg(feature = "cluster")]
    pub fn with_cluster(client: redis::cluster::ClusterClient, queue: &str) -> RedisWorkerBuilder {
        RedisWorkerBuilder::new(Ok(Backend::Cluster(Box::new(client))), queue)
    }

    /// This worker's consumer name.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// Jobs running on this worker now.
    pub fn running(&self) -> usize {
        self.inner.running()
    }

    /// The worker's counters so far.
    pub fn stats(&self) -> WorkerStats {
        self.inner.stats()
    }

    /// Graceful shutdown: stops claiming jobs at once (when called, before the returned
    /// future is polled), lets running ones finish within the close timeout (storing their
    /// outcomes), then cancels the rest locally and hands them back to the queue, where
    /// other workers claim them at once. The future resolves to what happened.
    pub fn shutdown(self) -> impl Future<Output = ShutdownReport> + Send + 'static {
        self.inner.shutdown()
    }
}
