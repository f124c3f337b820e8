//! [`ExecutorService`]: any executor as a `tower::Service`.

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use tower_service::Service;

use super::response::ResponseFuture;
use crate::error::Error;
use crate::executor::{ErrorOf, Lifecycle, OutputOf, SubmitExecutor};
use crate::limit::{Capacity, Reservation, with_reservation};

/// An executor used as a `tower::Service<J>`: `call(job)` submits the job and the response
/// is the job's result.
///
/// # Semantics
/// - **Readiness.** When the stack has a concurrency limit
///   ([`Lifecycle::capacity`]), `poll_ready` waits for a free slot of its outermost limit
///   and reserves it (in FIFO order with jobs queued there), and the next `call` runs the
///   job in that slot: nothing waits in the limit's queue behind a `Ready`. A reserved slot
///   not used by a `call` is held until this service is dropped or called. Without a limit
///   the service is always ready. After [`shutdown`](Lifecycle::shutdown), `poll_ready`
///   fails with [`Error::ShutDown`].
/// - **Call** submits at once (the job is eager, as with
///   [`submit`](crate::Executor::submit)); calling without `poll_ready` is allowed and queues as
///   `submit` does.
/// - **Response future.** Resolves like the job's [`Handle`](crate::Handle). Dropping it
///   before it resolves cancels the job (never blocking; a stage that decides cancels
///   asynchronously decides on the executor's runtime), so tower's `Timeout`, a `select!`
///   or a web framework abandoning a request stop the job.
/// - **Errors** are [`Error<E>`](Error): the job's own error is [`Error::Job`].
/// - **Clones** share the executor and wait for slots independently.
///
/// ```
/// use futures::FutureExt;
/// use more_executors_core::prelude::*;
/// use tower::{Service, ServiceExt};
///
/// # #[tokio::main] async fn main() {
/// // The job type, named so `ready()` can be called before the first `call`.
/// type Job = fn() -> std::future::Ready<Result<u32, ()>>;
/// let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
/// let mut svc = exec.clone().into_service::<Job>();
///
/// // The only slot is reserved by poll_ready ...
/// svc.ready().await.unwrap();
/// // ... so a second service over the same limit is not ready until it is freed.
/// let mut other = exec.into_service::<Job>();
/// assert!(other.ready().now_or_never().is_none());
///
/// let response = svc.call(|| std::future::ready(Ok(5)));
/// assert_eq!(response.await, Ok(5));
/// other.ready().await.unwrap();
/// # }
/// ```
///
/// The job type `J` is part of the type (as the request type of `tower::service_fn` is
/// fixed by its closure); when `ready()` comes before the first `call`, name it
/// (`into_service::<Job>()`).
pub struct ExecutorService<X, J> {
    exec: X,
    capacity: Option<Capacity>,
    reserved: Option<Reservation>,
    _job: PhantomData<fn(J)>,
}

impl<X: Lifecycle, J> ExecutorService<X, J> {
    /// Wraps `exec`.
    pub fn new(exec: X) -> Self {
        let capacity = exec.capacity();
        ExecutorService { exec, capacity, reserved: None, _job: PhantomData }
    }
}

impl<X, J> ExecutorService<X, J> {
    /// The wrapped executor.
    pub fn get_ref(&self) -> &X {
        &self.exec
    }

    /// The wrapped executor, mutably.
    pub fn get_mut(&mut self) -> &mut X {
        &mut self.exec
    }

    /// Unwraps the executor (a reserved slot is released).
    pub fn into_inner(self) -> X {
        self.exec
    }
}

impl<X: Clone, J> Clone for ExecutorService<X, J> {
    fn clone(&self) -> Self {
        ExecutorService {
            exec: self.exec.clone(),
            capacity: self.capacity.clone(),
            reserved: None,
            _job: PhantomData,
        }
    }
}

impl<X: fmt::Debug, J> fmt::Debug for ExecutorService<X, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorService")
            .field("exec", &self.exec)
            .field("capacity", &self.capacity)
            .field("reserved", &self.reserved.is_some())
            .finish()
    }
}

impl<X, J> Service<J> for ExecutorService<X, J>
where
    X: SubmitExecutor<J>,
{
    type Response = OutputOf<X, J>;
    type Error = Error<ErrorOf<X, J>>;
    type Future = ResponseFuture<OutputOf<X, J>, ErrorOf<X, J>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.exec.is_shut_down() {
            self.reserved = None;
            return Poll::Ready(Err(Error::ShutDown));
        }
        if self.reserved.is_some() {
            return Poll::Ready(Ok(()));
        }
        let Some(capacity) = self.capacity.as_mut() else { return Poll::Ready(Ok(())) };
        match capacity.poll_reserve(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(reservation)) => {
                self.reserved = Some(reservation);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }

    fn call(&mut self, job: J) -> Self::Future {
        let handle = match self.reserved.take() {
            Some(reservation) => with_reservation(reservation, || self.exec.submit(job)),
            None => self.exec.submit(job),
        };
        ResponseFuture::new(handle, self.exec.runtime().handle().clone())
    }
}
