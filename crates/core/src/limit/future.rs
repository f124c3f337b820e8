use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

use super::{Shared, Slot};
use crate::error::{Error, Panic};
use crate::handle::JobContext;
use crate::stage::{StageCaller, StageFuture};

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

pin_project! {
    /// Stage future of [`ConcurrencyLimit`](super::ConcurrencyLimit): waits for a slot,
    /// then runs the inner stage holding it.
    pub struct LimitFuture<F, J> {
        #[pin]
        state: State<F, J>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, J> {
        Queued { wait: Queued<F, J> },
        Running { #[pin] fut: F, slot: Slot },
        Failed { panic: Option<Box<Panic>> },
    }
}

struct Queued<F, J> {
    acquire: Acquire,
    job: Option<J>,
    inner: StageCaller<J, F>,
    ctx: JobContext,
    /// Counts the job as queued while present; handed to the job's slot when it starts
    /// (moved, not cloned: one reference count less to update per job).
    shared: Option<Arc<Shared>>,
}

impl<F, J> Queued<F, J> {
    /// Leaves the queue holding `permit`: the inner stage future and the job's slot.
    fn start(&mut self, permit: OwnedSemaphorePermit) -> (F, Slot) {
        let job = self.job.take().expect("LimitFuture polled after completion");
        let fut = self.inner.call_stage(job, &self.ctx);
        let shared = self.shared.take().expect("a queued job starts once");
        dequeue(&shared);
        (fut, Slot::new(permit, shared, &self.ctx))
    }
}

fn dequeue(shared: &Shared) {
    shared.queued.fetch_sub(1, Ordering::AcqRel);
    shared.queue_gauge.decrement(1.0);
}

impl<F, J> Drop for Queued<F, J> {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            dequeue(shared);
        }
    }
}

impl<F, J> fmt::Debug for LimitFuture<F, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Queued { .. } => "queued",
            State::Running { .. } => "running",
            State::Failed { .. } => "failed",
        };
        f.debug_struct("LimitFuture").field("state", &state).finish()
    }
}

impl<F, J> LimitFuture<F, J> {
    pub(crate) fn running(fut: F, slot: Slot) -> Self {
        LimitFuture { state: State::Running { fut, slot } }
    }

    pub(crate) fn failed(panic: Panic) -> Self {
        LimitFuture { state: State::Failed { panic: Some(Box::new(panic)) } }
    }

    pub(crate) fn queued(
        inner: StageCaller<J, F>,
        job: J,
        ctx: JobContext,
        shared: Arc<Shared>,
        name: &str,
    ) -> Self {
        let mut acquire: Acquire = Box::pin(shared.sem.clone().acquire_owned());
        // Take our place in the semaphore's FIFO queue now, at submission, so jobs start in
        // submission order whatever order their driver tasks are first polled in. The
        // real waker replaces this one at the first poll.
        // Outside tokio's cooperative budget, so a submitter whose task has spent its
        // budget still takes its place now.
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let first = Pin::new(&mut tokio::task::coop::unconstrained(acquire.as_mut())).poll(&mut cx);
        let queued = shared.queued.fetch_add(1, Ordering::AcqRel) + 1;
        shared.queue_gauge.increment(1.0);
        tracing::debug!(executor = name, queue_len = queued, "job queued by the concurrency limit");
        let mut wait = Queued { acquire, job: Some(job), inner, ctx, shared: Some(shared) };
        match first {
            Poll::Ready(Ok(permit)) => {
                let (fut, slot) = wait.start(permit);
                LimitFuture { state: State::Running { fut, slot } }
            }
            _ => LimitFuture { state: State::Queued { wait } },
        }
    }
}

impl<F, J> Future for LimitFuture<F, J>
where
    F: StageFuture,
{
    type Output = Result<F::Ok, Error<F::Err>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Queued { wait } => {
                    let permit = match ready!(wait.acquire.as_mut().poll(cx)) {
                        Ok(p) => p,
                        Err(_) => return Poll::Ready(Err(Error::ShutDown)),
                    };
                    let (fut, slot) = wait.start(permit);
                    state.set(State::Running { fut, slot });
                }
                StateProj::Running { fut, slot } => {
                    let out = ready!(fut.poll(cx));
                    // Free the slot as soon as the inner stage is done (or, when a timeout
                    // resolved it while the job's thread still runs, when that run ends).
                    slot.free();
                    return Poll::Ready(out);
                }
                StateProj::Failed { panic } => {
                    return Poll::Ready(Err(panic
                        .take()
                        .map_or(Error::Panicked(String::new()), |p| p.into_error())));
                }
            }
        }
    }
}
