//! Run each request's handler as a job ([`Atomic`]), so a client that disconnects does not
//! cancel work that must land (aiojobs' `atomic`).

mod future;
mod layer;

pub use future::AtomicFuture;
pub use layer::AtomicLayer;

use std::fmt;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::IntoResponse;
use tower_service::Service;

use crate::scheduler::Scheduler;

/// A service that runs each request's handler (the inner service's call) as a job of the
/// scheduler: the response future the server holds only waits for the job, so when the
/// client disconnects (and the server drops that future) the handler still runs to
/// completion. Errors and panics of a handler whose client has gone reach the scheduler's
/// error handler.
///
/// The job is named `"METHOD /path"`, counts toward the limit and may wait in the queue
/// (and for room in a full queue). When the scheduler is closed the response is
/// `503 Service Unavailable`; when the handler panics, `500 Internal Server Error`. The
/// service also puts the scheduler into the request extensions, so handlers can extract it.
/// Readiness is the inner service's.
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
pub struct Atomic<S> {
    inner: S,
    scheduler: Scheduler,
}

impl<S> fmt::Debug for Atomic<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Atomic").field("scheduler", &self.scheduler.name()).finish()
    }
}

impl<S> Atomic<S> {
    /// Wraps `inner`: its calls run as jobs of `scheduler`.
    ///
    /// ```
    /// use axum::{body::Body, http::Request, routing::{MethodRouter, get}};
    /// use more_executors_jobs::Scheduler;
    /// use more_executors_jobs::web::Atomic;
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let handler: MethodRouter = get(|| async { "ok" });
    /// let svc = Atomic::new(handler, Scheduler::new());
    /// let response = svc.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(response.status(), 200);
    /// # }
    /// ```
    pub fn new(inner: S, scheduler: Scheduler) -> Self {
        Atomic { inner, scheduler }
    }

    more_executors_core::stage::inner_accessors! {
        /// use axum::{Router, routing::get};
        /// use more_executors_jobs::Scheduler;
        /// use more_executors_jobs::web::Atomic;
        ///
        /// let exec = Atomic::new(Router::new().route("/", get(|| async { "ok" })), Scheduler::new());
        service: S,
        inner: Router,
        check: { assert!(inner.has_routes()); },
        submitted: "their handlers run to completion",
    }

    /// The scheduler the handlers run on.
    ///
    /// ```
    /// use more_executors_jobs::Scheduler;
    /// use more_executors_jobs::web::Atomic;
    ///
    /// let scheduler = Scheduler::builder().name("web").build().unwrap();
    /// let svc = Atomic::new((), scheduler);
    /// assert_eq!(svc.scheduler().name(), "web");
    /// ```
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
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
