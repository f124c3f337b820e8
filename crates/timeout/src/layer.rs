use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::Lifecycle;
use more_executors_core::config::{ConfigError, secs_f64};
use tower_layer::Layer;

use crate::{PerJob, Timeout, check};

/// Layer producing [`Timeout`]: works with `tower::ServiceBuilder` and
/// [`ExecutorBuilder::layer`](more_executors_core::ExecutorBuilder::layer).
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_timeout::TimeoutLayer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// assert!(TimeoutLayer::new(Duration::ZERO).is_err(), "a zero timeout is rejected");
/// assert!(TimeoutLayer::from_secs_f64(f64::NAN).is_err());
///
/// let exec = tower::ServiceBuilder::new()
///     .layer(TimeoutLayer::new(Duration::from_millis(50)).unwrap())
///     .service(AsyncExecutor::new());
/// let h = exec.submit(|| std::future::pending::<Result<(), ()>>());
/// assert!(h.await.unwrap_err().is_timed_out());
/// # }
/// ```
#[derive(Clone)]
pub struct TimeoutLayer<D = Duration> {
    timeout: D,
    name: Option<Arc<str>>,
}

impl<D: fmt::Debug> fmt::Debug for TimeoutLayer<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutLayer").field("timeout", &self.timeout).field("name", &self.name).finish()
    }
}

impl TimeoutLayer {
    /// Every job gets `timeout`, measured from its submission.
    ///
    /// # Errors
    /// [`ConfigError`] when `timeout` is zero.
    pub fn new(timeout: Duration) -> Result<Self, ConfigError> {
        Ok(TimeoutLayer { timeout: check(timeout)?, name: None })
    }

    /// [`new`](Self::new) with the timeout in float seconds.
    ///
    /// # Errors
    /// [`ConfigError`] when `secs` is NaN, negative, infinite or zero.
    pub fn from_secs_f64(secs: f64) -> Result<Self, ConfigError> {
        Self::new(secs_f64("timeout", secs)?)
    }
}

impl<F> TimeoutLayer<PerJob<F>> {
    /// Each job gets the timeout `f(&job)`, measured from its submission. A zero result
    /// times the job out unless it is finished the first time it is polled; a panic in `f`
    /// fails that job with [`Error::Panicked`](more_executors_core::Error::Panicked) without
    /// running it.
    ///
    /// Useful with executors whose jobs are data (a request, a path) rather than
    /// closures; see [`Timeout::per_job`] for a complete example.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_timeout::TimeoutLayer;
    ///
    /// // Bigger uploads get more time.
    /// let layer = TimeoutLayer::per_job(|bytes: &Vec<u8>| Duration::from_millis(100 + bytes.len() as u64 / 1000));
    /// # let _ = layer;
    /// ```
    pub fn per_job(f: F) -> Self {
        TimeoutLayer { timeout: PerJob::new(f), name: None }
    }
}

impl<D> TimeoutLayer<D> {
    /// Names the executors this layer builds (default: the inner executor's name). The
    /// name labels their metrics and tracing events; it is set when the executor is built.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::prelude::*;
    /// use more_executors_timeout::TimeoutLayer;
    ///
    /// let layer = TimeoutLayer::new(Duration::from_secs(1)).unwrap().name("deadline");
    /// let exec = InlineExecutor::builder().name("inner").build().with_layer(layer);
    /// assert_eq!(exec.name(), "deadline");
    /// assert_eq!(exec.get_ref().name(), "inner");
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl<S: Lifecycle, D: Clone> Layer<S> for TimeoutLayer<D> {
    type Service = Timeout<S, D>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout::from_parts(inner, self.timeout.clone(), self.name.clone())
    }
}
