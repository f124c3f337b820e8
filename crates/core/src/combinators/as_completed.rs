//! `as_completed`: results in the order the inputs finish.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::combined::Indexed;

/// A stream of `(index, output)` pairs in the order the inputs finish, where `index` is the
/// input's position in the iterator given to `as_completed`.
///
/// - **Order:** completion order. Inputs that are already finished when the stream is
///   first polled come out in input order.
/// - **Every input once:** the stream yields exactly one item per input, then ends.
/// - **Errors** are items like any other (`output` is the input's `Result`); one input's
///   error does not stop the stream or affect the others.
/// - **Cancel and drop:** the stream never cancels anything. Dropping it detaches from the
///   inputs that have not finished: [`Handle`](crate::Handle)s keep running (take their
///   [`canceller`](crate::Handle::canceller)s first to stop them); plain futures are
///   dropped.
/// - **Cost:** each input is polled only when it wakes, so 100,000 inputs cost linear time.
///
/// Handles are eager and make progress whether or not the stream is polled; other
/// futures make progress only while it is.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::as_completed;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let handles: Vec<_> = [30u64, 10, 20]
///     .into_iter()
///     .map(|ms| exec.submit(move || async move {
///         tokio::time::sleep(Duration::from_millis(ms)).await;
///         Ok::<_, ()>(ms)
///     }))
///     .collect();
/// let order: Vec<_> = as_completed(handles).map(|(i, r)| (i, r.unwrap())).collect().await;
/// assert_eq!(order, [(1, 10), (2, 20), (0, 30)]);
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    pending: FuturesUnordered<Indexed<F>>,
    total: usize,
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.pending.len())
            .field("total", &self.total)
            .finish()
    }
}

/// Yields the outputs of `futures` (usually [`Handle`](crate::Handle)s) as they finish,
/// each with its input index; see [`AsCompleted`] for the rules.
///
/// The index is always given because an output alone rarely says which input it came
/// from; ignore it with `.map(|(_, r)| r)`. From synchronous code, iterate with
/// [`AsCompleted::blocking_iter`].
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::as_completed;
///
/// let pool = BlockingPool::new(4).unwrap();
/// let handles: Vec<_> = (0..8u64).map(|i| pool.submit(move || {
///     std::thread::sleep(std::time::Duration::from_millis(8 - i));
///     if i == 3 { Err("three failed") } else { Ok(i * 10) }
/// })).collect();
/// let mut seen = 0;
/// for (index, result) in as_completed(handles).blocking_iter() {
///     match result {
///         Ok(v) => assert_eq!(v, index as u64 * 10),
///         Err(e) => assert_eq!((index, e.into_job_error()), (3, Some("three failed"))),
///     }
///     seen += 1;
/// }
/// assert_eq!(seen, 8);
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let pending: FuturesUnordered<_> =
        futures.into_iter().enumerate().map(|(index, fut)| Indexed { fut, index, key: index }).collect();
    let total = pending.len();
    AsCompleted { pending, total }
}

impl<F: Future> AsCompleted<F> {
    /// How many inputs have not been yielded yet.
    pub fn remaining(&self) -> usize {
        self.pending.len()
    }

    /// How many inputs the stream was created with.
    pub fn total(&self) -> usize {
        self.total
    }

    /// An iterator for synchronous code: each `next()` blocks the calling thread until the
    /// next input finishes.
    ///
    /// # Panics
    /// `next()` panics when called on a thread that drives asynchronous tasks (it would
    /// deadlock there); use the stream with `.await` in async code.
    ///
    /// ```
    /// use more_executors_core::Handle;
    /// use more_executors_core::combinators::as_completed;
    ///
    /// let handles = vec![Handle::<_, ()>::ready('a'), Handle::ready('b')];
    /// let items: Vec<_> = as_completed(handles).blocking_iter().collect();
    /// assert_eq!(items, [(0, Ok('a')), (1, Ok('b'))]);
    /// ```
    pub fn blocking_iter(self) -> BlockingIter<F> {
        BlockingIter { stream: self }
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = (usize, F::Output);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match super::combined::poll_next_coop(&mut self.pending, cx) {
            Poll::Ready(Some((index, _key, out))) => Poll::Ready(Some((index, out))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.pending.len();
        (n, Some(n))
    }
}

impl<F: Future> FusedStream for AsCompleted<F> {
    fn is_terminated(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The blocking iterator of [`AsCompleted::blocking_iter`]: yields `(index, output)` in
/// completion order, blocking the thread in `next()`. Its length is the number of inputs
/// not yet yielded.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::{BlockingIter, as_completed};
///
/// let pool = BlockingPool::new(2).unwrap();
/// let handles: Vec<_> = (0..3).map(|i| pool.submit(move || Ok::<_, ()>(i))).collect();
/// let mut iter: BlockingIter<_> = as_completed(handles).blocking_iter();
/// assert_eq!(iter.len(), 3);
/// let mut values: Vec<i32> = iter.by_ref().map(|(_, r)| r.unwrap()).collect();
/// values.sort();
/// assert_eq!((values, iter.len()), (vec![0, 1, 2], 0));
/// ```
pub struct BlockingIter<F> {
    stream: AsCompleted<F>,
}

impl<F> fmt::Debug for BlockingIter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingIter").field("stream", &self.stream).finish()
    }
}

impl<F: Future> Iterator for BlockingIter<F> {
    type Item = (usize, F::Output);

    fn next(&mut self) -> Option<Self::Item> {
        if self.stream.pending.is_empty() {
            return None;
        }
        crate::handle::wait::block_until(&mut self.stream.next(), None).flatten()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

impl<F: Future> ExactSizeIterator for BlockingIter<F> {}
