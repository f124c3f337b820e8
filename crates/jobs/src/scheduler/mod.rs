//! [`Scheduler`]: a container of spawned jobs with a concurrency limit, a FIFO queue, error
//! routing and graceful shutdown.

mod builder;
pub(crate) mod close;
pub(crate) mod shared;
mod spawn;
pub(crate) mod spawned;

pub use builder::{
    DEFAULT_CLOSE_TIMEOUT, DEFAULT_LIMIT, DEFAULT_PENDING_LIMIT, DEFAULT_WAIT_TIMEOUT, SchedulerBuilder,
};
pub use close::{Close, CloseReport, ClosedJob};
pub use spawn::{JobBuilder, Spawn, SpawnBlocking};

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::ConfigError;
use more_executors_core::config::nonzero;

use crate::error::{Closed, TrySpawnError};
use crate::job::{AlwaysOk, Job, JobCtx, JobInfo};
use shared::Shared;

/// A container of spawned jobs: runs at most `limit` at once, queues the rest in FIFO
/// order, routes errors nobody waits for to an error handler, and shuts down gracefully.
///
/// `Scheduler` is a cheap, cloneable handle; every clone is the same scheduler and every
/// method takes `&self`. Jobs are futures (or blocking closures) returning
/// `Result<T, E>` with `E: Display`; each spawn gets its own [`Job<T, E>`] handle.
///
/// # Spawning
/// - [`spawn`](Self::spawn)`(fut).await` starts the job if fewer than `limit` jobs run,
///   else queues it (FIFO); when the queue holds `pending_limit` jobs it waits for room.
///   It resolves to the [`Job`], or to [`Closed`] (with the future back) once the
///   scheduler is closed, also for spawners waiting for room when the close happens.
/// - [`try_spawn`](Self::try_spawn) never waits: [`TrySpawnError::Full`] or
///   [`TrySpawnError::Closed`], with the future back.
/// - [`spawn_blocking`](Self::spawn_blocking) runs a closure on tokio's blocking threads,
///   counting toward the limit. [`shield`](Self::shield) starts work that must complete,
///   outside the limit. [`job`](Self::job) adds a name and a cancellation token.
///
/// # Shutdown
/// [`close`](Self::close) and [`wait_and_close`](Self::wait_and_close); see their docs.
/// Dropping every `Scheduler` handle does not close it: running and queued jobs go on.
///
/// ```
/// use more_executors_jobs::Scheduler;
///
/// # #[tokio::main] async fn main() {
/// let scheduler = Scheduler::builder().limit(2).build().unwrap();
/// let mut jobs = Vec::new();
/// for n in 0..5u64 {
///     jobs.push(scheduler.spawn(async move { Ok::<_, String>(n * n) }).await.unwrap());
/// }
/// let mut squares = Vec::new();
/// for job in jobs {
///     squares.push(job.await.unwrap());
/// }
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// let report = scheduler.close().await;
/// assert_eq!(report.total(), 0);
/// # }
/// ```
#[derive(Clone)]
pub struct Scheduler {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    /// A scheduler with the default settings (see [`SchedulerBuilder`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// assert_eq!((s.limit(), s.name()), (Some(100), "default"));
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::builder().build().expect("the default settings are valid")
    }

    /// Configures a scheduler.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::builder().limit(3).build().unwrap();
    /// assert_eq!(s.limit(), Some(3));
    /// # }
    /// ```
    pub fn builder() -> SchedulerBuilder {
        SchedulerBuilder::new()
    }

    /// Options for the next job (name, cancellation token).
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler.job().name("report").spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert_eq!(&*job.name(), "report");
    /// # }
    /// ```
    pub fn job(&self) -> JobBuilder<'_> {
        JobBuilder::new(self)
    }

    /// Spawns `fut` as a job. Awaiting the returned future starts the job when fewer than
    /// `limit` jobs run, else queues it (jobs start in the order they were queued); while
    /// the queue is full, it waits for room. The spawn location is recorded for error
    /// reports.
    ///
    /// # Errors
    /// [`Closed`], with `fut` unrun, when the scheduler is closed (also when it closes
    /// while this waits for room).
    ///
    /// ```
    /// use more_executors_jobs::{JobState, Scheduler};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::builder().limit(1).build().unwrap();
    /// let first = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let second = scheduler.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert_eq!((first.state(), second.state()), (JobState::Active, JobState::Pending));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F, T, E>(&self, fut: F) -> Spawn<F, T, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        self.job().spawn(fut)
    }

    /// Spawns the future that `f` makes from the job's [`JobCtx`]: its id and its
    /// cancellation token, so the job can stop cooperatively, and run async cleanup within
    /// the close timeout, without a token threaded through by hand. Otherwise as
    /// [`spawn`](Self::spawn).
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler
    ///     .spawn_with(|ctx| async move {
    ///         ctx.cancelled().await;
    ///         Ok::<_, String>("stopped cleanly")
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert!(job.close().await.was_cancelled());
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_with<M, F, T, E>(&self, f: M) -> Spawn<F, T, E>
    where
        M: FnOnce(JobCtx) -> F,
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        self.job().spawn_with(f)
    }

    /// Spawns a future with any output (`()`, a value): the output is the job's value and
    /// the job cannot fail (its error type is [`Infallible`]). Otherwise as
    /// [`spawn`](Self::spawn); for the other spawning methods wrap the future in
    /// [`always_ok`](crate::always_ok).
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler.spawn_infallible(async { println!("hello") }).await.unwrap();
    /// assert_eq!(job.await, Ok(()));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_infallible<F>(&self, fut: F) -> Spawn<AlwaysOk<F>, F::Output, Infallible>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.job().spawn_infallible(fut)
    }

    /// Spawns `fut` if it can start or be queued now; never waits.
    ///
    /// # Errors
    /// [`TrySpawnError::Full`] when the limit is reached and the queue is full,
    /// [`TrySpawnError::Closed`] after close; `fut` is handed back unrun.
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler.try_spawn(async { Ok::<_, String>(1) }).unwrap();
    /// assert_eq!(job.await, Ok(1));
    /// # }
    /// ```
    #[track_caller]
    pub fn try_spawn<F, T, E>(&self, fut: F) -> Result<Job<T, E>, TrySpawnError<F>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        self.job().try_spawn(fut)
    }

    /// Spawns a blocking closure, run on tokio's blocking threads and counted toward the
    /// limit like any job. A running blocking job cannot be interrupted: closing it (or the
    /// scheduler) resolves its [`Job`] as cancelled and detaches the thread, which keeps the
    /// job's slot until it returns. A queued one is removed unrun.
    ///
    /// # Errors
    /// [`Closed`], with `f` unrun, when the scheduler is closed.
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler.spawn_blocking(|| Ok::<_, String>(std::thread::current().name().is_some())).await.unwrap();
    /// assert!(job.await.is_ok());
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, T, E>(&self, f: F) -> SpawnBlocking<F, T, E>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        self.job().spawn_blocking(f)
    }

    /// Like [`spawn_blocking`](Self::spawn_blocking), but never waits.
    ///
    /// # Errors
    /// As [`try_spawn`](Self::try_spawn).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.try_spawn_blocking(|| Ok::<_, String>(5)).unwrap();
    /// assert_eq!(job.await, Ok(5));
    /// # }
    /// ```
    #[track_caller]
    pub fn try_spawn_blocking<F, T, E>(&self, f: F) -> Result<Job<T, E>, TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        self.job().try_spawn_blocking(f)
    }

    /// Runs `fut` as a *shield*: work that must complete even if the caller is cancelled
    /// or drops the returned [`Job`] (the "client disconnected but the write must land"
    /// case). It starts at once, is never queued and does not count toward the limit.
    /// Await the `Job` for its result; if the caller goes away, the work continues and a
    /// failure goes to the error handler. [`wait_and_close`](Self::wait_and_close) waits
    /// for shields; [`close`](Self::close) cancels them like jobs.
    ///
    /// # Errors
    /// [`Closed`], with `fut` unrun, after the scheduler was closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::time::Duration;
    /// use more_executors_jobs::Scheduler;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let landed = Arc::new(AtomicBool::new(false));
    /// let flag = landed.clone();
    /// let write = async move {
    ///     tokio::time::sleep(Duration::from_millis(50)).await;
    ///     flag.store(true, Ordering::SeqCst);
    ///     Ok::<_, String>(())
    /// };
    /// // The caller gives up after 10 ms; the shielded write still lands.
    /// let caller = tokio::time::timeout(Duration::from_millis(10), scheduler.shield(write).unwrap());
    /// assert!(caller.await.is_err());
    /// scheduler.wait_and_close(None).await;
    /// assert!(landed.load(Ordering::SeqCst));
    /// # }
    /// ```
    #[track_caller]
    pub fn shield<F, T, E>(&self, fut: F) -> Result<Job<T, E>, Closed<F>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        self.job().shield(fut)
    }

    /// Closes the scheduler. Idempotent: every call (concurrent or later) waits for the
    /// same close and gets the same [`CloseReport`].
    ///
    /// The close happens when this is called, before the returned future is polled:
    /// 1. new spawns are refused with [`Closed`], and spawners waiting for room in the
    ///    queue are woken with [`Closed`];
    /// 2. queued jobs are removed unrun (outcome cancelled);
    /// 3. running jobs and shields are cancelled: their cancellation token is cancelled,
    ///    or, without a token, their future is dropped at its next `.await`;
    /// 4. after `close_timeout`, whatever still runs is aborted (a blocking job is detached).
    ///
    /// The future resolves with the report once every job has stopped or been aborted.
    /// Dropping it midway leaves the scheduler closed, and the close completes anyway.
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let _job = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let (a, b) = tokio::join!(scheduler.close(), scheduler.close());
    /// assert_eq!(a, b);
    /// assert_eq!(a.cancelled, 1);
    /// assert!(scheduler.is_closed());
    /// # }
    /// ```
    pub fn close(&self) -> Close {
        Close::new(self.shared.close())
    }

    /// Lets running and queued jobs and shields, and jobs spawned meanwhile, finish for at
    /// most `timeout` (`None`: the configured `wait_timeout`, 60 s by default), then
    /// [`close`](Self::close)s and returns the report. The scheduler accepts spawns while
    /// it waits. Dropping this future during the wait leaves the scheduler open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler
    ///     .spawn(async {
    ///         tokio::time::sleep(Duration::from_secs(1)).await;
    ///         Ok::<_, String>("done")
    ///     })
    ///     .await
    ///     .unwrap();
    /// let report = scheduler.wait_and_close(Some(Duration::from_secs(5))).await;
    /// assert_eq!(report.total(), 0, "the job finished before the close");
    /// assert_eq!(job.await, Ok("done"));
    /// # }
    /// ```
    pub async fn wait_and_close(&self, timeout: Option<Duration>) -> CloseReport {
        let timeout = timeout.unwrap_or(self.shared.cfg.wait_timeout);
        if tokio::time::timeout(timeout, self.shared.idle()).await.is_err() {
            tracing::debug!(scheduler = %self.shared.cfg.name, ?timeout, "wait_and_close: jobs still running; closing");
        }
        self.close().await
    }

    /// Resolves once no job or shield is running or queued (at once if none is). New
    /// spawns are still accepted.
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::new();
    /// drop(scheduler.spawn(async { Ok::<_, String>(()) }).await.unwrap());
    /// scheduler.idle().await;
    /// assert!(scheduler.is_empty());
    /// # }
    /// ```
    pub async fn idle(&self) {
        self.shared.idle().await
    }

    /// Jobs running now (including jobs stopping after a close; excluding shields).
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::builder().limit(1).build().unwrap();
    /// let _a = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let _b = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert_eq!((scheduler.active_count(), scheduler.pending_count(), scheduler.len()), (1, 1, 2));
    /// # }
    /// ```
    pub fn active_count(&self) -> usize {
        self.shared.counts().0
    }

    /// Jobs waiting in the queue (not counting spawners still waiting for room).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::builder().limit(1).build().unwrap();
    /// let _a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let _b = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert_eq!(s.pending_count(), 1);
    /// # }
    /// ```
    pub fn pending_count(&self) -> usize {
        self.shared.counts().1
    }

    /// Shields running now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let _w = s.shield(std::future::pending::<Result<(), String>>()).unwrap();
    /// assert_eq!((s.shield_count(), s.active_count()), (1, 0));
    /// # }
    /// ```
    pub fn shield_count(&self) -> usize {
        self.shared.counts().2
    }

    /// Every job the scheduler holds now: active, pending and shields (the same jobs as
    /// [`jobs`](Self::jobs) lists; the original's `len(scheduler)`). Agrees with
    /// [`is_empty`](Self::is_empty) and [`contains`](Self::contains).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let _a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let _w = s.shield(std::future::pending::<Result<(), String>>()).unwrap();
    /// assert_eq!(s.len(), 2);
    /// assert_eq!(s.len(), s.jobs().len());
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        let (active, pending, shields) = self.shared.counts();
        active + pending + shields
    }

    /// True when `job` is one of this scheduler's jobs and has not ended yet (it is
    /// active or pending); the original's `job in scheduler`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let other = more_executors_jobs::Scheduler::new();
    /// let job = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert!(s.contains(&job) && !other.contains(&job));
    /// job.close().await;
    /// assert!(!s.contains(&job), "a closed job has left the scheduler");
    /// # }
    /// ```
    pub fn contains<T, E>(&self, job: &Job<T, E>) -> bool {
        job.belongs_to(&self.shared) && job.state() != crate::JobState::Closed
    }

    /// True when no job or shield is active or pending (`len() == 0`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// assert!(s.is_empty());
    /// let _a = s.shield(std::future::pending::<Result<(), String>>()).unwrap();
    /// assert!(!s.is_empty());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once [`close`](Self::close) was called (by anyone, or by
    /// [`wait_and_close`](Self::wait_and_close)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// drop(s.close());
    /// assert!(s.is_closed());
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// The scheduler's name.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().name("thumbnails").build().unwrap();
    /// assert_eq!(s.name(), "thumbnails");
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.cfg.name
    }

    /// The limit in force; `None` when unlimited.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().unlimited().build().unwrap();
    /// assert_eq!(s.limit(), None);
    /// ```
    pub fn limit(&self) -> Option<usize> {
        self.shared.limit()
    }

    /// The pending limit; `usize::MAX` when unbounded.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::builder().pending_limit(7).build().unwrap();
    /// assert_eq!(s.pending_limit(), 7);
    /// ```
    pub fn pending_limit(&self) -> usize {
        self.shared.cfg.pending_limit
    }

    /// The grace period between cancel and abort.
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::new();
    /// assert_eq!(s.close_timeout(), std::time::Duration::from_millis(100));
    /// ```
    pub fn close_timeout(&self) -> Duration {
        self.shared.cfg.close_timeout
    }

    /// The default timeout of [`wait_and_close`](Self::wait_and_close).
    ///
    /// ```
    /// let s = more_executors_jobs::Scheduler::new();
    /// assert_eq!(s.wait_timeout(), std::time::Duration::from_secs(60));
    /// ```
    pub fn wait_timeout(&self) -> Duration {
        self.shared.cfg.wait_timeout
    }

    /// A snapshot of the active jobs and shields (by id) followed by the pending jobs (in
    /// queue order), each with id, name, kind, state, outcome and times.
    ///
    /// ```
    /// use more_executors_jobs::{JobState, Scheduler};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::builder().limit(1).build().unwrap();
    /// let _a = scheduler.job().name("a").spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let _b = scheduler.job().name("b").spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let jobs = scheduler.jobs();
    /// let summary: Vec<_> = jobs.iter().map(|j| (&*j.name, j.state)).collect();
    /// assert_eq!(summary, [("a", JobState::Active), ("b", JobState::Pending)]);
    /// assert!(jobs[0].started_at.is_some() && jobs[1].started_at.is_none());
    /// # }
    /// ```
    pub fn jobs(&self) -> Vec<JobInfo> {
        self.shared.snapshot()
    }

    /// Changes the limit at run time. Raising it starts queued jobs at once; lowering it
    /// lets running jobs finish (none is interrupted) and starts no more until the number
    /// of running jobs is below the new limit.
    ///
    /// # Errors
    /// [`ConfigError`] for 0 (use [`set_unlimited`](Self::set_unlimited) for no limit).
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::builder().limit(1).build().unwrap();
    /// let _a = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let b = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert!(b.is_pending());
    /// scheduler.set_limit(2).unwrap();
    /// assert!(b.is_active());
    /// assert!(scheduler.set_limit(0).is_err());
    /// # }
    /// ```
    pub fn set_limit(&self, limit: usize) -> Result<(), ConfigError> {
        let limit = nonzero("scheduler limit", limit)?;
        self.shared.set_limit(limit);
        Ok(())
    }

    /// Removes the limit; every queued job starts at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::builder().limit(1).build().unwrap();
    /// let _a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let b = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// s.set_unlimited();
    /// assert!(b.is_active());
    /// # }
    /// ```
    pub fn set_unlimited(&self) {
        self.shared.set_limit(usize::MAX);
    }
}
