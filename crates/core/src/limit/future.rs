use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

use super::{Shared, Slot};
use crate::error::Error;
use crate::executor::Executor;
use crate::handle::JobContext;

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

pin_project! {
    /// Stage future of [`ConcurrencyLimit`](super::ConcurrencyLimit): waits for a slot,
    /// then runs the inner stage holding it.
    pub struct LimitFuture<S, J> where S: Executor<J> {
        #[pin]
        state: State<S, J, S::Future>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, J, F> {
        Queued { wait: Queued<S, J> },
        Running { #[pin] fut: F, slot: Slot },
        Failed { message: Option<String> },
    }
}

struct Queued<S, J> {
    acquire: Acquire,
    job: Option<J>,
    inner: Arc<S>,
    ctx: JobContext,
    shared: Arc<Shared>,
}

impl<S, J> Drop for Queued<S, J> {
    fn drop(&mut self) {
        self.shared.queued.fetch_sub(1, Ordering::AcqRel);
        self.shared.queue_gauge.decrement(1.0);
    }
}

impl<S: Executor<J>, J> fmt::Debug for LimitFuture<S, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Queued { .. } => "queued",
            State::Running { .. } => "running",
            State::Failed { .. } => "failed",
        };
        f.debug_struct("LimitFuture").field("state", &state).finish()
    }
}

impl<S: Executor<J>, J> LimitFuture<S, J> {
    pub(crate) fn running(fut: S::Future, slot: Slot) -> Self {
        LimitFuture { state: State::Running { fut, slot } }
    }

    pub(crate) fn failed(e: Error<S::Error>) -> Self {
        let message = match e {
            Error::Panicked(m) => m,
            _ => "the dynamic concurrency limit failed".to_string(),
        };
        LimitFuture { state: State::Failed { message: Some(message) } }
    }

    pub(crate) fn queued(inner: Arc<S>, job: J, ctx: JobContext, shared: Arc<Shared>, name: &str) -> Self {
        let mut acquire: Acquire = Box::pin(shared.sem.clone().acquire_owned());
        // Take our place in the semaphore's FIFO queue now, at submission, so jobs start in
        // submission order whatever order their driver tasks are first polled in. The
        // real waker replaces this one at the first poll.
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let first = acquire.as_mut().poll(&mut cx);
        let queued = shared.queued.fetch_add(1, Ordering::AcqRel) + 1;
        shared.queue_gauge.increment(1.0);
        tracing::debug!(executor = name, queue_len = queued, "job queued by the concurrency limit");
        let wait = Queued { acquire, job: Some(job), inner, ctx, shared };
        match first {
            Poll::Ready(Ok(permit)) => {
                let mut wait = wait;
                let job = wait.job.take().expect("job present");
                let fut = wait.inner.call(job, &wait.ctx);
                let slot = Slot { permit: Some(permit), shared: wait.shared.clone() };
                LimitFuture { state: State::Running { fut, slot } }
            }
            _ => LimitFuture { state: State::Queued { wait } },
        }
    }
}

impl<S, J> Future for LimitFuture<S, J>
where
    S: Executor<J>,
{
    type Output = Result<S::Output, Error<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Queued { wait } => {
                    let permit = match ready!(wait.acquire.as_mut().poll(cx)) {
                        Ok(p) => p,
                        Err(_) => return Poll::Ready(Err(Error::ShutDown)),
                    };
                    let job = wait.job.take().expect("LimitFuture polled after completion");
                    let fut = wait.inner.call(job, &wait.ctx);
                    let slot = Slot { permit: Some(permit), shared: wait.shared.clone() };
                    state.set(State::Running { fut, slot });
                }
                StateProj::Running { fut, slot } => {
                    let out = ready!(fut.poll(cx));
                    // Free the slot as soon as the inner stage is done.
                    if let Some(p) = slot.permit.take() {
                        slot.shared.release(p);
                    }
                    return Poll::Ready(out);
                }
                StateProj::Failed { message } => {
                    let m = message.take().unwrap_or_default();
                    return Poll::Ready(Err(Error::Panicked(m)));
                }
            }
        }
    }
}
