use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use more_executors_core::Error;

use crate::scheduler::Spawn;
use crate::scheduler::spawned::SpawnedJob;

/// Response future of [`Atomic`](super::Atomic): waits for the handler's job. Dropping it
/// (the client went away) detaches the job, which runs on.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use more_executors_jobs::{Scheduler, web::AtomicLayer};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new().route("/", get(|| async { "ok" })).layer(AtomicLayer::new(Scheduler::new()));
/// let response = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
pub struct AtomicFuture<F, R, E> {
    job: SpawnedJob<F, R, E>,
}

// Nothing is pinned: the spawn future and the job handle are moved freely.
impl<F, R, E> Unpin for AtomicFuture<F, R, E> {}

impl<F, R, E> fmt::Debug for AtomicFuture<F, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicFuture").field("state", &self.job.describe()).finish()
    }
}

impl<F, R, E> AtomicFuture<F, R, E> {
    pub(super) fn new(spawn: Spawn<F, R, E>) -> Self {
        AtomicFuture { job: SpawnedJob::Spawning(spawn) }
    }
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down; retry later").into_response()
}

impl<F, R, E> Future for AtomicFuture<F, R, E>
where
    F: Future<Output = Result<R, E>> + Send + 'static,
    R: IntoResponse + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A scheduler that refuses the handler is shutting down.
        let Ok(out) = ready!(self.job.poll_job(cx)) else {
            return Poll::Ready(Ok(unavailable()));
        };
        Poll::Ready(match out {
            Ok(r) => Ok(r.into_response()),
            Err(Error::Job(e)) => Err(e),
            Err(Error::Panicked(m)) => {
                tracing::error!(panic = %m, "a request handler panicked");
                Ok((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
            }
            Err(_) => Ok(unavailable()),
        })
    }
}
