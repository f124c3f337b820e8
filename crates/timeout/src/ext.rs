//! The builder methods and the `with_timeout` chain.

use std::time::Duration;

use more_executors_core::config::ConfigError;
use more_executors_core::metrics::Counter;
use more_executors_core::stage::submit_stage;
use more_executors_core::{ErrorOf, ExecutorBuilder, Handle, Lifecycle, OutputOf, SubmitExecutor};
use tokio::time::Instant;
use tower_layer::Stack;

use crate::{PerJob, Timeout, TimeoutFuture, TimeoutLayer};

/// Adds [`timeout`](Self::timeout) and [`timeout_per_job`](Self::timeout_per_job) to
/// [`ExecutorBuilder`].
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_timeout::TimeoutBuilderExt;
///
/// # fn main() -> Result<(), ConfigError> {
/// let exec = ExecutorBuilder::new()
///     .timeout(Duration::from_secs(30))?  // one deadline, counted from submission
///     .concurrency_limit(2)?              // so it includes time queued here
///     .build(BlockingPool::new(2)?);
/// assert_eq!(exec.submit(|| Ok::<_, ()>(1)).wait(), Ok(1));
/// # Ok(()) }
/// ```
pub trait TimeoutBuilderExt<L> {
    /// Adds a [`Timeout`] layer of `timeout`, inside the layers added so far.
    ///
    /// # Errors
    /// [`ConfigError`] when `timeout` is zero.
    fn timeout(self, timeout: Duration) -> Result<ExecutorBuilder<Stack<TimeoutLayer, L>>, ConfigError>;

    /// Adds a [`Timeout`] layer whose timeout is `f(&job)`.
    fn timeout_per_job<F>(self, f: F) -> ExecutorBuilder<Stack<TimeoutLayer<PerJob<F>>, L>>;
}

impl<L> TimeoutBuilderExt<L> for ExecutorBuilder<L> {
    fn timeout(self, timeout: Duration) -> Result<ExecutorBuilder<Stack<TimeoutLayer, L>>, ConfigError> {
        Ok(self.layer(TimeoutLayer::new(timeout)?))
    }

    fn timeout_per_job<F>(self, f: F) -> ExecutorBuilder<Stack<TimeoutLayer<PerJob<F>>, L>> {
        self.layer(TimeoutLayer::per_job(f))
    }
}

/// Adds timeouts to any executor with a method call: the `with_timeout` chain, and
/// [`submit_with_timeout`](Self::submit_with_timeout) for a one-off deadline.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_retry::{ExponentialBackoff, RetryExt};
/// use more_executors_timeout::TimeoutExt;
///
/// # fn main() -> Result<(), ConfigError> {
/// // Each attempt gets 5 s; the whole job, retries included, gets 20 s.
/// let exec = BlockingPool::new(2)?
///     .with_timeout(Duration::from_secs(5))?
///     .with_retry(ExponentialBackoff::new())
///     .with_timeout(Duration::from_secs(20))?;
/// assert_eq!(exec.submit(|| Ok::<_, std::io::Error>(1)).wait().unwrap(), 1);
/// # Ok(()) }
/// ```
pub trait TimeoutExt: Lifecycle + Sized {
    /// Wraps `self` in a [`Timeout`] of `timeout`.
    ///
    /// # Errors
    /// [`ConfigError`] when `timeout` is zero.
    fn with_timeout(self, timeout: Duration) -> Result<Timeout<Self>, ConfigError> {
        Timeout::new(self, timeout)
    }

    /// Wraps `self` in a [`Timeout`] whose timeout is `f(&job)`.
    fn with_timeout_per_job<F>(self, f: F) -> Timeout<Self, PerJob<F>> {
        Timeout::per_job(self, f)
    }

    /// Submits `job` with a deadline of `timeout` from now, on any executor: the handle
    /// resolves to [`Error::TimedOut`](more_executors_core::Error::TimedOut) if the job is not
    /// done in time, and the job's stage is then dropped (cancelled where it can be). On a
    /// [`Timeout`] executor, the inherent [`Timeout::submit_with_timeout`] replaces the
    /// layer's timeout instead of adding a second one.
    ///
    /// A zero `timeout` times the job out unless it is finished the first time it is
    /// polled.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::prelude::*;
    /// use more_executors_timeout::TimeoutExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let exec = AsyncExecutor::new();
    /// let h = exec.submit_with_timeout(|| std::future::pending::<Result<(), ()>>(), Duration::from_secs(3));
    /// assert_eq!(h.await, Err(Error::TimedOut(Duration::from_secs(3))));
    /// # }
    /// ```
    fn submit_with_timeout<J>(&self, job: J, timeout: Duration) -> Handle<OutputOf<Self, J>, ErrorOf<Self, J>>
    where
        Self: SubmitExecutor<J>,
    {
        let timeouts = Counter::new("more_executors_timeout_total", self.name());
        submit_stage(self, |ctx| {
            let start = Instant::now();
            let fut = self.call(job, ctx);
            TimeoutFuture::new(fut, start, timeout, self.runtime(), self.runs_inline(), timeouts)
        })
    }
}

impl<T: Lifecycle> TimeoutExt for T {}
