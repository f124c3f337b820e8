//! Errors of spawning: the scheduler is closed, or its pending queue is full.

use std::fmt;

/// The scheduler did not accept the job: it is closed, or the runtime it is bound to has
/// shut down. The future (or closure) is handed back unrun ([`into_inner`](Self::into_inner));
/// [`reason`](Self::reason) says which.
///
/// Returned by [`Scheduler::spawn`](crate::Scheduler::spawn) and
/// [`shield`](crate::Scheduler::shield) after [`close`](crate::Scheduler::close) (also to
/// spawners that were waiting for room in a full pending queue when the scheduler closed),
/// and once the tokio runtime the scheduler bound to at its first spawn is gone (its jobs
/// could never run).
///
/// ```
/// use more_executors_jobs::{ClosedReason, Scheduler};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::new();
/// scheduler.close().await;
/// let err = scheduler.spawn(async { Ok::<_, String>(1) }).await.unwrap_err();
/// assert_eq!(err.reason(), ClosedReason::Closed);
/// assert!(err.to_string().contains("closed"));
/// let fut = err.into_inner(); // the future, unrun
/// assert_eq!(fut.await, Ok(1));
/// # }
/// ```
pub struct Closed<F> {
    work: F,
    reason: ClosedReason,
}

/// Why a scheduler refused a job with [`Closed`].
///
/// ```
/// use more_executors_jobs::ClosedReason;
/// assert_ne!(ClosedReason::Closed, ClosedReason::RuntimeGone);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClosedReason {
    /// [`Scheduler::close`](crate::Scheduler::close) was called.
    Closed,
    /// The tokio runtime the scheduler is bound to has shut down, so no job can run any
    /// more. Build the scheduler inside the runtime that will run its jobs (or give it one
    /// with [`SchedulerBuilder::runtime`](crate::SchedulerBuilder::runtime)).
    RuntimeGone,
}

impl<F> Closed<F> {
    pub(crate) fn new(work: F, reason: ClosedReason) -> Self {
        Closed { work, reason }
    }

    /// The same refusal, holding `f(work)`.
    pub(crate) fn map<G>(self, f: impl FnOnce(F) -> G) -> Closed<G> {
        Closed { work: f(self.work), reason: self.reason }
    }

    /// The future or closure that was not spawned.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// s.close().await;
    /// let fut = s.spawn(async { Ok::<_, String>(2) }).await.unwrap_err().into_inner();
    /// assert_eq!(fut.await, Ok(2));
    /// # }
    /// ```
    pub fn into_inner(self) -> F {
        self.work
    }

    /// Why the job was refused.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// drop(s.close());
    /// let err = s.shield(async { Ok::<_, String>(()) }).unwrap_err();
    /// assert_eq!(err.reason(), more_executors_jobs::ClosedReason::Closed);
    /// # }
    /// ```
    pub fn reason(&self) -> ClosedReason {
        self.reason
    }
}

impl<F> fmt::Debug for Closed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").field("reason", &self.reason).finish_non_exhaustive()
    }
}

impl<F> fmt::Display for Closed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            ClosedReason::Closed => f.write_str(CLOSED_MSG),
            ClosedReason::RuntimeGone => f.write_str(RUNTIME_GONE_MSG),
        }
    }
}

impl<F> std::error::Error for Closed<F> {}

const CLOSED_MSG: &str = "the scheduler is closed and accepts no more jobs; spawn before calling close()";
const RUNTIME_GONE_MSG: &str = "the tokio runtime this scheduler is bound to has shut down, so its jobs \
     can never run; build the scheduler inside the runtime that runs its jobs, or pass one with \
     SchedulerBuilder::runtime";

/// Why [`Scheduler::try_spawn`](crate::Scheduler::try_spawn) did not spawn; the future (or
/// closure) is handed back unrun either way.
///
/// ```
/// use more_executors_jobs::{Scheduler, TrySpawnError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::builder().limit(1).pending_limit(0).build().unwrap();
/// let _running = scheduler.try_spawn(std::future::pending::<Result<(), String>>()).unwrap();
/// match scheduler.try_spawn(async { Ok::<_, String>(()) }) {
///     Err(TrySpawnError::Full(_fut)) => {} // no room: run it later, or spawn().await to wait
///     other => panic!("expected Full, got {other:?}"),
/// }
/// # }
/// ```
pub enum TrySpawnError<F> {
    /// The limit is reached and the pending queue is full.
    Full(F),
    /// The scheduler is closed.
    Closed(F),
    /// The runtime the scheduler is bound to has shut down (see
    /// [`ClosedReason::RuntimeGone`]).
    RuntimeGone(F),
}

impl<F> TrySpawnError<F> {
    /// The future or closure that was not spawned.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// s.close().await;
    /// let fut = s.try_spawn(async { Ok::<_, String>(3) }).unwrap_err().into_inner();
    /// assert_eq!(fut.await, Ok(3));
    /// # }
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            TrySpawnError::Full(f) | TrySpawnError::Closed(f) | TrySpawnError::RuntimeGone(f) => f,
        }
    }

    /// True for [`TrySpawnError::Full`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::builder().limit(1).pending_limit(0).build().unwrap();
    /// let _busy = s.try_spawn(std::future::pending::<Result<(), String>>()).unwrap();
    /// assert!(s.try_spawn(async { Ok::<_, String>(()) }).unwrap_err().is_full());
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySpawnError::Full(_))
    }

    /// True for [`TrySpawnError::Closed`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// drop(s.close());
    /// assert!(s.try_spawn(async { Ok::<_, String>(()) }).unwrap_err().is_closed());
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySpawnError::Closed(_))
    }
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySpawnError::Full(_) => f.write_str("Full(..)"),
            TrySpawnError::Closed(_) => f.write_str("Closed(..)"),
            TrySpawnError::RuntimeGone(_) => f.write_str("RuntimeGone(..)"),
        }
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySpawnError::Full(_) => f.write_str(
                "the scheduler's pending queue is full; await spawn() to wait for room, \
                 raise pending_limit, or try again later",
            ),
            TrySpawnError::Closed(_) => f.write_str(CLOSED_MSG),
            TrySpawnError::RuntimeGone(_) => f.write_str(RUNTIME_GONE_MSG),
        }
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}

impl<F> From<Closed<F>> for TrySpawnError<F> {
    fn from(c: Closed<F>) -> Self {
        match c.reason {
            ClosedReason::Closed => TrySpawnError::Closed(c.work),
            ClosedReason::RuntimeGone => TrySpawnError::RuntimeGone(c.work),
        }
    }
}
