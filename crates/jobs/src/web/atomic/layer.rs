use std::fmt;

use tower_layer::Layer;

use super::Atomic;
use crate::scheduler::Scheduler;

/// Layer producing [`Atomic`]: runs each request's handler as a job of the scheduler (see
/// [`Atomic`] for the rules).
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
        Atomic::new(inner, self.scheduler.clone())
    }
}
