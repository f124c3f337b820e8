//! The two forms of poll function ([`Poller`] and plain closures) and of cancel function.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::descriptor::PollDescriptor;

/// An asynchronous poll function, for pollers that await I/O: one call can make one
/// request for the whole batch (for example, a single search request for every pending
/// task).
///
/// [`poll`](Self::poll) gets every unresolved descriptor of its executor, resolves the
/// ones it can, and returns the delay until the next poll (`Ok(None)`: the executor's
/// default interval). An `Err` fails every descriptor of this call that it did not
/// resolve, with that error; a panic fails them with
/// [`Error::Panicked`](more_executors_core::Error::Panicked). Polling then goes on for the
/// futures still pending and those registered later, after the default interval.
///
/// The method takes `&self` because the poller is shared: a cancel function may run while
/// a poll is in progress, and one [`PollLayer`](crate::PollLayer) may build several
/// executors. Keep mutable state behind a lock or atomics.
///
/// Calls do not overlap: the next poll starts after this one returned, so a call that
/// never returns stops polling for every future of the executor (they can still be
/// cancelled, and shutdown still ends the call). Bound a request the poller makes with a
/// timeout of its own.
///
/// A poller should not own the executor it polls for (that would keep the executor alive
/// through its own poller); own a client or a connection pool instead.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_poll::{PollDescriptor, PollExt, PollLayer, Poller};
///
/// /// Resolves each task id after it was seen twice, counting the "requests" it makes.
/// #[derive(Default)]
/// struct Search { requests: AtomicUsize }
///
/// #[more_executors_poll::async_trait]
/// impl Poller<u32, String, String> for Search {
///     async fn poll(&self, ds: &mut [PollDescriptor<u32, String, String>]) -> Result<Option<Duration>, String> {
///         // One request for the whole batch.
///         let n = self.requests.fetch_add(1, Ordering::SeqCst);
///         tokio::task::yield_now().await;
///         for d in ds.iter_mut() {
///             if n >= 1 {
///                 d.yield_result(format!("task {} finished", d.input()));
///             }
///         }
///         Ok(Some(Duration::from_millis(10)))
///     }
/// }
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new().with_poll(PollLayer::with_poller(Search::default()));
/// let h = exec.submit(|| async { Ok::<u32, String>(7) });
/// assert_eq!(h.await.unwrap(), "task 7 finished");
/// # }
/// ```
#[async_trait]
pub trait Poller<I, T, E>: Send + Sync + 'static
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// Polls every unresolved descriptor; see the trait documentation.
    async fn poll(&self, descriptors: &mut [PollDescriptor<I, T, E>]) -> Result<Option<Duration>, E>;
}

/// Adapts a synchronous poll closure to [`Poller`]. The closure runs inside the poll task
/// (so a panic in it is caught like one in an async poller).
pub(crate) struct SyncPoller<F>(Mutex<F>);

impl<F> SyncPoller<F> {
    pub(crate) fn new(f: F) -> Self {
        SyncPoller(Mutex::new(f))
    }
}

#[async_trait]
impl<F, I, T, E> Poller<I, T, E> for SyncPoller<F>
where
    F: FnMut(&mut [PollDescriptor<I, T, E>]) -> Result<Option<Duration>, E> + Send + 'static,
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    async fn poll(&self, descriptors: &mut [PollDescriptor<I, T, E>]) -> Result<Option<Duration>, E> {
        // A previous call that panicked poisons the lock; the closure is still usable.
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(descriptors)
    }
}

/// A boxed cancel decision in progress.
pub(crate) type CancelCall<E> = Pin<Box<dyn Future<Output = Result<bool, E>> + Send + 'static>>;

/// A synchronous cancel function.
pub(crate) type SyncCancel<I, E> = Arc<dyn Fn(&I) -> Result<bool, E> + Send + Sync>;

/// An asynchronous cancel function: returns the future that decides.
pub(crate) type AsyncCancel<I, E> = Arc<dyn Fn(&I) -> CancelCall<E> + Send + Sync>;

/// A configured cancel function, synchronous or asynchronous.
pub(crate) enum CancelFn<I, E> {
    /// Decides on the spot.
    Sync(SyncCancel<I, E>),
    /// Returns a future that decides (run on the executor's runtime).
    Async(AsyncCancel<I, E>),
}

impl<I, E> Clone for CancelFn<I, E> {
    fn clone(&self) -> Self {
        match self {
            CancelFn::Sync(f) => CancelFn::Sync(f.clone()),
            CancelFn::Async(f) => CancelFn::Async(f.clone()),
        }
    }
}

impl<I, E> fmt::Debug for CancelFn<I, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelFn::Sync(_) => f.write_str("sync cancel function"),
            CancelFn::Async(_) => f.write_str("async cancel function"),
        }
    }
}
