//! The outcome of a job handed to its handle by the thread that ran it, with no driver task
//! in between: what a job submitted straight to a [`BlockingPool`](crate::BlockingPool)
//! costs.
//!
//! The per-job state machine ([`Control`](super::control::Control)) still decides the
//! outcome; this only carries it. The first hand-over wins: the pool thread's result, or
//! "cancelled" from an accepted cancel (which must wake a handle being awaited at once,
//! not when a pool thread reaches the queued job).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::error::Error;

/// Resolves a pending handle as cancelled (its cancel was accepted).
pub(crate) trait Abort: Send + Sync {
    fn abort(&self);
}

/// The handle's side of a job's outcome.
pub(crate) trait Receive<T, E>: Abort {
    /// The outcome once handed over; `None` when it never will be (the job was dropped
    /// without running).
    fn poll_receive(&self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Error<E>>>>;

    /// True once [`poll_receive`](Self::poll_receive) would not wait.
    fn is_ready(&self) -> bool;
}

type Sender<T, E> = oneshot::Sender<Result<T, Error<E>>>;
type Receiver<T, E> = oneshot::Receiver<Result<T, Error<E>>>;

/// A job's outcome on its way from the thread that runs the job (or the job's cancel) to
/// the handle: a `oneshot` channel, shared so that either side may send.
pub(crate) struct Outcome<T, E> {
    tx: Mutex<Option<Sender<T, E>>>,
    rx: Mutex<Receiver<T, E>>,
}

impl<T, E> Outcome<T, E> {
    pub(crate) fn new() -> Arc<Self> {
        let (tx, rx) = oneshot::channel();
        Arc::new(Outcome { tx: Mutex::new(Some(tx)), rx: Mutex::new(rx) })
    }

    /// Hands `outcome` to the handle, unless something was handed over already.
    pub(crate) fn send(&self, outcome: Result<T, Error<E>>) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tx) = tx {
            // A handle dropped meanwhile no longer waits: nothing to do.
            let _ = tx.send(outcome);
        }
    }

    fn receiver(&self) -> std::sync::MutexGuard<'_, Receiver<T, E>> {
        self.rx.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T: Send, E: Send> Abort for Outcome<T, E> {
    fn abort(&self) {
        self.send(Err(Error::Cancelled));
    }
}

impl<T: Send, E: Send> Receive<T, E> for Outcome<T, E> {
    fn poll_receive(&self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Error<E>>>> {
        Pin::new(&mut *self.receiver()).poll(cx).map(Result::ok)
    }

    fn is_ready(&self) -> bool {
        let rx = self.receiver();
        !rx.is_empty() || rx.is_terminated()
    }
}
