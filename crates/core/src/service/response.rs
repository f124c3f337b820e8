//! [`ResponseFuture`]: the response of an [`ExecutorService`](super::ExecutorService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::handle::Handle;

/// The response future of an [`ExecutorService`](super::ExecutorService): the job's
/// [`Handle`], cancelling the job when dropped before it resolves.
///
/// The cancel follows [`Handle::cancel`]'s rules (a blocking job already running refuses
/// and runs on) but never blocks the dropping thread: a stage that decides asynchronously
/// decides on the executor's runtime.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use tower::Service;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let mut svc = AsyncExecutor::new().into_service();
/// let (tx, rx) = tokio::sync::oneshot::channel::<()>();
/// let response = svc.call(move || async move {
///     let _tx = tx; // dropped when the job is cancelled
///     tokio::time::sleep(Duration::from_secs(3600)).await;
///     Ok::<_, ()>(())
/// });
/// drop(response);
/// assert!(rx.await.is_err(), "the job was cancelled and dropped its state");
/// # }
/// ```
pub struct ResponseFuture<T, E> {
    handle: Option<Handle<T, E>>,
    runtime: tokio::runtime::Handle,
}

impl<T, E> ResponseFuture<T, E> {
    pub(crate) fn new(handle: Handle<T, E>, runtime: tokio::runtime::Handle) -> Self {
        ResponseFuture { handle: Some(handle), runtime }
    }

    /// The job's handle, to keep the job running after all (dropping the returned handle
    /// detaches without cancelling, as handles do).
    pub fn into_handle(mut self) -> Handle<T, E> {
        self.handle.take().expect("the handle is present until the response resolves")
    }
}

impl<T, E> fmt::Debug for ResponseFuture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").field("handle", &self.handle).finish()
    }
}

impl<T, E> Future for ResponseFuture<T, E> {
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let handle = this.handle.as_mut().expect("ResponseFuture polled after it resolved");
        let out = std::task::ready!(Pin::new(handle).poll(cx));
        this.handle = None;
        Poll::Ready(out)
    }
}

impl<T, E> Drop for ResponseFuture<T, E> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            if !handle.is_done() {
                // The decision future, if any, runs on the runtime; dropping it does not
                // withdraw the request.
                let _ = handle.canceller().cancel_nonblocking(&self.runtime);
            }
        }
    }
}
