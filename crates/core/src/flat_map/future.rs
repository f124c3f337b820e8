use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use futures_core::TryFuture;

use crate::error::Error;
use crate::handle::{CancelGate, GateGuard, JobContext};
use crate::stage::{StageFn, StageFuture};

pin_project! {
    /// Stage future of [`FlatMap`](super::FlatMap).
    pub struct FlatMapFuture<F, M, G> {
        #[pin]
        state: State<F, M, G>,
        ctx: JobContext,
        // Where an asynchronous cancel decision of a returned handle is awaited.
        rt: tokio::runtime::Handle,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, M, G> {
        First { #[pin] fut: F, f: Option<M> },
        Second { #[pin] fut: G, gate: Option<GateGuard> },
    }
}

impl<F, M, G> FlatMapFuture<F, M, G> {
    pub(crate) fn new(fut: F, f: M, ctx: JobContext, rt: tokio::runtime::Handle) -> Self {
        FlatMapFuture { state: State::First { fut, f: Some(f) }, ctx, rt }
    }
}

impl<F, M, G> fmt::Debug for FlatMapFuture<F, M, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlatMapFuture")
    }
}

impl<F, M, G> Future for FlatMapFuture<F, M, G>
where
    F: StageFuture<Err: 'static>,
    M: StageFn<F::Ok, Output = G>,
    G: TryFuture<Ok: 'static, Error: Into<Error<F::Err>>> + 'static,
{
    type Output = Result<G::Ok, Error<F::Err>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::First { fut, f } => {
                    let value = match ready!(fut.poll(cx)) {
                        Ok(v) => v,
                        Err(e) => return Poll::Ready(Err(e)),
                    };
                    let f = f.take().expect("FlatMapFuture polled after completion");
                    // Until the hook of a returned handle is installed, a cancel could not reach
                    // the handle `f` creates (it would be dropped, detached, still running):
                    // refuse cancels while `f` runs.
                    let calling = this.ctx.set_gate(CancelGate::Refuse);
                    let next = f.call_once(value);
                    let gate = super::as_handle::<G, G::Ok, F::Err>(&next).map(|h| {
                        let canceller = h.canceller();
                        let rt = this.rt.clone();
                        // Never block inside the hook: a handle whose stage decides
                        // asynchronously is answered with its decision as a future.
                        this.ctx
                            .set_gate(CancelGate::Hook(Arc::new(move || canceller.cancel_nonblocking(&rt))))
                    });
                    this.state.set(State::Second { fut: next, gate });
                    drop(calling);
                }
                StateProj::Second { fut, gate } => {
                    let out = ready!(fut.try_poll(cx)).map_err(Into::into);
                    gate.take();
                    return Poll::Ready(out);
                }
            }
        }
    }
}
