//! The timeout layer of more-executors: a deadline for every job.
//!
//! [`Timeout`] wraps any executor; [`timeout`](fn@timeout) gives a deadline to a handle you
//! already have; [`timeout_after`] gives one to any future, with no executor (the argument
//! order of `tokio::time::timeout`).
//!
//! # Semantics
//! - **Deadline.** A job's handle resolves to [`Error::TimedOut`] (carrying the timeout)
//!   if the job is not done within the timeout, measured from its **submission**: from the
//!   moment the layer builds the job's stage future. Time the job spends queued in a
//!   concurrency limit inside the timeout counts; put the timeout inside the limit to time
//!   only the running job.
//! - **Expiry** drops the inner stage future, which cancels the job as far as the inner
//!   stage allows: an async job stops at its next `.await`, a queued job never starts. A
//!   blocking job already running on a thread cannot be stopped: it runs to the end, its
//!   result is discarded, and the handle still reports timed out.
//! - **Timers.** The inner stage is polled before the timer, and the timer is only created
//!   when the job is found pending, so a job that finishes at once never touches the timer
//!   wheel; each job has at most one timer, inside its stage future (no task).
//! - **Per job.** [`TimeoutLayer::per_job`] computes the timeout from each job;
//!   [`Timeout::submit_with_timeout`] (or [`TimeoutExt::submit_with_timeout`] on any executor)
//!   gives one submission its own.
//! - **Cancel and shutdown** pass straight to the inner stage; the timeout adds no rule.
//! - **Bad values.** A zero, negative or NaN timeout is rejected when the layer is built
//!   ([`ConfigError`]); a per-job or per-submission zero
//!   gives the job no time (it times out unless finished at its first poll).
//!
//! # Order matters
//! With a retry layer, a timeout *inside* the retry gives each attempt its own deadline,
//! and a timed-out attempt is retried (the default retry policy retries timeouts); a
//! timeout *outside* the retry is one deadline for the whole job, delays included.
//!
//! ```
//! use std::time::Duration;
//! use more_executors_core::prelude::*;
//! use more_executors_timeout::TimeoutBuilderExt;
//!
//! # fn main() -> Result<(), ConfigError> {
//! let exec = ExecutorBuilder::new()
//!     .timeout(Duration::from_millis(50))?
//!     .build(BlockingPool::new(1)?);
//! let slow = exec.submit(|| { std::thread::sleep(Duration::from_millis(500)); Ok::<_, ()>("late") });
//! assert!(slow.wait().unwrap_err().is_timed_out(), "reported at the deadline, not after 500 ms");
//! # Ok(()) }
//! ```
//!
//! # Tracing and metrics
//! A timed-out job emits a `debug` event "job timed out" inside its span. With the
//! `metrics` feature, `more_executors_timeout_total` counts timed-out jobs, labelled
//! `executor`.
//!
//! # Layout
//! This crate is one layer, laid out like every layer module of `more-executors-core`
//! (its `map` module, say): the crate root holds the executor, [`Timeout`]; `layer.rs` its
//! [`TimeoutLayer`]; `future.rs` its stage future, [`TimeoutFuture`]; and beside them what
//! is particular to timeouts: [`JobTimeout`] (fixed or [`PerJob`]), the handle combinator
//! [`timeout`](fn@timeout) and the one-call [`timeout_after`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod combinator;
mod ext;
mod future;
mod job_timeout;
mod layer;
mod oneshot;

pub use combinator::timeout;
pub use ext::{TimeoutBuilderExt, TimeoutExt};
pub use future::TimeoutFuture;
pub use job_timeout::{JobTimeout, PerJob};
pub use layer::TimeoutLayer;
pub use oneshot::timeout_after;

#[doc(no_inline)]
pub use more_executors_core::Error;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::config::{ConfigError, nonzero_duration, secs_f64};
use more_executors_core::metrics::Counter;
use more_executors_core::stage::{JobContext, catch_panic, submit_stage};
use more_executors_core::{ErrorOf, Executor, Handle, Lifecycle, OutputOf, SubmitExecutor};
use tokio::time::Instant;

/// An executor whose jobs resolve to [`Error::TimedOut`]
/// when not done in time.
///
/// See the [crate documentation](crate) for the rules. `D` is the timeout: a fixed
/// [`Duration`] (the default) or a [`PerJob`] function.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_timeout::TimeoutExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let exec = AsyncExecutor::new().with_timeout(Duration::from_secs(1)).unwrap();
/// let slow = exec.submit(|| async {
///     tokio::time::sleep(Duration::from_secs(5)).await;
///     Ok::<_, ()>("late")
/// });
/// assert_eq!(slow.await, Err(Error::TimedOut(Duration::from_secs(1))));
/// # }
/// ```
#[derive(Clone)]
pub struct Timeout<S, D = Duration> {
    inner: S,
    timeout: D,
    name: Option<Arc<str>>,
    timeouts: Counter,
}

impl<S: fmt::Debug, D: fmt::Debug> fmt::Debug for Timeout<S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("inner", &self.inner)
            .field("timeout", &self.timeout)
            .field("name", &self.name)
            .finish()
    }
}

fn counter(executor: &str) -> Counter {
    Counter::new("more_executors_timeout_total", executor)
}

pub(crate) fn check(d: Duration) -> Result<Duration, ConfigError> {
    nonzero_duration("timeout", d).map_err(|_| {
        ConfigError::new("timeout", "a zero timeout would fail every job; use a positive duration")
    })
}

impl<S: Lifecycle> Timeout<S> {
    /// Wraps `inner`: every job gets `timeout`, measured from its submission. The executor
    /// takes the inner executor's name (for a name of its own, build it with
    /// [`TimeoutLayer`]).
    ///
    /// # Errors
    /// [`ConfigError`] when `timeout` is zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::prelude::*;
    /// use more_executors_timeout::Timeout;
    ///
    /// assert!(Timeout::new(InlineExecutor::new(), Duration::ZERO).is_err());
    /// let exec = Timeout::new(InlineExecutor::new(), Duration::from_secs(1)).unwrap();
    /// assert_eq!(exec.submit(|| Ok::<_, ()>(1)).wait(), Ok(1));
    /// ```
    pub fn new(inner: S, timeout: Duration) -> Result<Self, ConfigError> {
        Ok(Self::from_parts(inner, check(timeout)?, None))
    }

    /// [`new`](Self::new) with the timeout in float seconds.
    ///
    /// # Errors
    /// [`ConfigError`] when `secs` is NaN, negative, infinite or zero.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_timeout::Timeout;
    ///
    /// assert!(Timeout::from_secs_f64(InlineExecutor::new(), f64::NAN).is_err());
    /// assert!(Timeout::from_secs_f64(InlineExecutor::new(), 0.5).is_ok());
    /// ```
    pub fn from_secs_f64(inner: S, secs: f64) -> Result<Self, ConfigError> {
        Self::new(inner, secs_f64("timeout", secs)?)
    }
}

impl<S: Lifecycle, F> Timeout<S, PerJob<F>> {
    /// Each job gets the timeout `f(&job)`, measured from its submission (see [`PerJob`]).
    /// A panic in `f` fails that job with
    /// [`Error::Panicked`] without running it.
    ///
    /// A function of the job is useful when jobs are data, as with an executor of your own:
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::stage::JobContext;
    /// use more_executors_timeout::Timeout;
    ///
    /// /// A request that says how long it may take.
    /// struct Request { work: Duration, deadline: Duration }
    ///
    /// #[derive(Clone)]
    /// struct Worker { inner: AsyncExecutor, name: Option<Arc<str>> }
    /// impl Lifecycle for Worker { more_executors_core::forward_lifecycle!("worker"); }
    /// impl Executor<Request> for Worker {
    ///     type Future = Pin<Box<dyn Future<Output = Result<Duration, Error<()>>> + Send>>;
    ///     fn call(&self, req: Request, _: &JobContext) -> Self::Future {
    ///         Box::pin(async move { tokio::time::sleep(req.work).await; Ok(req.work) })
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let worker = Worker { inner: AsyncExecutor::new(), name: None };
    /// let exec = Timeout::per_job(worker, |r: &Request| r.deadline);
    /// let secs = Duration::from_secs;
    /// let quick = exec.submit(Request { work: secs(1), deadline: secs(2) });
    /// let slow = exec.submit(Request { work: secs(3), deadline: secs(2) });
    /// assert_eq!(quick.await, Ok(secs(1)));
    /// assert_eq!(slow.await, Err(Error::TimedOut(secs(2))));
    /// # }
    /// ```
    pub fn per_job(inner: S, f: F) -> Self {
        Self::from_parts(inner, PerJob::new(f), None)
    }
}

impl<S: Lifecycle, D> Timeout<S, D> {
    /// The executor [`TimeoutLayer`] builds: `name` labels its metrics and tracing when
    /// given, else the inner executor's name does.
    pub(crate) fn from_parts(inner: S, timeout: D, name: Option<Arc<str>>) -> Self {
        let timeouts = counter(name.as_deref().unwrap_or(inner.name()));
        Timeout { inner, timeout, name, timeouts }
    }

    /// Submits `job` with its own timeout `timeout` instead of this layer's.
    ///
    /// A zero `timeout` times the job out unless it is finished the first time it is
    /// polled. After shutdown the handle is already failed with
    /// [`Error::ShutDown`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::prelude::*;
    /// use more_executors_timeout::TimeoutExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let exec = AsyncExecutor::new().with_timeout(Duration::from_secs(60)).unwrap();
    /// let job = || async { tokio::time::sleep(Duration::from_secs(2)).await; Ok::<_, ()>(()) };
    /// let h = exec.submit_with_timeout(job, Duration::from_secs(1));
    /// assert!(h.await.unwrap_err().is_timed_out());
    /// # }
    /// ```
    pub fn submit_with_timeout<J>(&self, job: J, timeout: Duration) -> Handle<OutputOf<S, J>, ErrorOf<S, J>>
    where
        S: SubmitExecutor<J>,
        D: Send + Sync,
    {
        submit_stage(self, |ctx| self.stage(Instant::now(), job, ctx, timeout))
    }

    /// The stage future of `job`, submitted at `start`, with `timeout`.
    fn stage<J>(
        &self,
        start: Instant,
        job: J,
        ctx: &JobContext,
        timeout: Duration,
    ) -> TimeoutFuture<S::Future>
    where
        S: Executor<J>,
    {
        let fut = self.inner.call(job, ctx);
        TimeoutFuture::new(
            fut,
            start,
            timeout,
            self.inner.runtime(),
            self.inner.runs_inline(),
            self.timeouts.clone(),
        )
    }
}

impl<S, D> Timeout<S, D> {
    /// The timeout: a [`Duration`], or the [`PerJob`] function.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::prelude::*;
    /// use more_executors_timeout::TimeoutExt;
    ///
    /// let exec = InlineExecutor::new().with_timeout(Duration::from_secs(3)).unwrap();
    /// assert_eq!(*exec.timeout(), Duration::from_secs(3));
    /// ```
    pub fn timeout(&self) -> &D {
        &self.timeout
    }

    more_executors_core::stage::inner_accessors! {
        /// use std::time::Duration;
        /// use more_executors_core::prelude::*;
        /// use more_executors_timeout::TimeoutExt;
        ///
        /// let inner = InlineExecutor::builder().name("here").build();
        /// let exec = inner.with_timeout(Duration::from_secs(1)).unwrap();
        executor: S,
        inner: InlineExecutor,
        check: { assert_eq!(inner.name(), "here"); },
        submitted: "they keep their deadlines",
    }
}

impl<S: Lifecycle, D: Send + Sync> Lifecycle for Timeout<S, D> {
    more_executors_core::forward_lifecycle!("timeout", named);
}

impl<S, D, J> Executor<J> for Timeout<S, D>
where
    S: Executor<J>,
    D: JobTimeout<J>,
{
    type Future = TimeoutFuture<S::Future>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        let start = Instant::now();
        let timeout = match catch_panic(|| self.timeout.timeout_for(&job)) {
            Ok(d) => d,
            Err(panic) => {
                tracing::error!(panic = %panic, "the per-job timeout function panicked; the job does not run");
                return TimeoutFuture::panicked(panic, self.timeouts.clone());
            }
        };
        self.stage(start, job, ctx, timeout)
    }
}
