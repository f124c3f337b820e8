//! [`SchedulerBuilder`]: configuration with documented defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::config::nonzero;
use more_executors_core::{ConfigError, Runtime};

use super::Scheduler;
use super::shared::{Config, Shared};
use crate::failure::{ErrorHandler, JobFailure, default_handler};

/// Default [`limit`](SchedulerBuilder::limit): 100 jobs running at once.
///
/// ```
/// assert_eq!(more_executors_jobs::Scheduler::new().limit(), Some(more_executors_jobs::DEFAULT_LIMIT));
/// ```
pub const DEFAULT_LIMIT: usize = 100;
/// Default [`pending_limit`](SchedulerBuilder::pending_limit): 10,000 queued jobs.
///
/// ```
/// assert_eq!(more_executors_jobs::Scheduler::new().pending_limit(), more_executors_jobs::DEFAULT_PENDING_LIMIT);
/// ```
pub const DEFAULT_PENDING_LIMIT: usize = 10_000;
/// Default [`close_timeout`](SchedulerBuilder::close_timeout): 100 ms.
///
/// ```
/// assert_eq!(more_executors_jobs::Scheduler::new().close_timeout(), more_executors_jobs::DEFAULT_CLOSE_TIMEOUT);
/// ```
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_millis(100);
/// Default [`wait_timeout`](SchedulerBuilder::wait_timeout): 60 s.
///
/// ```
/// assert_eq!(more_executors_jobs::Scheduler::new().wait_timeout(), more_executors_jobs::DEFAULT_WAIT_TIMEOUT);
/// ```
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Configures a [`Scheduler`].
///
/// | setting | default | meaning |
/// | --- | --- | --- |
/// | [`limit`](Self::limit) | [`DEFAULT_LIMIT`] (100) | jobs running at once; [`unlimited`](Self::unlimited) for none; 0 is rejected |
/// | [`pending_limit`](Self::pending_limit) | [`DEFAULT_PENDING_LIMIT`] (10,000) | jobs waiting in the queue; `spawn().await` waits beyond it; [`unbounded_pending`](Self::unbounded_pending) for none |
/// | [`close_timeout`](Self::close_timeout) | [`DEFAULT_CLOSE_TIMEOUT`] (100 ms) | grace period between cancel and abort |
/// | [`wait_timeout`](Self::wait_timeout) | [`DEFAULT_WAIT_TIMEOUT`] (60 s) | default time [`Scheduler::wait_and_close`] lets jobs finish |
/// | [`error_handler`](Self::error_handler) | a `tracing` error event | receives failures nobody waited for |
/// | [`name`](Self::name) | `"default"` | shown in tracing spans and events |
/// | [`runtime`](Self::runtime) | the runtime current at the first spawn, else an owned background one | where jobs run |
///
/// ```
/// use std::time::Duration;
/// use more_executors_jobs::Scheduler;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::builder()
///     .name("uploads")
///     .limit(8)
///     .pending_limit(1_000)
///     .close_timeout(Duration::from_secs(2))
///     .build()
///     .unwrap();
/// assert_eq!(scheduler.limit(), Some(8));
///
/// let err = Scheduler::builder().limit(0).build().unwrap_err();
/// assert_eq!(err.setting(), "scheduler limit");
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct SchedulerBuilder {
    name: Option<Arc<str>>,
    limit: Option<usize>,
    pending_limit: usize,
    close_timeout: Duration,
    wait_timeout: Duration,
    handler: Option<ErrorHandler>,
    runtime: Option<Runtime>,
}

impl fmt::Debug for SchedulerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedulerBuilder")
            .field("name", &self.name)
            .field("limit", &self.limit)
            .field("pending_limit", &self.pending_limit)
            .field("close_timeout", &self.close_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .field("custom_error_handler", &self.handler.is_some())
            .finish()
    }
}

impl Default for SchedulerBuilder {
    fn default() -> Self {
        SchedulerBuilder {
            name: None,
            limit: Some(DEFAULT_LIMIT),
            pending_limit: DEFAULT_PENDING_LIMIT,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            handler: None,
            runtime: None,
        }
    }
}

impl SchedulerBuilder {
    /// The defaults listed above.
    ///
    /// ```
    /// let scheduler = more_executors_jobs::SchedulerBuilder::new().build().unwrap();
    /// assert_eq!(scheduler.limit(), Some(100));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the scheduler (default `"default"`).
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().name("mailer").build().unwrap();
    /// assert_eq!(s.name(), "mailer");
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// At most `limit` jobs run at once (shields do not count); more wait in the FIFO
    /// queue. A limit of 0 is rejected by [`build`](Self::build).
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().limit(4).build().unwrap();
    /// assert_eq!(s.limit(), Some(4));
    /// assert!(more_executors_jobs::Scheduler::builder().limit(0).build().is_err());
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// No limit: every job starts at once.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().unlimited().build().unwrap();
    /// assert_eq!(s.limit(), None);
    /// ```
    pub fn unlimited(mut self) -> Self {
        self.limit = None;
        self
    }

    /// At most `n` jobs wait in the queue; beyond that, `spawn().await` waits for room and
    /// `try_spawn` refuses. 0 means no queue: spawners wait for a free slot.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().pending_limit(0).build().unwrap();
    /// assert_eq!(s.pending_limit(), 0);
    /// ```
    pub fn pending_limit(mut self, n: usize) -> Self {
        self.pending_limit = n;
        self
    }

    /// No bound on the queue: `spawn().await` never waits.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().unbounded_pending().build().unwrap();
    /// assert_eq!(s.pending_limit(), usize::MAX);
    /// ```
    pub fn unbounded_pending(mut self) -> Self {
        self.pending_limit = usize::MAX;
        self
    }

    /// How long a closed job (or every job, when the scheduler closes) may take to stop
    /// after its cancellation token was cancelled, before its future is dropped (aborted).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = more_executors_jobs::Scheduler::builder().close_timeout(Duration::from_secs(2)).build().unwrap();
    /// assert_eq!(s.close_timeout(), Duration::from_secs(2));
    /// ```
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How long [`Scheduler::wait_and_close`] lets jobs finish when given no timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = more_executors_jobs::Scheduler::builder().wait_timeout(Duration::from_secs(5)).build().unwrap();
    /// assert_eq!(s.wait_timeout(), Duration::from_secs(5));
    /// ```
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Receives every error or panic of a job that no caller received (see
    /// [`Job`](crate::Job) for the routing rule). It runs on the thread where the job
    /// ended, without locks held; a panic in it is caught and logged.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(|f| eprintln!("background failure: {f}"))
    ///     .build()
    ///     .unwrap();
    /// # let _ = s;
    /// ```
    pub fn error_handler(mut self, handler: impl Fn(&JobFailure<'_>) + Send + Sync + 'static) -> Self {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// Runs the jobs on this runtime. By default the scheduler binds at its first spawn
    /// (not when built) to the tokio runtime current then, or, when the first spawn happens
    /// outside any runtime, to an owned background runtime. Once the runtime it is bound
    /// to has shut down, spawning fails with [`ClosedReason::RuntimeGone`](crate::ClosedReason).
    ///
    /// ```
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .runtime(more_executors_core::Runtime::from_handle(rt.handle().clone()))
    ///     .build()
    ///     .unwrap();
    /// # let _ = s;
    /// ```
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Builds the scheduler.
    ///
    /// # Errors
    /// [`ConfigError`] for a limit of 0 (use [`unlimited`](Self::unlimited) for no limit).
    ///
    /// ```
    /// let err = more_executors_jobs::Scheduler::builder().limit(0).build().unwrap_err();
    /// assert!(err.to_string().contains("scheduler limit"));
    /// ```
    pub fn build(self) -> Result<Scheduler, ConfigError> {
        let limit = match self.limit {
            Some(n) => nonzero("scheduler limit", n)?,
            None => usize::MAX,
        };
        let cfg = Config {
            name: self.name.unwrap_or_else(|| Arc::from("default")),
            pending_limit: self.pending_limit,
            close_timeout: self.close_timeout,
            wait_timeout: self.wait_timeout,
            handler: self.handler.unwrap_or_else(default_handler),
        };
        Ok(Scheduler { shared: Arc::new(Shared::new(cfg, self.runtime, limit)) })
    }
}
