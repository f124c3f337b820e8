//! The outcome of a job handed to its handle by the thread that ran it, with no driver task
//! in between: what a job submitted straight to a [`BlockingPool`](crate::BlockingPool)
//! costs.
//!
//! The per-job state machine ([`Control`](super::control::Control)) still decides the
//! outcome; this only carries it. The first hand-over wins: the pool thread's result, or
//! "cancelled" from an accepted cancel (which must wake a handle being awaited at once,
//! not when a pool thread reaches the queued job).

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::error::Error;

/// Resolves a pending handle as cancelled (its cancel was accepted).
pub(crate) trait Abort: Send + Sync {
    fn abort(&self);
}

type Sender<T, E> = oneshot::Sender<Result<T, Error<E>>>;

/// The sending side of a job's outcome, shared by the thread that runs the job and the
/// job's cancel.
pub(crate) struct Outcome<T, E> {
    tx: Mutex<Option<Sender<T, E>>>,
}

impl<T, E> Outcome<T, E> {
    /// The sending side and the handle's receiving side.
    pub(crate) fn channel() -> (Arc<Self>, oneshot::Receiver<Result<T, Error<E>>>) {
        let (tx, rx) = oneshot::channel();
        (Arc::new(Outcome { tx: Mutex::new(Some(tx)) }), rx)
    }

    /// Hands `outcome` to the handle, unless something was handed over already.
    pub(crate) fn send(&self, outcome: Result<T, Error<E>>) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tx) = tx {
            // A handle dropped meanwhile no longer waits: nothing to do.
            let _ = tx.send(outcome);
        }
    }
}

impl<T: Send, E: Send> Abort for Outcome<T, E> {
    fn abort(&self) {
        self.send(Err(Error::Cancelled));
    }
}
