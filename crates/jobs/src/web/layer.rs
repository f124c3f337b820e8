use std::fmt;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::IntoResponse;
use tower_layer::Layer;
use tower_service::Service;

use super::future::AtomicFuture;
use crate::scheduler::Scheduler;

/// Runs each request's handler as a job of the scheduler: the response future the server
/// holds only waits for the job, so when the client disconnects (and the server drops
/// that future) the handler still runs to completion. Errors and panics of a handler
/// whose client has gone reach the scheduler's error handler.
///
/// The job is named `"METHOD /path"`, counts toward the limit and may wait in the queue
/// (and for room in a full queue). When the scheduler is closed the response is
/// `503 Service Unavailable`; when the handler panics, `500 Internal Server Error`. The
/// layer also puts the scheduler into the request extensions, so handlers can extract it.
///
/// ```
/// use axum::{Router, routing::post};
/// use more_executors_jobs::Scheduler;
/// use more_executors_jobs::web::AtomicLayer;
///
/// async fn pay() -> &'static str { "paid" }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::new();
/// let app: Router = Router::new().route("/pay", post(pay).layer(AtomicLayer::new(scheduler)));
/// # let _ = app;
/// # }
/// ```
#[derive(Clone)]
pub struct AtomicLayer {
    scheduler: Scheduler,
}

impl fmt::Debug for AtomicLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicLayer").field("scheduler", &self.scheduler.name()).finish()
    }
}

impl AtomicLayer {
    /// Runs handlers as jobs of `scheduler`.
    ///
    /// ```
    /// let layer = more_executors_jobs::web::AtomicLayer::new(more_executors_jobs::Scheduler::new());
    /// # let _ = layer;
    /// ```
    pub fn new(scheduler: Scheduler) -> Self {
        AtomicLayer { scheduler }
    }
}

impl<S> Layer<S> for AtomicLayer {
    type Service = Atomic<S>;

    fn layer(&self, inner: S) -> Atomic<S> {
        Atomic { inner, scheduler: self.scheduler.clone() }
    }
}

/// The service made by [`AtomicLayer`].
///
/// ```
/// use more_executors_jobs::Scheduler;
/// use more_executors_jobs::web::{Atomic, AtomicLayer};
/// use tower_layer::Layer;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let svc: Atomic<()> = AtomicLayer::new(Scheduler::new()).layer(());
/// # let _ = svc;
/// # }
/// ```
#[derive(Clone)]
pub struct Atomic<S> {
    inner: S,
    scheduler: Scheduler,
}

impl<S> fmt::Debug for Atomic<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Atomic").field("scheduler", &self.scheduler.name()).finish()
    }
}

impl<S> Service<Request> for Atomic<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: IntoResponse + Send + 'static,
    S::Error: fmt::Display + Send + 'static,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = AtomicFuture<S::Future, S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let name = format!("{} {}", req.method(), req.uri().path());
        req.extensions_mut().insert(self.scheduler.clone());
        // The readied service handles this request; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let handler = inner.call(req);
        AtomicFuture::new(self.scheduler.job().name(name).spawn(handler))
    }
}
