//! [`Capacity`]: reserving a concurrency-limit slot before submitting, for callers that
//! must know a job will start at once (a `tower::Service`'s `poll_ready`).

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::PollSemaphore;

use super::Shared;
use crate::error::Error;

/// The slots of a [`ConcurrencyLimit`](super::ConcurrencyLimit), as seen from outside its
/// stack ([`Lifecycle::capacity`](crate::Lifecycle::capacity)).
///
/// [`ExecutorService`](crate::service::ExecutorService) uses it to reserve a slot in
/// `poll_ready` and hand it to the job it submits next; other code can read the limit and
/// the number of free slots. Cloning is cheap; clones wait for slots independently.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// let exec = InlineExecutor::new().with_concurrency_limit(3).unwrap();
/// let cap = exec.capacity().expect("the stack has a limit");
/// assert_eq!((cap.limit(), cap.available()), (3, 3));
/// ```
pub struct Capacity {
    shared: Arc<Shared>,
    sem: PollSemaphore,
}

impl Clone for Capacity {
    fn clone(&self) -> Self {
        Capacity::new(self.shared.clone())
    }
}

impl fmt::Debug for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capacity")
            .field("limit", &self.limit())
            .field("available", &self.available())
            .finish()
    }
}

impl Capacity {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let sem = PollSemaphore::new(shared.sem.clone());
        Capacity { shared, sem }
    }

    /// The limit in force.
    pub fn limit(&self) -> usize {
        self.shared.limit.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.shared.sem.available_permits()
    }

    /// Waits for a free slot and reserves it (in FIFO order with the limit's queued jobs).
    /// Fails with [`Error::ShutDown`] when the limit's semaphore is closed, and with
    /// [`Error::Panicked`] when its dynamic limit function panicked.
    pub(crate) fn poll_reserve<E>(&mut self, cx: &mut Context<'_>) -> Poll<Result<Reservation, Error<E>>> {
        if let Err(panic) = self.shared.refresh() {
            return Poll::Ready(Err(panic.into_error()));
        }
        match self.sem.poll_acquire(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(Error::ShutDown)),
            Poll::Ready(Some(permit)) => {
                Poll::Ready(Ok(Reservation { shared: self.shared.clone(), permit: Some(permit) }))
            }
        }
    }
}

/// A slot taken in advance; returned to the limit when dropped unused.
pub(crate) struct Reservation {
    shared: Arc<Shared>,
    permit: Option<OwnedSemaphorePermit>,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation").field("held", &self.permit.is_some()).finish()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            self.shared.release(p);
        }
    }
}

thread_local! {
    /// The reservation of the submission under way on this thread, if any.
    static RESERVED: RefCell<Option<Reservation>> = const { RefCell::new(None) };
}

/// Runs `submit` with `reservation` offered to the limit it came from: if that limit finds
/// no free slot for the job, it takes the reserved one instead of queueing the job. Layers
/// build their stage futures synchronously inside `submit`, so the offer reaches the limit
/// wherever it is in the stack. An unused reservation is released when this returns.
pub(crate) fn with_reservation<R>(reservation: Reservation, submit: impl FnOnce() -> R) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            // Taken out of the slot first: releasing it may run waker code.
            let left = RESERVED.with(|r| r.borrow_mut().take());
            drop(left);
        }
    }
    let previous = RESERVED.with(|r| r.borrow_mut().replace(reservation));
    drop(previous);
    let _clear = Clear;
    submit()
}

/// The reserved slot for `shared`'s limit, if the submission under way holds one.
pub(crate) fn take_reserved(shared: &Arc<Shared>) -> Option<OwnedSemaphorePermit> {
    RESERVED.with(|r| {
        let mut slot = r.try_borrow_mut().ok()?;
        match slot.as_mut() {
            Some(res) if Arc::ptr_eq(&res.shared, shared) => res.permit.take(),
            _ => None,
        }
    })
}
