//! Errors of spawning: the scheduler is closed, or its pending queue is full.

use std::fmt;

/// The scheduler is closed: the job was not spawned, and the future (or closure) is
/// handed back unrun in `.0`.
///
/// Returned by [`Scheduler::spawn`](crate::Scheduler::spawn) and
/// [`shield`](crate::Scheduler::shield) after [`close`](crate::Scheduler::close) (also to
/// spawners that were waiting for room in a full pending queue when the scheduler closed).
///
/// ```
/// use more_executors_jobs::Scheduler;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::new();
/// scheduler.close().await;
/// let err = scheduler.spawn(async { Ok::<_, String>(1) }).await.unwrap_err();
/// assert!(err.to_string().contains("closed"));
/// let fut = err.into_inner(); // the future, unrun
/// assert_eq!(fut.await, Ok(1));
/// # }
/// ```
pub struct Closed<F>(pub F);

impl<F> Closed<F> {
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
        self.0
    }
}

impl<F> fmt::Debug for Closed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Closed(..)")
    }
}

impl<F> fmt::Display for Closed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the scheduler is closed and accepts no more jobs; spawn before calling close()")
    }
}

impl<F> std::error::Error for Closed<F> {}

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
            TrySpawnError::Full(f) | TrySpawnError::Closed(f) => f,
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
            TrySpawnError::Closed(_) => {
                f.write_str("the scheduler is closed and accepts no more jobs; spawn before calling close()")
            }
        }
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}

impl<F> From<Closed<F>> for TrySpawnError<F> {
    fn from(c: Closed<F>) -> Self {
        TrySpawnError::Closed(c.0)
    }
}
