use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::Error;
use crate::handle::{CancelDecision, CancelGate, GateGuard, JobContext};

pin_project! {
    /// Stage future of [`FlatMap`](super::FlatMap).
    pub struct FlatMapFuture<F, M, G, U, E> {
        #[pin]
        state: State<F, M, G>,
        ctx: JobContext,
        // Where an asynchronous cancel decision of a returned handle is awaited.
        rt: tokio::runtime::Handle,
        _out: PhantomData<fn() -> (U, E)>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, M, G> {
        First { #[pin] fut: F, f: Option<M> },
        Second { #[pin] fut: G, gate: Option<GateGuard> },
    }
}

impl<F, M, G, U, E> FlatMapFuture<F, M, G, U, E> {
    pub(crate) fn new(fut: F, f: M, ctx: JobContext, rt: tokio::runtime::Handle) -> Self {
        FlatMapFuture { state: State::First { fut, f: Some(f) }, ctx, rt, _out: PhantomData }
    }
}

impl<F, M, G, U, E> fmt::Debug for FlatMapFuture<F, M, G, U, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlatMapFuture")
    }
}

impl<F, M, G, T, U, E, E2> Future for FlatMapFuture<F, M, G, U, E>
where
    F: Future<Output = Result<T, Error<E>>>,
    M: FnOnce(T) -> G,
    G: Future<Output = Result<U, E2>> + 'static,
    E2: Into<Error<E>>,
    U: 'static,
    E: 'static,
{
    type Output = Result<U, Error<E>>;

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
                    let next = f(value);
                    let gate = super::as_handle::<G, U, E>(&next).map(|h| {
                        let canceller = h.canceller();
                        let rt = this.rt.clone();
                        // Never block inside the hook: a handle whose stage decides
                        // asynchronously is answered with its decision as a future.
                        this.ctx.set_gate(CancelGate::Hook(Arc::new(move || {
                            match canceller.cancel_nonblocking(&rt) {
                                Ok(accepted) => CancelDecision::Now(accepted),
                                Err(deciding) => CancelDecision::Later(deciding),
                            }
                        })))
                    });
                    this.state.set(State::Second { fut: next, gate });
                    drop(calling);
                }
                StateProj::Second { fut, gate } => {
                    let out = ready!(fut.poll(cx)).map_err(Into::into);
                    gate.take();
                    return Poll::Ready(out);
                }
            }
        }
    }
}
