//! [`SharedHandle`]: a clonable view of one job, for watching handles that are moved into
//! combinators and for results with many consumers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::Shared;

use super::{CancelHandle, Handle};
use crate::error::Error;

/// A clonable, awaitable view of one job: every clone resolves to a clone of the same
/// result, and every clone can ask whether the job is done or running, or cancel it.
///
/// Obtained from [`Handle::shared`]. A [`Handle`] has one consumer; share it when several
/// places need the result, or when you want to keep watching a job whose handle goes into
/// a combinator: hand the combinator [`to_handle`](Self::to_handle) and keep the shared
/// view. (For watching without the value, [`Handle::canceller`] is cheaper still: a
/// [`CancelHandle`] answers `is_done`, `is_running` and `is_cancelled` too.)
///
/// The job runs whether or not any clone is polled (handles are eager); dropping every
/// clone does not cancel it.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::zip;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let exec = AsyncExecutor::new();
/// let price = exec.submit(|| async { Ok::<_, String>(3) }).shared();
/// let count = exec.submit(|| async { Ok::<_, String>(4) });
/// let total = zip((price.to_handle(), count));
/// assert_eq!(total.await, Ok((3, 4)));
/// assert!(price.is_done(), "still watchable after the zip took its input");
/// assert_eq!(price.clone().await, Ok(3));
/// # }
/// ```
pub struct SharedHandle<T, E> {
    fut: Shared<Handle<T, E>>,
    canceller: CancelHandle,
    id: Option<u64>,
}

impl<T, E> Clone for SharedHandle<T, E>
where
    T: Clone,
    E: Clone,
{
    fn clone(&self) -> Self {
        SharedHandle { fut: self.fut.clone(), canceller: self.canceller.clone(), id: self.id }
    }
}

impl<T, E> fmt::Debug for SharedHandle<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedHandle").field("id", &self.id).field("canceller", &self.canceller).finish()
    }
}

impl<T, E> Handle<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// A clonable view of this job; see [`SharedHandle`].
    ///
    /// ```
    /// use more_executors_core::Handle;
    /// let h = Handle::<u8, ()>::ready(1).shared();
    /// let (a, b) = (h.clone(), h);
    /// assert_eq!((a.wait(), b.wait()), (Ok(1), Ok(1)));
    /// ```
    pub fn shared(self) -> SharedHandle<T, E> {
        SharedHandle { canceller: self.canceller(), id: self.id(), fut: self.shared_future() }
    }

    fn shared_future(self) -> Shared<Handle<T, E>> {
        FutureExt::shared(self)
    }
}

impl<T, E> SharedHandle<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// The job's id (see [`Handle::id`]).
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// True once the job's outcome is recorded.
    pub fn is_done(&self) -> bool {
        self.fut.peek().is_some() || self.canceller.is_done()
    }

    /// True while the job runs in its base executor; see [`Handle::is_running`].
    pub fn is_running(&self) -> bool {
        self.fut.peek().is_none() && self.canceller.is_running()
    }

    /// True when the job was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.canceller.is_cancelled()
    }

    /// Cancels the job, for every clone; same rules as [`Handle::cancel`].
    pub fn cancel(&self) -> bool {
        self.canceller.cancel()
    }

    /// A canceller of the job.
    pub fn canceller(&self) -> CancelHandle {
        self.canceller.clone()
    }

    /// A new [`Handle`] resolving to a clone of the result, for APIs that take handles
    /// (combinators). Cancelling it cancels the job (under the job's rules).
    ///
    /// ```
    /// use more_executors_core::Handle;
    /// let shared = Handle::<u8, ()>::ready(5).shared();
    /// assert_eq!(shared.to_handle().map(|v| v * 2).wait(), Ok(10));
    /// ```
    pub fn to_handle(&self) -> Handle<T, E> {
        if let Some(r) = self.fut.peek() {
            return Handle::from_result(r.clone());
        }
        let fut = self.fut.clone();
        let rt = crate::combinators::combined::runtime();
        let gate = super::map::forward_to(self.canceller.clone(), rt.clone());
        crate::combinators::combined::spawn(&rt, "shared", gate, fut)
    }

    /// Blocks until the job resolves and returns a clone of its result; see
    /// [`Handle::wait`] (same panics).
    pub fn wait(self) -> Result<T, Error<E>> {
        let mut fut = self.fut;
        super::wait::block_until(&mut fut, None).expect("no deadline was set")
    }
}

impl<T, E> Future for SharedHandle<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    type Output = Result<T, Error<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.fut).poll(cx)
    }
}
