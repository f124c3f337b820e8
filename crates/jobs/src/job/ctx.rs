//! [`JobCtx`]: what a job learns about itself from the scheduler, and [`AlwaysOk`] for
//! bodies that cannot fail.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// A job's context, handed to it by [`Scheduler::spawn_with`](crate::Scheduler::spawn_with):
/// its id and its cancellation token, so a job can stop cooperatively without threading a
/// token through by hand.
///
/// Closing the job (or its scheduler) cancels the token; the job then has the scheduler's
/// `close_timeout` to finish, which is the time for async cleanup (flush, release a lease,
/// say goodbye to a peer). A job still running after that is aborted, and the error
/// handler hears of the overrun.
///
/// ```
/// use std::time::Duration;
/// use more_executors_jobs::{JobClosed, Scheduler};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let scheduler = Scheduler::builder().close_timeout(Duration::from_secs(5)).build().unwrap();
/// let job = scheduler
///     .spawn_with(|ctx| async move {
///         let mut flushed = 0;
///         loop {
///             tokio::select! {
///                 _ = ctx.cancelled() => break,
///                 _ = tokio::time::sleep(Duration::from_secs(1)) => flushed += 1,
///             }
///         }
///         tokio::time::sleep(Duration::from_secs(1)).await; // async cleanup
///         Ok::<_, String>(flushed)
///     })
///     .await
///     .unwrap();
/// tokio::time::sleep(Duration::from_millis(3500)).await;
/// assert_eq!(job.close().await, JobClosed::Stopped, "it cleaned up within the close timeout");
/// # }
/// ```
#[derive(Clone)]
pub struct JobCtx {
    pub(crate) id: u64,
    pub(crate) token: CancellationToken,
}

impl fmt::Debug for JobCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobCtx").field("id", &self.id).field("cancelled", &self.is_cancelled()).finish()
    }
}

impl JobCtx {
    /// The job's id (the same as [`Job::id`](crate::Job::id)).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The job's cancellation token (cancelled when the job or its scheduler is closed).
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// True once the job was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once the job is asked to stop.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }
}

pin_project! {
    /// A future whose output becomes a job's value: the job cannot fail (its error type is
    /// [`Infallible`]). Made by [`always_ok`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct AlwaysOk<F> {
        #[pin]
        fut: F,
    }
}

impl<F> fmt::Debug for AlwaysOk<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AlwaysOk")
    }
}

/// Adapts a future with any output (`()`, a number, a struct) into a job body: its output
/// is the job's value and the job never fails (it may still panic, be cancelled or time
/// out). Works with every spawning method: `scheduler.shield(always_ok(write()))`;
/// [`Scheduler::spawn_infallible`](crate::Scheduler::spawn_infallible) is the short form
/// of `spawn(always_ok(..))`.
///
/// ```
/// use more_executors_jobs::{Scheduler, always_ok};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::new();
/// let job = scheduler.shield(always_ok(async { 6 * 7 })).unwrap();
/// assert_eq!(job.await, Ok(42));
/// # }
/// ```
pub fn always_ok<F: IntoFuture>(fut: F) -> AlwaysOk<F::IntoFuture> {
    AlwaysOk { fut: fut.into_future() }
}

impl<F: Future> Future for AlwaysOk<F> {
    type Output = Result<F::Output, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().fut.poll(cx).map(Ok)
    }
}
