//! [`PollFuture`]: the stage future of a poll executor's job.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use more_executors_core::Error;
use more_executors_core::stage::{CancelGate, GateGuard, JobContext};
use pin_project_lite::pin_project;

use crate::descriptor::{DETACHED, Node};
use crate::set::{Hook, Shared};

pin_project! {
    /// Stage future of [`PollExecutor`](crate::PollExecutor): runs the inner stage, then
    /// waits in the poll set until the poll function (or shutdown, or an approved cancel)
    /// resolves it.
    ///
    /// Dropping it (the handle was cancelled, or its runtime went away) removes the future
    /// from the poll set in O(1).
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::Context;
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::stage::JobContext;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    ///
    /// # #[tokio::main] async fn main() {
    /// let exec = AsyncExecutor::new().with_poll(PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)));
    /// let ctx = JobContext::detached();
    /// {
    ///     let mut stage = pin!(exec.call(|| async { Ok(1) }, &ctx));
    ///     // One poll runs the inner job and registers the future.
    ///     let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    ///     assert!(stage.as_mut().poll(&mut cx).is_pending());
    ///     assert_eq!(exec.pending(), 1);
    /// }
    /// assert_eq!(exec.pending(), 0, "dropped: gone from the poll set");
    /// # }
    /// ```
    pub struct PollFuture<F, I, T, E> {
        #[pin]
        state: State<F, I, T, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, I, T, E> {
        Inner { #[pin] fut: F, ctx: JobContext, shared: Arc<Shared<I, T, E>> },
        Polling { reg: Registration<I, T, E> },
        Done,
    }
}

/// A place in the poll set; leaves it when dropped. The gate guard restores the previous
/// cancel rule when the future leaves the set.
pub(crate) struct Registration<I, T, E> {
    shared: Arc<Shared<I, T, E>>,
    node: Arc<Node<I, T, E>>,
    /// The node's slab key; [`DETACHED`] once the node is known to be out of the set (it
    /// received its result).
    key: usize,
    _gate: Option<GateGuard>,
}

impl<I, T, E> Drop for Registration<I, T, E> {
    fn drop(&mut self) {
        if self.key == DETACHED {
            return;
        }
        let removed = {
            let mut st = self.shared.lock();
            crate::set::remove_locked(&mut st, self.key, &self.node)
        };
        if removed {
            // Still in the set: the job was abandoned from outside (an outer timeout
            // expired, the runtime went away). Tell the remote side, best effort.
            (self.shared.on_abandon)(&self.shared, &self.node);
        }
    }
}

impl<F, I, T, E> fmt::Debug for PollFuture<F, I, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "inner",
            State::Polling { .. } => "polling",
            State::Done => "done",
        };
        f.debug_struct("PollFuture").field("state", &state).finish()
    }
}

impl<F, I, T, E> PollFuture<F, I, T, E> {
    pub(crate) fn new(fut: F, ctx: JobContext, shared: Arc<Shared<I, T, E>>) -> Self {
        PollFuture { state: State::Inner { fut, ctx, shared } }
    }

    /// A stage future already waiting in the poll set under `key` (for the loom models).
    #[cfg(all(test, loom))]
    pub(crate) fn registered(shared: Arc<Shared<I, T, E>>, node: Arc<Node<I, T, E>>, key: usize) -> Self {
        PollFuture { state: State::Polling { reg: Registration { shared, node, key, _gate: None } } }
    }
}

impl<F, I, T, E> Future for PollFuture<F, I, T, E>
where
    F: Future<Output = Result<I, Error<E>>>,
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Inner { fut, ctx, shared } => {
                    // An inner failure (or cancel) ends the job here, without polling.
                    let input = match ready!(fut.poll(cx)) {
                        Ok(input) => input,
                        Err(e) => {
                            state.set(State::Done);
                            return Poll::Ready(Err(e));
                        }
                    };
                    let node = Arc::new(Node::new(input));
                    let Some(key) = shared.register(&node) else {
                        state.set(State::Done);
                        return Poll::Ready(Err(Error::ShutDown));
                    };
                    let gate = shared.cancel.as_ref().map(|_| {
                        let hook = Hook { shared: shared.clone(), node: node.clone(), key };
                        ctx.set_gate(CancelGate::Hook(Arc::new(hook)))
                    });
                    let reg = Registration { shared: shared.clone(), node, key, _gate: gate };
                    state.set(State::Polling { reg });
                }
                StateProj::Polling { reg } => {
                    let out = ready!(reg.node.poll_result(cx));
                    // Whoever completed the node removed it from the set first.
                    reg.key = DETACHED;
                    state.set(State::Done);
                    return Poll::Ready(out);
                }
                StateProj::Done => {
                    return Poll::Ready(Err(Error::Panicked("PollFuture polled after completion".into())));
                }
            }
        }
    }
}
