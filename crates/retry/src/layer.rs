use std::fmt;
use std::sync::Arc;

use more_executors_core::Lifecycle;
use tower_layer::Layer;

use crate::Retry;
use crate::budget::RetryBudget;

/// Layer producing [`Retry`]: works with `tower::ServiceBuilder` and
/// [`ExecutorBuilder::layer`](more_executors_core::ExecutorBuilder::layer).
///
/// Every executor this layer builds shares its policy and its budget (if any); each has
/// its own shutdown. The layer is also how a [`Retry`] gets a budget or a name of its own:
/// both are set when the executor is built.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_retry::{ExponentialBackoff, RetryLayer};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let exec = tower::ServiceBuilder::new()
///     .layer(RetryLayer::new(ExponentialBackoff::new()))
///     .service(AsyncExecutor::new());
/// let h = exec.submit(|| async { Err::<(), _>("always fails") });
/// assert_eq!(h.await.unwrap_err().into_job_error(), Some("always fails"));
/// # }
/// ```
pub struct RetryLayer<P> {
    policy: Arc<P>,
    budget: Option<RetryBudget>,
    name: Option<Arc<str>>,
}

impl<P> Clone for RetryLayer<P> {
    fn clone(&self) -> Self {
        RetryLayer { policy: self.policy.clone(), budget: self.budget.clone(), name: self.name.clone() }
    }
}

impl<P: fmt::Debug> fmt::Debug for RetryLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer")
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .field("name", &self.name)
            .finish()
    }
}

impl<P> RetryLayer<P> {
    /// A layer retrying by `policy`, with no budget; its executors take the inner
    /// executor's name.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryLayer};
    ///
    /// let exec = InlineExecutor::new().with_layer(RetryLayer::new(ExponentialBackoff::new()));
    /// assert_eq!(exec.submit(|| Ok::<_, ()>(1)).wait(), Ok(1));
    /// ```
    pub fn new(policy: P) -> Self {
        RetryLayer { policy: Arc::new(policy), budget: None, name: None }
    }

    /// Limits retries with `budget`, shared by every executor this layer builds (and by
    /// every other holder of a clone of it).
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryBudget, RetryLayer};
    ///
    /// let layer = RetryLayer::new(ExponentialBackoff::new()).budget(RetryBudget::new());
    /// let exec = InlineExecutor::new().with_layer(layer);
    /// assert!(exec.budget().is_some());
    /// assert_eq!(exec.submit(|| Ok::<_, ()>(1)).wait(), Ok(1));
    /// ```
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Names the executors this layer builds (default: the inner executor's name). The
    /// name labels their metrics and tracing events.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryLayer};
    ///
    /// let exec = InlineExecutor::builder().name("inner").build()
    ///     .with_layer(RetryLayer::new(ExponentialBackoff::new()).name("retrying"));
    /// assert_eq!(exec.name(), "retrying");
    /// assert_eq!(exec.get_ref().name(), "inner");
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl<S: Lifecycle, P> Layer<S> for RetryLayer<P> {
    type Service = Retry<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        Retry::from_parts(inner, self.policy.clone(), self.budget.clone(), self.name.clone())
    }
}
