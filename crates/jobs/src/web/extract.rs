use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::scheduler::Scheduler;

/// The request had no [`Scheduler`] in its extensions: add `axum::Extension(scheduler)`
/// or an [`AtomicLayer`](super::AtomicLayer) to the route. Responds `500`.
///
/// ```
/// use axum::response::IntoResponse;
/// let response = more_executors_jobs::web::MissingScheduler.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingScheduler;

impl fmt::Display for MissingScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no Scheduler in the request extensions; add `.layer(axum::Extension(scheduler))` \
             or an AtomicLayer to the router",
        )
    }
}

impl std::error::Error for MissingScheduler {}

impl IntoResponse for MissingScheduler {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// Extracts the [`Scheduler`] from the request extensions.
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use more_executors_jobs::Scheduler;
///
/// async fn status(scheduler: Scheduler) -> String {
///     format!("{} active, {} pending", scheduler.active_count(), scheduler.pending_count())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::new();
/// let app: Router = Router::new().route("/status", get(status)).layer(Extension(scheduler));
/// # let _ = app;
/// # }
/// ```
impl<S: Send + Sync> FromRequestParts<S> for Scheduler {
    type Rejection = MissingScheduler;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Scheduler>().cloned().ok_or(MissingScheduler)
    }
}
