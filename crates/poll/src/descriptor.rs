//! [`PollDescriptor`]: one pending future, as the poll function sees it.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use more_executors_core::Error;

use crate::sync::{AtomicBool, Mutex};

/// One future waiting in the poll set: the inner job's output plus the slot its result
/// goes to. Shared by the poll set, the job's stage future, its cancel hook and the
/// descriptors of a poll call.
pub(crate) struct Node<I, T, E> {
    pub(crate) input: I,
    slot: Mutex<Option<Result<T, Error<E>>>>,
    waker: AtomicWaker,
    /// Set when an approved cancel removed the node: later cancel requests answer true
    /// (an asynchronous decision may complete after its requester stopped waiting).
    pub(crate) cancelled: AtomicBool,
}

impl<I, T, E> Node<I, T, E> {
    pub(crate) fn new(input: I) -> Self {
        Node { input, slot: Mutex::new(None), waker: AtomicWaker::new(), cancelled: AtomicBool::new(false) }
    }

    /// Stores the result and wakes the stage future. Only the party that removed the node
    /// from the poll set calls this, so it happens at most once per node.
    pub(crate) fn complete(&self, result: Result<T, Error<E>>) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        self.waker.wake();
    }

    /// Polls for the result (used by the stage future).
    pub(crate) fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, Error<E>>> {
        if let Some(r) = self.take() {
            return Poll::Ready(r);
        }
        self.waker.register(cx.waker());
        match self.take() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    fn take(&self) -> Option<Result<T, Error<E>>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Key used for descriptors that are not attached to any poll set.
pub(crate) const DETACHED: usize = usize::MAX;

/// A future waiting to be resolved by the poll function.
///
/// The poll function receives every unresolved descriptor of its executor at once, reads
/// each one's [`input`](Self::input) (the inner job's output: a task id, a URL, ...), and
/// resolves the ones it can with [`yield_result`](Self::yield_result) or
/// [`yield_error`](Self::yield_error). Descriptors it leaves alone are offered again at the
/// next poll.
///
/// # Rules
/// - The first yield on a descriptor wins; later yields in the same call are ignored (and
///   return `false`).
/// - The yield is delivered when the poll function returns. If the future was cancelled or
///   the executor shut down in the meantime, the yield is dropped: the handle has already
///   resolved.
/// - A yield is kept even if the poll function then fails: only the descriptors it did not
///   resolve fail with its error.
///
/// [`PollDescriptor::new`] builds a detached descriptor, so a poll function can be unit
/// tested without an executor:
///
/// ```
/// use std::time::Duration;
/// use more_executors_poll::PollDescriptor;
///
/// fn poll_even(ds: &mut [PollDescriptor<u32, String, String>]) -> Result<Option<Duration>, String> {
///     for d in ds.iter_mut() {
///         if d.input() % 2 == 0 {
///             d.yield_result(format!("task {} done", d.input()));
///         }
///     }
///     Ok(None)
/// }
///
/// let mut ds = vec![PollDescriptor::new(1), PollDescriptor::new(2)];
/// poll_even(&mut ds).unwrap();
/// assert!(!ds[0].is_resolved());
/// assert_eq!(ds[1].outcome(), Some(&Ok("task 2 done".to_string())));
/// assert!(!ds[1].yield_error("late".into()), "the first yield wins");
/// ```
pub struct PollDescriptor<I, T, E> {
    pub(crate) node: Arc<Node<I, T, E>>,
    pub(crate) key: usize,
    pub(crate) outcome: Option<Result<T, E>>,
    /// Set when the poll task removed this descriptor's node from the poll set and owes
    /// it a result.
    pub(crate) deliver: bool,
}

impl<I, T, E> fmt::Debug for PollDescriptor<I, T, E>
where
    I: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.outcome {
            None => "pending",
            Some(Ok(_)) => "result",
            Some(Err(_)) => "error",
        };
        f.debug_struct("PollDescriptor").field("input", &self.node.input).field("state", &state).finish()
    }
}

impl<I, T, E> PollDescriptor<I, T, E> {
    pub(crate) fn attached(node: Arc<Node<I, T, E>>, key: usize) -> Self {
        PollDescriptor { node, key, outcome: None, deliver: false }
    }

    /// A descriptor attached to no executor, for testing a poll function on its own. Its
    /// yields are only recorded ([`outcome`](Self::outcome)).
    ///
    /// ```
    /// use more_executors_poll::PollDescriptor;
    /// let d: PollDescriptor<&str, (), ()> = PollDescriptor::new("task-1");
    /// assert_eq!(*d.input(), "task-1");
    /// ```
    pub fn new(input: I) -> Self {
        Self::attached(Arc::new(Node::new(input)), DETACHED)
    }

    /// The inner job's output this future waits on.
    ///
    /// ```
    /// use more_executors_poll::PollDescriptor;
    /// let d: PollDescriptor<u64, (), ()> = PollDescriptor::new(7);
    /// assert_eq!(*d.input(), 7);
    /// ```
    pub fn input(&self) -> &I {
        &self.node.input
    }

    /// Resolves the future with `value`. Returns `false` (and drops `value`) when this
    /// descriptor was already resolved in this call.
    ///
    /// ```
    /// use more_executors_poll::PollDescriptor;
    /// let mut d: PollDescriptor<u8, &str, ()> = PollDescriptor::new(1);
    /// assert!(d.yield_result("first"));
    /// assert!(!d.yield_result("second"));
    /// assert_eq!(d.outcome(), Some(&Ok("first")));
    /// ```
    pub fn yield_result(&mut self, value: T) -> bool {
        self.set(Ok(value))
    }

    /// Fails the future with `error` (its handle resolves to
    /// [`Error::Job(error)`](more_executors_core::Error::Job)). Returns `false` (and drops
    /// `error`) when this descriptor was already resolved in this call.
    ///
    /// ```
    /// use more_executors_poll::PollDescriptor;
    /// let mut d: PollDescriptor<u8, (), &str> = PollDescriptor::new(1);
    /// assert!(d.yield_error("task failed"));
    /// assert!(!d.yield_result(()));
    /// assert_eq!(d.outcome(), Some(&Err("task failed")));
    /// ```
    pub fn yield_error(&mut self, error: E) -> bool {
        self.set(Err(error))
    }

    /// True once [`yield_result`](Self::yield_result) or [`yield_error`](Self::yield_error)
    /// was called on this descriptor.
    ///
    /// ```
    /// use more_executors_poll::PollDescriptor;
    /// let mut d: PollDescriptor<u8, u8, ()> = PollDescriptor::new(1);
    /// assert!(!d.is_resolved());
    /// d.yield_result(2);
    /// assert!(d.is_resolved());
    /// ```
    pub fn is_resolved(&self) -> bool {
        self.outcome.is_some()
    }

    /// What was yielded on this descriptor, if anything.
    ///
    /// ```
    /// use more_executors_poll::PollDescriptor;
    /// let d: PollDescriptor<u8, u8, ()> = PollDescriptor::new(1);
    /// assert_eq!(d.outcome(), None);
    /// ```
    pub fn outcome(&self) -> Option<&Result<T, E>> {
        self.outcome.as_ref()
    }

    fn set(&mut self, r: Result<T, E>) -> bool {
        if self.outcome.is_some() {
            return false;
        }
        self.outcome = Some(r);
        true
    }
}
