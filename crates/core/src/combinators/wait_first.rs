//! `wait_first`: the first input to finish, and the others still pending.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::FuturesUnordered;

use super::combined::Indexed;

/// What [`wait_first`] resolves to: the first input to finish and every other input.
///
/// ```
/// use more_executors_core::combinators::{First, ready, wait_first};
/// use more_executors_core::Handle;
///
/// let first: First<Handle<char, ()>> = wait_first(vec![ready('a'), ready('b')]).wait().unwrap();
/// let First { index, output, rest } = first;
/// assert_eq!((index, output, rest.len()), (0, Ok('a'), 1));
/// ```
pub struct First<F: Future> {
    /// The position of the finished input in the iterator given to [`wait_first`].
    pub index: usize,
    /// Its output.
    pub output: F::Output,
    /// Every other input, in their original order without the finished one (so an input
    /// that was at position `i > index` is now at `i - 1`). They were not cancelled; some
    /// may have finished meanwhile, which polling them tells at once.
    pub rest: Vec<F>,
}

impl<F> fmt::Debug for First<F>
where
    F: Future + fmt::Debug,
    F::Output: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("First")
            .field("index", &self.index)
            .field("output", &self.output)
            .field("rest", &self.rest)
            .finish()
    }
}

/// The future returned by [`wait_first`]: await it, or call [`wait`](WaitFirst::wait)
/// from synchronous code. It resolves once; the inputs are handed back in
/// [`First::rest`].
///
/// ```
/// use more_executors_core::combinators::{WaitFirst, ready, wait_first};
/// use more_executors_core::Handle;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let pending: WaitFirst<Handle<u8, ()>> = wait_first(vec![ready(1)]);
/// assert_eq!(pending.await.map(|f| f.index), Some(0));
/// # }
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitFirst<F> {
    pending: Option<FuturesUnordered<Indexed<F>>>,
}

impl<F> fmt::Debug for WaitFirst<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inputs = self.pending.as_ref().map(FuturesUnordered::len);
        f.debug_struct("WaitFirst").field("inputs", &inputs).finish()
    }
}

/// Waits for the first of `futures` (usually [`Handle`](crate::Handle)s) to finish and
/// resolves to it, with the others still pending: [`First`]. `None` when `futures` is
/// empty.
///
/// - **Order:** the first to finish wins; among inputs already finished when it is first
///   polled, the earliest in input order wins.
/// - **Nothing is cancelled:** the other inputs are handed back as they are; cancel them,
///   or wait on them again (`wait_first(first.rest)` gives the next one).
/// - **Cost:** each input is polled only when it wakes, so many inputs cost linear time.
///   Dropping the future before it resolves drops the inputs (handles detach and keep
///   running).
///
/// Inputs must be [`Unpin`] to be handed back (handles are; box other futures with
/// `Box::pin`). From synchronous code, use [`WaitFirst::wait`].
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::wait_first;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let mirrors: Vec<_> = [50u64, 5, 20]
///     .into_iter()
///     .map(|ms| exec.submit(move || async move {
///         tokio::time::sleep(Duration::from_millis(ms)).await;
///         Ok::<_, ()>(format!("mirror answered in {ms} ms"))
///     }))
///     .collect();
/// let first = wait_first(mirrors).await.expect("at least one input");
/// assert_eq!(first.index, 1);
/// assert_eq!(first.output.unwrap(), "mirror answered in 5 ms");
/// // The slower mirrors are still running; this program no longer needs them.
/// for h in &first.rest {
///     assert!(h.cancel());
/// }
/// # }
/// ```
pub fn wait_first<I>(futures: I) -> WaitFirst<I::Item>
where
    I: IntoIterator,
    I::Item: Future + Unpin,
{
    let pending: FuturesUnordered<_> =
        futures.into_iter().enumerate().map(|(index, fut)| Indexed { fut, index, key: index }).collect();
    WaitFirst { pending: Some(pending) }
}

impl<F: Future + Unpin> WaitFirst<F> {
    /// Blocks the calling thread until the first input finishes (the synchronous form of
    /// awaiting this future).
    ///
    /// # Panics
    /// When called on a thread that drives asynchronous tasks (it would deadlock there);
    /// `.await` the future instead.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::combinators::wait_first;
    ///
    /// let pool = BlockingPool::new(2).unwrap();
    /// let slow = pool.submit(|| { std::thread::sleep(std::time::Duration::from_millis(300)); Ok::<_, ()>("slow") });
    /// let fast = pool.submit(|| Ok::<_, ()>("fast"));
    /// let first = wait_first([slow, fast]).wait().unwrap();
    /// assert_eq!((first.index, first.output), (1, Ok("fast")));
    /// assert_eq!(first.rest.len(), 1);
    /// ```
    pub fn wait(mut self) -> Option<First<F>> {
        crate::handle::wait::block_until(&mut self, None).flatten()
    }
}

impl<F: Future + Unpin> Future for WaitFirst<F> {
    type Output = Option<First<F>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let pending = self.pending.as_mut().expect("WaitFirst polled after it resolved");
        let Poll::Ready(next) = super::combined::poll_next_coop(pending, cx) else {
            return Poll::Pending;
        };
        let pending = self.pending.take().expect("checked above");
        let Some((index, _key, output)) = next else {
            return Poll::Ready(None);
        };
        let mut rest: Vec<Indexed<F>> = pending.into_iter().collect();
        rest.sort_unstable_by_key(|i| i.index);
        Poll::Ready(Some(First { index, output, rest: rest.into_iter().map(|i| i.fut).collect() }))
    }
}
