//! [`timeout_after`]: a deadline for one future, without an executor.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use more_executors_core::metrics::Counter;
use more_executors_core::{Error, Runtime};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use crate::TimeoutFuture;

/// Awaits `future` for at most `duration`: the same argument order as
/// `tokio::time::timeout`, and the same semantics as the timeout layer.
///
/// The result is the future's, its error as [`Error::Job`]; [`Error::TimedOut`] (carrying
/// `duration`) if it is not done in time, and the future is then dropped (that is what
/// cancels it); [`Error::Panicked`] if it panics. The future is polled before the timer, and
/// the timer is only created when the future is found pending, so a future that is ready at
/// once never touches the timer wheel. Like `tokio::time::timeout`, the returned future is
/// lazy and runs in the task that awaits it; the deadline counts from its first poll.
///
/// Compare [`timeout`](fn@crate::timeout), which gives a deadline to a [`Handle`] already
/// submitted, and cancels the job through it.
///
/// [`Handle`]: more_executors_core::Handle
///
/// # Panics
/// When polled outside a tokio runtime with a timer, like `tokio::time::timeout`.
///
/// ```
/// use std::time::Duration;
/// use more_executors_timeout::{Error, timeout_after};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let slow = async {
///     tokio::time::sleep(Duration::from_secs(10)).await;
///     Ok::<_, String>("late")
/// };
/// assert_eq!(timeout_after(Duration::from_secs(1), slow).await.unwrap_err(), Error::TimedOut(Duration::from_secs(1)));
/// assert_eq!(timeout_after(Duration::from_secs(1), async { Ok::<_, ()>(5) }).await, Ok(5));
/// # }
/// ```
pub async fn timeout_after<F, T, E>(duration: Duration, future: F) -> Result<T, Error<E>>
where
    F: Future<Output = Result<T, E>>,
{
    let runtime = match tokio::runtime::Handle::try_current() {
        Ok(h) => Runtime::from_handle(h),
        Err(_) => panic!("more_executors_timeout::timeout_after must be awaited inside a tokio runtime"),
    };
    let stage = CatchPanic { fut: future };
    let timeouts = Counter::new("more_executors_timeout_total", "timeout");
    TimeoutFuture::new(stage, Instant::now(), duration, &runtime, false, timeouts).await
}

pin_project! {
    /// The future as a stage: its error is the job's, its panic is [`Error::Panicked`].
    struct CatchPanic<F> {
        #[pin]
        fut: F,
    }
}

impl<F, T, E> Future for CatchPanic<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        more_executors_core::stage::poll_job(self.project().fut, cx)
    }
}
