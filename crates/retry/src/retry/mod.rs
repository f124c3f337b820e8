//! The [`Retry`] executor: re-runs a failed job as the policy decides.

mod future;
mod layer;

pub use future::RetryFuture;
pub use layer::RetryLayer;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use more_executors_core::metrics::{Counter, Gauge};
use more_executors_core::stage::JobContext;
use more_executors_core::{Executor, Lifecycle};
use tokio_util::sync::CancellationToken;

use crate::budget::RetryBudget;

/// An executor that runs each job again, as its [`RetryPolicy`](crate::RetryPolicy) decides, until the policy
/// is done; the handle resolves to the last attempt's outcome.
///
/// See the [crate documentation](crate) for the rules (attempts, cancel, shutdown,
/// budget). Jobs must be `Clone` (each attempt runs a clone); the inner executor is held
/// in an `Arc`, so it need not be.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_retry::{ExponentialBackoff, RetryExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let policy = ExponentialBackoff::builder().sleep(Duration::from_millis(10)).build().unwrap();
/// let exec = AsyncExecutor::new().with_retry(policy);
/// let calls = Arc::new(AtomicU32::new(0));
/// let c = calls.clone();
/// let h = exec.submit(move || {
///     let n = c.fetch_add(1, SeqCst) + 1;
///     async move { if n < 3 { Err("flaky") } else { Ok(n) } }
/// });
/// assert_eq!(h.await, Ok(3), "the third attempt succeeded");
/// # }
/// ```
pub struct Retry<S, P> {
    inner: Arc<S>,
    shared: Arc<Shared<P>>,
    name: Option<Arc<str>>,
}

pub(crate) struct Shared<P> {
    pub(crate) policy: Arc<P>,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) waiting: AtomicUsize,
    pub(crate) metrics: RetryMetrics,
}

/// `more_executors_retry_total` (retries scheduled), `_retry_queue` (jobs waiting between
/// attempts) and `_retry_delay_total` (seconds of delay scheduled).
#[derive(Clone)]
pub(crate) struct RetryMetrics {
    pub(crate) retries: Counter,
    pub(crate) queue: Gauge,
    pub(crate) delay: Gauge,
}

impl RetryMetrics {
    fn new(executor: &str) -> Self {
        RetryMetrics {
            retries: Counter::new("more_executors_retry_total", executor),
            queue: Gauge::new("more_executors_retry_queue", executor),
            delay: Gauge::new("more_executors_retry_delay_total", executor),
        }
    }
}

impl<S, P> Clone for Retry<S, P> {
    fn clone(&self) -> Self {
        Retry { inner: self.inner.clone(), shared: self.shared.clone(), name: self.name.clone() }
    }
}

impl<S: fmt::Debug, P: fmt::Debug> fmt::Debug for Retry<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("inner", &self.inner)
            .field("policy", &self.shared.policy)
            .field("budget", &self.shared.budget)
            .field("waiting", &self.waiting())
            .field("name", &self.name)
            .finish()
    }
}

impl<S: Lifecycle, P> Retry<S, P> {
    /// Wraps `inner`, retrying by `policy`.
    pub fn new(inner: S, policy: P) -> Self {
        Self::from_parts(Arc::new(inner), Arc::new(policy), None, None)
    }

    pub(crate) fn from_parts(
        inner: Arc<S>,
        policy: Arc<P>,
        budget: Option<RetryBudget>,
        name: Option<Arc<str>>,
    ) -> Self {
        let metrics = RetryMetrics::new(name.as_deref().unwrap_or(inner.name()));
        let shared = Shared {
            policy,
            budget,
            shutdown: CancellationToken::new(),
            waiting: AtomicUsize::new(0),
            metrics,
        };
        Retry { inner, shared: Arc::new(shared), name }
    }

    fn rebuild(self, budget: Option<RetryBudget>, name: Option<Arc<str>>) -> Self {
        let shutdown = self.shared.shutdown.clone();
        let mut fresh = Self::from_parts(self.inner, self.shared.policy.clone(), budget, name);
        Arc::get_mut(&mut fresh.shared).expect("just built").shutdown = shutdown;
        fresh
    }

    /// Limits retries with `budget` (shared with every other holder of a clone of it).
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, Retry, RetryBudget};
    ///
    /// let exec = Retry::new(InlineExecutor::new(), ExponentialBackoff::new()).with_budget(RetryBudget::new());
    /// assert_eq!(exec.submit(|| Ok::<_, ()>(1)).wait(), Ok(1));
    /// ```
    pub fn with_budget(self, budget: RetryBudget) -> Self {
        let name = self.name.clone();
        self.rebuild(Some(budget), name)
    }

    /// Gives this layer its own name instead of inheriting the inner executor's.
    pub fn named(self, name: impl Into<Arc<str>>) -> Self {
        let budget = self.shared.budget.clone();
        self.rebuild(budget, Some(name.into()))
    }
}

impl<S, P> Retry<S, P> {
    /// The policy.
    pub fn policy(&self) -> &P {
        &self.shared.policy
    }

    /// The budget, if one was set.
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.shared.budget.as_ref()
    }

    /// How many jobs are waiting between two attempts now.
    pub fn waiting(&self) -> usize {
        self.shared.waiting.load(Ordering::Acquire)
    }

    /// The wrapped executor.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Lifecycle, P: Send + Sync + 'static> Lifecycle for Retry<S, P> {
    more_executors_core::forward_lifecycle!("retry", named, no_shutdown);

    /// Ends every job waiting between attempts with [`Error::ShutDown`](more_executors_core::Error::ShutDown)
    /// (no further attempt starts), then shuts the inner executor down. Attempts already
    /// running finish; if their outcome would be retried, the job ends with the shut-down
    /// error instead.
    fn shutdown(&self) {
        let waiting = self.waiting();
        self.shared.shutdown.cancel();
        tracing::debug!(executor = self.name(), waiting, "retry layer shut down; waiting jobs end");
        self.inner.shutdown();
    }
}

impl<S, J, P> Executor<J> for Retry<S, P>
where
    S: Executor<J> + 'static,
    J: Clone + Send + 'static,
    P: Send + Sync + 'static,
{
    type Future = RetryFuture<S::Future, J, P>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        RetryFuture::new(self.inner.clone(), job, ctx, self.shared.clone())
    }
}
