//! The retry layer of more-executors: run a failed job again, as a policy decides.
//!
//! [`Retry`] wraps any executor. Each attempt is a fresh submission of a clone of the job
//! to the inner executor, so everything inside the retry (a concurrency limit, a timeout,
//! a poll layer) sees each attempt as a job of its own. Between attempts the job waits on a
//! timer inside its own stage future: no thread and no extra task.
//!
//! # Semantics
//! - **Attempts.** After each attempt the [`RetryPolicy`] is asked, with the attempt number
//!   (1 for the first), the time since submission and the attempt's outcome, and answers
//!   done or "retry after this delay". The handle resolves to the outcome of the last
//!   attempt. The default policy, [`ExponentialBackoff`], makes 3 attempts with delays of
//!   1 s and 2 s and retries job errors, panics and timeouts.
//! - **Always final**, whatever the policy: [`Error::Cancelled`] (an attempt cancelled by
//!   someone else ends the retrying handle as cancelled) and [`Error::ShutDown`].
//! - **Cancel.** While a job waits between attempts, cancel succeeds at once and no further
//!   attempt starts. During an attempt, cancel is decided by the inner stage; if the inner
//!   stage refuses (a blocking job already running), the job is not retried any more: the
//!   running attempt's outcome is final.
//! - **Shutdown.** [`Lifecycle::shutdown`] ends every job waiting between attempts with
//!   [`Error::ShutDown`] at once; a running attempt finishes, and if the policy would retry
//!   it, the job ends with [`Error::ShutDown`] too. No attempt starts after shutdown.
//! - **Policy panics** fail the job with [`Error::Panicked`] (no further attempt; a job whose
//!   policy panics in [`RetryPolicy::start`] does not run), and a `tracing` error is logged.
//! - **Budget** (optional, [`RetryBudget`]): retries are capped at a fraction of recent
//!   jobs, across the whole executor; a retry the budget refuses leaves the attempt's
//!   outcome final and logs a warning.
//!
//! # Order matters
//! A concurrency limit *inside* the retry counts attempts: a job waiting between attempts
//! holds no slot, so other jobs run meanwhile. A limit *outside* the retry counts whole
//! jobs: a job keeps its slot through its delays. The same holds for a timeout: inside, each
//! attempt has its own deadline (and a timed-out attempt is retried); outside, one deadline
//! covers every attempt and delay.
//!
//! ```
//! use std::time::Duration;
//! use more_executors_core::prelude::*;
//! use more_executors_retry::{ExponentialBackoff, RetryBuilderExt};
//!
//! # fn main() -> Result<(), ConfigError> {
//! let policy = ExponentialBackoff::builder()
//!     .max_attempts(5)
//!     .sleep(Duration::from_millis(10))
//!     .jitter(0.5)
//!     .build()?;
//! let exec = ExecutorBuilder::new()
//!     .retry(policy)
//!     .concurrency_limit(4)? // at most 4 attempts run at once
//!     .build(BlockingPool::new(4)?);
//! let h = exec.submit(|| std::fs::read_to_string("/definitely/missing"));
//! assert!(h.wait().unwrap_err().is_job(), "5 attempts, then the last error");
//! # Ok(()) }
//! ```
//!
//! # One call, no executor
//! [`retry`](fn@retry) retries one call in place, with the same policies and semantics:
//! `retry(policy, || client.get(url)).await`.
//!
//! # Tracing and metrics
//! Each scheduled retry emits a `debug` event "retry scheduled" with the attempt number,
//! the delay and the error (inside the job's span, which names the executor). With the
//! `metrics` feature the layer reports `more_executors_retry_total` (retries scheduled),
//! `more_executors_retry_queue` (jobs waiting between attempts) and
//! `more_executors_retry_delay_total` (seconds of delay scheduled), labelled `executor`.
//!
//! # Requirements
//! Jobs must be `Clone` (each attempt runs a clone); the job's error type must be `Debug` (it is
//! logged with each retry).
//!
//! # Layout
//! This crate is one layer, laid out like every layer module of `more-executors-core`
//! (its `map` module, say): the crate root holds the executor, [`Retry`]; `layer.rs` its
//! [`RetryLayer`]; `future.rs` its stage future, [`RetryFuture`]; and beside them what is
//! particular to retrying: the [`policy`] module, the budget and the one-call [`retry`](fn@retry).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod budget;
mod ext;
mod future;
mod layer;
mod oneshot;
pub mod policy;
mod shared;

pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use ext::{RetryBuilderExt, RetryExt};
pub use future::RetryFuture;
pub use layer::RetryLayer;
pub use oneshot::retry;
pub use policy::{
    Attempt, DefaultRetryIf, ExponentialBackoff, ExponentialBackoffBuilder, RetryDecision, RetryIf,
    RetryPolicy, Schedule,
};

#[doc(no_inline)]
pub use more_executors_core::{Error, Lifecycle};

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use more_executors_core::Executor;
use more_executors_core::stage::JobContext;

use crate::shared::Shared;

/// An executor that runs each job again, as its [`RetryPolicy`] decides, until the policy
/// is done; the handle resolves to the last attempt's outcome.
///
/// See the [crate documentation](crate) for the rules (attempts, cancel, shutdown,
/// budget). Jobs must be `Clone` (each attempt runs a clone); the inner executor is held
/// in an `Arc` shared with the jobs in flight, so it need not be `Clone`. A budget or a
/// name of its own is given when the executor is built, with [`RetryLayer`].
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
    /// The layer's state and the inner executor, shared with the jobs in flight.
    shared: Arc<Shared<P, S>>,
    name: Option<Arc<str>>,
}

impl<S, P> Clone for Retry<S, P> {
    fn clone(&self) -> Self {
        Retry { shared: self.shared.clone(), name: self.name.clone() }
    }
}

impl<S: fmt::Debug, P: fmt::Debug> fmt::Debug for Retry<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("inner", &self.shared.inner)
            .field("policy", &self.shared.policy)
            .field("budget", &self.shared.budget)
            .field("waiting", &self.waiting())
            .field("name", &self.name)
            .finish()
    }
}

impl<S: Lifecycle, P> Retry<S, P> {
    /// Wraps `inner`, retrying by `policy`, with no budget and the inner executor's name.
    /// (For a budget or a name of its own, build it with [`RetryLayer`].)
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, Retry};
    ///
    /// let exec = Retry::new(InlineExecutor::new(), ExponentialBackoff::new());
    /// assert_eq!(exec.submit(|| Ok::<_, ()>(1)).wait(), Ok(1));
    /// assert_eq!(exec.name(), "default", "named after the inner executor");
    /// ```
    pub fn new(inner: S, policy: P) -> Self {
        Self::from_parts(inner, Arc::new(policy), None, None)
    }

    /// The executor [`RetryLayer`] builds: `name` labels its metrics and tracing when given,
    /// else the inner executor's name does.
    pub(crate) fn from_parts(
        inner: S,
        policy: Arc<P>,
        budget: Option<RetryBudget>,
        name: Option<Arc<str>>,
    ) -> Self {
        Retry { shared: Arc::new(Shared::new(policy, budget, name.as_deref(), inner)), name }
    }
}

impl<S, P> Retry<S, P> {
    /// The policy.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryExt};
    ///
    /// let exec = InlineExecutor::new().with_retry(ExponentialBackoff::new());
    /// assert_eq!(exec.policy().max_attempts(), 3);
    /// ```
    pub fn policy(&self) -> &P {
        &self.shared.policy
    }

    /// The budget, if one was set.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryBudget, RetryExt, RetryLayer};
    ///
    /// assert!(InlineExecutor::new().with_retry(ExponentialBackoff::new()).budget().is_none());
    /// let layer = RetryLayer::new(ExponentialBackoff::new()).budget(RetryBudget::new());
    /// assert!(InlineExecutor::new().with_layer(layer).budget().is_some());
    /// ```
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.shared.budget.as_ref()
    }

    /// How many jobs are waiting between two attempts now.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryExt};
    ///
    /// let exec = InlineExecutor::new().with_retry(ExponentialBackoff::new());
    /// assert_eq!(exec.waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.shared.waiting.count.load(Ordering::Acquire)
    }

    /// The wrapped executor.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryExt};
    ///
    /// let exec = InlineExecutor::builder().name("here").build().with_retry(ExponentialBackoff::new());
    /// let inner: &InlineExecutor = exec.get_ref();
    /// assert_eq!(inner.name(), "here");
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.shared.inner
    }

    /// The wrapped executor, mutably, when this `Retry` is its only holder: `None` while a
    /// clone of it or a job still in flight (which holds the inner executor to start its
    /// next attempt) shares it.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryExt};
    ///
    /// let mut exec = InlineExecutor::new().with_retry(ExponentialBackoff::new());
    /// assert!(exec.get_mut().is_some());
    /// let clone = exec.clone();
    /// assert!(exec.get_mut().is_none(), "shared with the clone");
    /// drop(clone);
    /// let inner: Option<&mut InlineExecutor> = exec.get_mut();
    /// assert!(inner.is_some());
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut S> {
        Arc::get_mut(&mut self.shared).map(|shared| &mut shared.inner)
    }

    /// Unwraps the inner executor when this `Retry` is its only holder; otherwise gives
    /// `self` back unchanged (see [`get_mut`](Self::get_mut)). Jobs already submitted are
    /// unaffected: one that still needs the inner executor shares it, and then this gives
    /// `self` back. Unwrapping does not shut the inner executor down.
    ///
    /// # Errors
    /// `self`, when a clone of it or a job in flight still shares the inner executor.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_retry::{ExponentialBackoff, RetryExt};
    ///
    /// let exec = InlineExecutor::builder().name("here").build().with_retry(ExponentialBackoff::new());
    /// let clone = exec.clone();
    /// let exec = exec.into_inner().unwrap_err();
    /// drop(clone);
    /// let inner: InlineExecutor = exec.into_inner().unwrap();
    /// assert_eq!(inner.name(), "here");
    /// ```
    pub fn into_inner(self) -> Result<S, Self> {
        let Retry { shared, name } = self;
        Arc::try_unwrap(shared).map(|shared| shared.inner).map_err(|shared| Retry { shared, name })
    }
}

impl<S: Lifecycle, P: Send + Sync + 'static> Lifecycle for Retry<S, P> {
    fn name(&self) -> &str {
        match &self.name {
            Some(n) => n,
            None => self.shared.inner.name(),
        }
    }

    fn kind(&self) -> &'static str {
        "retry"
    }

    fn runtime(&self) -> &more_executors_core::Runtime {
        self.shared.inner.runtime()
    }

    fn runs_inline(&self) -> bool {
        self.shared.inner.runs_inline()
    }

    fn capacity(&self) -> Option<more_executors_core::limit::Capacity> {
        self.shared.inner.capacity()
    }

    /// Ends every job waiting between attempts with [`Error::ShutDown`] (no further attempt
    /// starts), then shuts the inner executor down. Attempts already running finish; if
    /// their outcome would be retried, the job ends with the shut-down error instead.
    fn shutdown(&self) {
        let waiting = self.waiting();
        self.shared.shut_down();
        tracing::debug!(executor = self.name(), waiting, "retry layer shut down; waiting jobs end");
        self.shared.inner.shutdown();
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
        RetryFuture::new(self.shared.clone(), job, ctx)
    }
}
