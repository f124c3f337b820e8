//! [`Job`]: the handle of a spawned job, its states and outcomes.
//!
//! # Life of a job
//! A job is **pending** while it waits in the scheduler's FIFO queue, **active** while its
//! future runs (it holds one of the scheduler's slots), and **closed** once its task has
//! ended. Its **outcome** is decided once, by whichever comes first: the future finishing
//! ([`Outcome::Completed`], [`Outcome::Failed`], [`Outcome::Panicked`]), a close
//! ([`Outcome::Cancelled`]: [`Job::close`], [`Scheduler::close`](crate::Scheduler::close))
//! or a [`Job::wait`] timeout ([`Outcome::TimedOut`]). A job closed while active keeps its
//! slot until its task has actually stopped (see [`Job::close`]).

pub(crate) mod cell;
mod ctx;
mod future;
pub(crate) mod task;

pub use ctx::{AlwaysOk, JobCtx, always_ok};
pub use future::{JobClose, JobClosed, Wait, WaitFor};

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use more_executors_core::Error;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::seam::{JobApi, Stop};

/// Where a job is in its life: pending, active, closed (see [`Job`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use more_executors_jobs::{JobState, Scheduler};
/// let s = Scheduler::builder().limit(1).build().unwrap();
/// let a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let b = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// assert_eq!((a.state(), b.state()), (JobState::Active, JobState::Pending));
/// b.close().await;
/// assert_eq!(b.state(), JobState::Closed);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting in the scheduler's queue for a free slot.
    Pending,
    /// Running (or stopping after a close); holds a slot unless it is a shield.
    Active,
    /// Its task has ended (or it was removed from the queue unrun).
    Closed,
}

/// How a job ended; decided exactly once per job.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use more_executors_jobs::{Outcome, Scheduler};
/// let s = Scheduler::new();
/// let job = s.spawn(async { Err::<(), _>("no") }).await.unwrap();
/// s.idle().await;
/// assert_eq!(job.outcome(), Some(Outcome::Failed));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The future returned `Ok`.
    Completed,
    /// The future returned `Err`.
    Failed,
    /// The future (or blocking closure) panicked.
    Panicked,
    /// Closed before it finished: by [`Job::close`], by the scheduler's close, or removed
    /// from the queue unrun.
    Cancelled,
    /// [`Job::wait`]'s timeout expired before it finished; the job was closed.
    TimedOut,
}

/// What a job runs as.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use more_executors_jobs::{JobKind, Scheduler};
/// let s = Scheduler::new();
/// let job = s.shield(async { Ok::<_, String>(()) }).unwrap();
/// assert_eq!(job.kind(), JobKind::Shield);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A future, spawned as a tokio task; counts toward the limit.
    Async,
    /// A blocking closure on tokio's blocking threads; counts toward the limit. Cannot be
    /// interrupted once running: a close only detaches it.
    Blocking,
    /// A future started by [`Scheduler::shield`](crate::Scheduler::shield): never queued
    /// and not counted toward the limit.
    Shield,
}

impl JobKind {
    /// `"job"`, `"blocking job"` or `"shield"`.
    ///
    /// ```
    /// assert_eq!(more_executors_jobs::JobKind::Blocking.as_str(), "blocking job");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Async => "job",
            JobKind::Blocking => "blocking job",
            JobKind::Shield => "shield",
        }
    }
}

/// A snapshot of one job, from [`Scheduler::jobs`](crate::Scheduler::jobs) or
/// [`Job::info`]. Times are [`std::time::Instant`]s: cheap to take on every spawn, and
/// not affected by tokio's paused test time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let s = more_executors_jobs::Scheduler::new();
/// let job = s.job().name("etl").spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let info = job.info();
/// assert_eq!((info.id, &*info.name), (job.id(), "etl"));
/// assert!(info.started_at.is_some() && info.outcome.is_none());
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobInfo {
    /// Unique within the scheduler, in spawn order.
    pub id: u64,
    /// The name given with [`JobBuilder::name`](crate::JobBuilder::name) or
    /// [`Job::set_name`]; `job-N` (N the id) when none was given.
    pub name: Arc<str>,
    /// What the job runs as.
    pub kind: JobKind,
    /// Pending, active or closed.
    pub state: JobState,
    /// Set once decided (a closing job is still active but already has its outcome).
    pub outcome: Option<Outcome>,
    /// When `spawn` was called.
    pub spawned_at: Instant,
    /// When it left the queue and started running.
    pub started_at: Option<Instant>,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
}

/// The handle of a spawned job: await it for the job's result, or [`close`](Self::close) it.
///
/// - **Await** it (`job.await`), or [`wait`](Self::wait) with a timeout. The output is the
///   job's `Result`, with the job's own error as [`Error::Job`] and the library's outcomes
///   as the other variants: [`Error::Cancelled`] after a close, [`Error::TimedOut`] after a
///   wait timeout, [`Error::Panicked`] with the panic message.
/// - **Dropping** it detaches: the job runs on, and an error it returns later goes to the
///   scheduler's error handler.
/// - **Errors are delivered exactly once**: to the caller awaiting the job when it fails,
///   otherwise to the error handler (also when the awaiting caller has gone away before
///   the job fails). A job that failed with nobody waiting still returns its error to a
///   caller who awaits it afterwards; the handler has already reported it.
///
/// ```
/// use more_executors_core::Error;
/// use more_executors_jobs::{Outcome, Scheduler};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::new();
/// let job = scheduler.spawn(async { Err::<u8, _>("no route to host") }).await.unwrap();
/// assert_eq!(job.await, Err(Error::Job("no route to host")));
///
/// let job = scheduler.spawn(async { Ok::<_, String>(7) }).await.unwrap();
/// let id = job.id();
/// assert_eq!(job.await, Ok(7));
/// assert!(scheduler.jobs().iter().all(|j| j.id != id), "finished jobs leave the scheduler");
/// # let _ = Outcome::Completed;
/// # }
/// ```
#[must_use = "a Job does nothing by itself; dropping it detaches the job, which keeps running"]
pub struct Job<T, E> {
    cell: Arc<dyn JobApi<T, E>>,
    waiting: bool,
    done: bool,
}

impl<T, E> fmt::Debug for Job<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, outcome) = self.cell.state();
        f.debug_struct("Job")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &state)
            .field("outcome", &outcome)
            .finish()
    }
}

impl<T, E> Job<T, E> {
    pub(crate) fn new(cell: Arc<dyn JobApi<T, E>>) -> Self {
        Job { cell, waiting: false, done: false }
    }

    /// The job's id, unique within its scheduler and increasing in spawn order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let a = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// let b = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert!(b.id() > a.id());
    /// # }
    /// ```
    pub fn id(&self) -> u64 {
        self.cell.head().id
    }

    /// The job's name: the one given with [`JobBuilder::name`](crate::JobBuilder::name) or
    /// [`set_name`](Self::set_name), else `job-N` where N is its id, so logs and reports
    /// always name it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("resize").spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert_eq!(&*job.name(), "resize");
    /// let unnamed = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert_eq!(*unnamed.name(), *format!("job-{}", unnamed.id()));
    /// # }
    /// ```
    pub fn name(&self) -> Arc<str> {
        self.cell.head().name()
    }

    /// Renames the job (the original's `set_name`). The new name shows in
    /// [`Scheduler::jobs`](crate::Scheduler::jobs), [`info`](Self::info), error reports and
    /// close reports from now on; a tracing span already opened for the running job keeps
    /// the name it started with.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// job.set_name("import-2024-06");
    /// assert_eq!(&*s.jobs()[0].name, "import-2024-06");
    /// # }
    /// ```
    pub fn set_name(&self, name: impl Into<Arc<str>>) {
        self.cell.head().set_name(name.into());
    }

    /// What the job runs as.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.spawn_blocking(|| Ok::<_, String>(())).await.unwrap();
    /// assert_eq!(job.kind(), more_executors_jobs::JobKind::Blocking);
    /// # }
    /// ```
    pub fn kind(&self) -> JobKind {
        self.cell.head().kind
    }

    /// The cancellation token given with [`JobBuilder::token`](crate::JobBuilder::token).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use more_executors_jobs::{CancellationToken, Scheduler};
    /// let s = Scheduler::new();
    /// let job = s.job().token(CancellationToken::new()).spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert!(job.token().is_some());
    /// # }
    /// ```
    pub fn token(&self) -> Option<&CancellationToken> {
        self.cell.head().token.as_ref()
    }

    /// Pending, active or closed, now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert_ne!(job.state(), more_executors_jobs::JobState::Pending);
    /// # }
    /// ```
    pub fn state(&self) -> JobState {
        self.cell.state().0
    }

    /// The outcome, once decided.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert_eq!(job.outcome(), None);
    /// job.close().await;
    /// assert_eq!(job.outcome(), Some(more_executors_jobs::Outcome::Cancelled));
    /// # }
    /// ```
    pub fn outcome(&self) -> Option<Outcome> {
        self.cell.state().1
    }

    /// True while the job waits in the queue.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::builder().limit(1).build().unwrap();
    /// let _a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let b = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert!(b.is_pending());
    /// # }
    /// ```
    pub fn is_pending(&self) -> bool {
        self.state() == JobState::Pending
    }

    /// True while the job runs (or stops after a close).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert!(a.is_active());
    /// # }
    /// ```
    pub fn is_active(&self) -> bool {
        self.state() == JobState::Active
    }

    /// True once the job's task has ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// a.close().await;
    /// assert!(a.is_closed());
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state() == JobState::Closed
    }

    /// A snapshot of the job (the same as its entry in
    /// [`Scheduler::jobs`](crate::Scheduler::jobs)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert_eq!(a.info().id, s.jobs()[0].id);
    /// # }
    /// ```
    pub fn info(&self) -> JobInfo {
        self.cell.info()
    }

    /// Closes the job: a pending job is removed from the queue and never runs; an active
    /// job is cancelled. The request is made at once, when `close` is called; the
    /// returned future resolves once the job has stopped, and says how the close ended
    /// ([`JobClosed`]): removed from the queue unrun, stopped within the close timeout,
    /// aborted after it, or already finished on its own (nothing cancelled).
    ///
    /// How an active job stops: a job spawned with a [cancellation
    /// token](crate::JobBuilder::token) sees the token cancelled and gets the scheduler's
    /// `close_timeout` to return; after that its future is dropped (aborted). A job without
    /// a token is dropped at its next `.await` point. A running blocking job cannot be
    /// interrupted: it is detached, keeps its slot until its thread returns, and the
    /// returned future waits at most `close_timeout` for it. Either way the job's outcome is
    /// [`Outcome::Cancelled`] and awaiting the `Job` gives [`Error::Cancelled`] at once; an
    /// error the job returns while stopping goes to the error handler. A job that does not
    /// stop within `close_timeout` ends [`JobClosed::Aborted`], and the error handler gets
    /// a [`FailureCause::CloseOverrun`](crate::FailureCause::CloseOverrun) for it.
    ///
    /// ```
    /// use more_executors_jobs::{JobClosed, Outcome, Scheduler};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert_eq!(job.close().await, JobClosed::Stopped);
    /// assert_eq!(job.outcome(), Some(Outcome::Cancelled));
    /// assert!(job.await.unwrap_err().is_cancelled());
    /// assert_eq!(scheduler.active_count(), 0);
    /// # }
    /// ```
    pub fn close(&self) -> JobClose {
        let cancelled = self.cell.stop(Stop::Cancel);
        if cancelled {
            self.cell.clone().watch_overrun();
        }
        JobClose::new(self.cell.clone().as_stopper(), cancelled)
    }

    /// Waits for the job's result for at most `timeout`, counted from this call and
    /// including any time the job still spends in the queue. When it expires, the job is
    /// closed as by [`close`](Self::close) (a queued job is removed unrun), its outcome is
    /// [`Outcome::TimedOut`], and once it has stopped the result is [`Error::TimedOut`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_jobs::{Outcome, Scheduler};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let job = scheduler
    ///     .spawn(async {
    ///         tokio::time::sleep(Duration::from_secs(60)).await;
    ///         Ok::<_, String>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// let info = job.info();
    /// let err = job.wait(Duration::from_secs(5)).await.unwrap_err();
    /// assert!(err.is_timed_out());
    /// assert!(scheduler.jobs().iter().all(|j| j.id != info.id));
    /// # }
    /// ```
    pub fn wait(self, timeout: Duration) -> Wait<T, E> {
        Wait::new(self, timeout)
    }

    /// Waits for the job's result for at most `timeout` without giving up the job: when the
    /// timeout expires first, this returns [`Error::TimedOut`] and the job is untouched. It
    /// keeps running, and the `Job` stays usable: inspect it, [`close`](Self::close) it, wait
    /// again or await it. (To close the job on timeout instead, as aiojobs' `wait` does, use
    /// [`wait`](Self::wait).)
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_jobs::{JobState, Scheduler};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let scheduler = Scheduler::new();
    /// let mut job = scheduler
    ///     .spawn(async {
    ///         tokio::time::sleep(Duration::from_secs(10)).await;
    ///         Ok::<_, String>("report ready")
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert!(job.wait_for(Duration::from_secs(1)).await.unwrap_err().is_timed_out());
    /// assert_eq!(job.state(), JobState::Active, "still running");
    /// assert_eq!(job.wait_for(Duration::from_secs(60)).await, Ok("report ready"));
    /// # }
    /// ```
    pub fn wait_for(&mut self, timeout: Duration) -> WaitFor<'_, T, E> {
        WaitFor::new(self, timeout)
    }

    /// The caller stopped waiting without taking the result: failures go to the error
    /// handler again until someone waits anew.
    pub(crate) fn stop_waiting(&mut self) {
        if self.waiting && !self.done {
            self.waiting = false;
            self.cell.leave();
        }
    }

    /// True when the job belongs to the scheduler behind `shared`.
    pub(crate) fn belongs_to(&self, shared: &Arc<crate::scheduler::shared::Shared>) -> bool {
        Arc::ptr_eq(self.cell.scheduler(), shared)
    }

    pub(crate) fn stop_timed_out(&self, timeout: Duration) -> JobClose {
        let cancelled = self.cell.stop(Stop::Timeout(timeout));
        if cancelled {
            self.cell.clone().watch_overrun();
        }
        JobClose::new(self.cell.clone().as_stopper(), cancelled)
    }
}

impl<T, E> Future for Job<T, E> {
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "a Job was polled after it had already returned its result");
        this.waiting = true;
        let out = this.cell.poll_result(cx);
        if out.is_ready() {
            this.done = true;
        }
        out
    }
}

impl<T, E> Drop for Job<T, E> {
    fn drop(&mut self) {
        if self.waiting && !self.done {
            self.cell.leave();
        }
    }
}
