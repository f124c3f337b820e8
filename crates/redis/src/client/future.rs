//! [`RedisFuture`]: the stage future of a job submitted to Redis, and its cancel hook.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::sync::oneshot;

use more_executors_core::Error;
use more_executors_core::stage::{CancelDecision, CancelHook, GateGuard};

use super::shared::{Reply, Shared, Slot, SlotState};
use crate::error::RemoteError;
use crate::wire;

/// The stage future of a job on a [`RedisExecutor`](crate::RedisExecutor): resolves when
/// the job's outcome arrives from Redis (pushed by the worker that ran it, or by the
/// dead-letter logic), decoded as the job's output or error.
///
/// Dropping it (a cancel accepted, an outer timeout) stops waiting; the job itself is
/// cancelled in Redis only through the cancel rules of the executor.
#[must_use = "futures do nothing unless polled"]
pub struct RedisFuture<T, E> {
    state: State,
    _types: PhantomData<fn() -> (T, E)>,
}

enum State {
    Waiting { rx: oneshot::Receiver<Reply>, reg: Registration, span: tracing::Span, _gate: GateGuard },
    Failed(String),
    Done,
}

impl<T, E> fmt::Debug for RedisFuture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Waiting { reg, .. } => format!("waiting for {}", reg.id),
            State::Failed(m) => format!("failed: {m}"),
            State::Done => "done".into(),
        };
        f.debug_struct("RedisFuture").field("state", &state).finish()
    }
}

/// Removes a handle's waiter entry when its future goes away.
pub(crate) struct Registration {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: Arc<str>,
    pub(crate) token: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.unregister(&self.id, self.token);
    }
}

impl<T, E> RedisFuture<T, E> {
    pub(crate) fn waiting(
        rx: oneshot::Receiver<Reply>,
        reg: Registration,
        span: tracing::Span,
        gate: GateGuard,
    ) -> Self {
        RedisFuture { state: State::Waiting { rx, reg, span, _gate: gate }, _types: PhantomData }
    }

    pub(crate) fn failed(message: String) -> Self {
        RedisFuture { state: State::Failed(message), _types: PhantomData }
    }
}

impl<T, E> Future for RedisFuture<T, E>
where
    T: serde::de::DeserializeOwned,
    E: serde::de::DeserializeOwned,
{
    type Output = Result<T, Error<RemoteError<E>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let out = match &mut this.state {
            State::Waiting { rx, reg, span, .. } => {
                let _enter = span.enter();
                let reply = ready!(Pin::new(rx).poll(cx));
                let shared = &reg.shared;
                let queue = shared.keys.queue.to_string();
                match reply {
                    Ok(Reply::Outcome(text)) => {
                        let r = wire::decode(&reg.id, &text);
                        tracing::debug!(ok = r.is_ok(), "outcome received");
                        r
                    }
                    Ok(Reply::Full) => {
                        Err(Error::Job(RemoteError::QueueFull { queue, max: shared.config.max_len }))
                    }
                    Ok(Reply::Unavailable(message)) => Err(Error::Job(RemoteError::Unavailable {
                        queue,
                        after: shared.config.unavailable_timeout,
                        message,
                    })),
                    Ok(Reply::NotFound) => Err(Error::Job(RemoteError::NotFound {
                        id: reg.id.to_string(),
                        queue,
                        ttl: shared.config.common.result_ttl,
                    })),
                    // The client's tasks ended (its runtime is going away).
                    Err(_) => Err(Error::ShutDown),
                }
            }
            State::Failed(m) => Err(Error::Job(RemoteError::Invalid(std::mem::take(m)))),
            State::Done => panic!("RedisFuture polled after completion"),
        };
        this.state = State::Done;
        Poll::Ready(out)
    }
}

/// The cancel rule of a job on the client: not yet sent, it is dropped here; queued in
/// Redis, the cancel script marks it and it never runs; running, its worker decides.
pub(crate) struct ClientCancel {
    pub(crate) shared: Arc<Shared>,
    pub(crate) slot: Option<Arc<Slot>>,
    pub(crate) id: Arc<str>,
}

impl CancelHook for ClientCancel {
    fn decide(&self) -> CancelDecision {
        if let Some(slot) = &self.slot {
            let mut st = slot.state();
            if *st == SlotState::Queued {
                *st = SlotState::Cancelled;
                return CancelDecision::Now(true);
            }
        }
        let shared = self.shared.clone();
        let id = self.id.clone();
        CancelDecision::Later(Box::pin(async move { super::tasks::cancel_remote(&shared, &id).await }))
    }
}
