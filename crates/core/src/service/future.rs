//! [`ServiceJobFuture`]: the stage future of a [`ServiceExecutor`](super::ServiceExecutor) job.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_service::Service;

use crate::error::{Error, Panic};

pin_project! {
    /// Stage future of a [`ServiceExecutor`](super::ServiceExecutor) job: waits until the
    /// service is ready, calls it, and awaits the response. Errors of the service are the
    /// job's own ([`Error::Job`]); panics become [`Error::Panicked`]. Dropping it cancels
    /// the request.
    pub struct ServiceJobFuture<S, Req>
    where
        S: Service<Req>,
    {
        #[pin]
        state: State<S, Req, S::Future>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, Req, F> {
        Waiting { service: S, req: Option<Req> },
        Calling { #[pin] fut: F },
        // Cloning the service panicked (boxed: the rare path stays small).
        Failed { panic: Option<Box<Panic>> },
        Done,
    }
}

impl<S: Service<Req>, Req> ServiceJobFuture<S, Req> {
    pub(crate) fn new(service: S, req: Req) -> Self {
        ServiceJobFuture { state: State::Waiting { service, req: Some(req) } }
    }

    pub(crate) fn failed(panic: Panic) -> Self {
        ServiceJobFuture { state: State::Failed { panic: Some(Box::new(panic)) } }
    }
}

impl<S: Service<Req>, Req> fmt::Debug for ServiceJobFuture<S, Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Waiting { .. } => "waiting for readiness",
            State::Calling { .. } => "calling",
            State::Failed { .. } => "failed",
            State::Done => "done",
        };
        f.debug_struct("ServiceJobFuture").field("state", &state).finish()
    }
}

impl<S, Req> Future for ServiceJobFuture<S, Req>
where
    S: Service<Req>,
{
    type Output = Result<S::Response, Error<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let out = match state.as_mut().project() {
                StateProj::Waiting { service, req } => {
                    let ready = std::panic::catch_unwind(AssertUnwindSafe(|| service.poll_ready(cx)));
                    match ready {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(Ok(()))) => {
                            let req = req.take().expect("request present until called");
                            match std::panic::catch_unwind(AssertUnwindSafe(|| service.call(req))) {
                                Ok(fut) => {
                                    state.set(State::Calling { fut });
                                    continue;
                                }
                                Err(p) => Err(Panic::from_payload(&*p).into_error()),
                            }
                        }
                        Ok(Poll::Ready(Err(e))) => Err(Error::Job(e)),
                        Err(p) => Err(Panic::from_payload(&*p).into_error()),
                    }
                }
                StateProj::Calling { fut } => {
                    std::task::ready!(crate::error::poll_job(fut, cx))
                }
                StateProj::Failed { panic } => {
                    Err(panic.take().map_or(Error::Panicked(String::new()), |p| p.into_error()))
                }
                StateProj::Done => Err(Error::Panicked("service job polled after it finished".into())),
            };
            state.set(State::Done);
            return Poll::Ready(out);
        }
    }
}
