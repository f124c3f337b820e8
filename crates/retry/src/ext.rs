//! The builder method and the `with_retry` chain.

use more_executors_core::{ExecutorBuilder, Lifecycle};
use tower_layer::Stack;

use crate::{Retry, RetryLayer};

/// Adds [`retry`](Self::retry) to [`ExecutorBuilder`].
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_retry::{ExponentialBackoff, RetryBuilderExt};
///
/// # fn main() -> Result<(), ConfigError> {
/// let policy = ExponentialBackoff::builder().sleep(Duration::from_millis(1)).build()?;
/// let exec = ExecutorBuilder::new()
///     .retry(policy)            // outside: counts whole jobs
///     .concurrency_limit(4)?    // inside: counts each attempt
///     .build(BlockingPool::new(4)?);
/// assert_eq!(exec.submit(|| Ok::<_, ()>(5)).wait(), Ok(5));
/// # Ok(()) }
/// ```
pub trait RetryBuilderExt<L> {
    /// Adds a [`Retry`] layer with `policy`, inside the layers added so far.
    fn retry<P>(self, policy: P) -> ExecutorBuilder<Stack<RetryLayer<P>, L>>;

    /// Adds a prepared [`RetryLayer`] (with a budget, a name).
    fn retry_layer<P>(self, layer: RetryLayer<P>) -> ExecutorBuilder<Stack<RetryLayer<P>, L>>;
}

impl<L> RetryBuilderExt<L> for ExecutorBuilder<L> {
    fn retry<P>(self, policy: P) -> ExecutorBuilder<Stack<RetryLayer<P>, L>> {
        self.layer(RetryLayer::new(policy))
    }

    fn retry_layer<P>(self, layer: RetryLayer<P>) -> ExecutorBuilder<Stack<RetryLayer<P>, L>> {
        self.layer(layer)
    }
}

/// Wraps any executor in a [`Retry`] with a method call: `exec.with_retry(policy)`.
///
/// As with every `with_*` method, the last call is the outermost layer:
/// `pool.with_retry(p).with_concurrency_limit(4)` limits whole retrying jobs, while
/// `pool.with_concurrency_limit(4)?.with_retry(p)` limits attempts.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_retry::{ExponentialBackoff, RetryExt};
///
/// let exec = InlineExecutor::new().with_retry(ExponentialBackoff::new());
/// assert_eq!(exec.submit(|| Ok::<_, ()>("first try")).wait(), Ok("first try"));
/// ```
pub trait RetryExt: Lifecycle + Sized {
    /// Wraps `self` in a [`Retry`] with `policy`.
    fn with_retry<P>(self, policy: P) -> Retry<Self, P> {
        Retry::new(self, policy)
    }
}

impl<T: Lifecycle> RetryExt for T {}
