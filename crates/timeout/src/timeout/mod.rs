//! The [`Timeout`] executor: a deadline for every job.

mod future;
mod layer;

pub use future::TimeoutFuture;
pub use layer::TimeoutLayer;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::config::{ConfigError, nonzero_duration, secs_f64};
use more_executors_core::metrics::Counter;
use more_executors_core::stage::{JobContext, catch_panic, submit_stage};
use more_executors_core::{ErrorOf, Executor, Handle, Lifecycle, OutputOf, SubmitExecutor};
use tokio::time::Instant;

/// How long a job may take: a fixed [`Duration`], or a function of the job ([`PerJob`]).
///
/// ```
/// use std::time::Duration;
/// use more_executors_timeout::{JobTimeout, PerJob};
///
/// let fixed = Duration::from_secs(2);
/// assert_eq!(JobTimeout::<&str>::timeout_for(&fixed, &"any job"), Duration::from_secs(2));
/// let by_size = PerJob::new(|job: &Vec<u8>| Duration::from_millis(10 * job.len() as u64));
/// assert_eq!(by_size.timeout_for(&vec![0; 3]), Duration::from_millis(30));
/// ```
pub trait JobTimeout<J>: Clone + Send + Sync + 'static {
    /// The timeout of `job`, measured from its submission.
    fn timeout_for(&self, job: &J) -> Duration;
}

impl<J> JobTimeout<J> for Duration {
    fn timeout_for(&self, _: &J) -> Duration {
        *self
    }
}

/// A timeout computed from each job by a function (see [`TimeoutLayer::per_job`]).
///
/// A function that returns [`Duration::ZERO`] for a job gives it no time at all: the job
/// times out unless it is finished the first time it is polled.
pub struct PerJob<F> {
    f: Arc<F>,
}

impl<F> PerJob<F> {
    /// Wraps `f`.
    pub fn new(f: F) -> Self {
        PerJob { f: Arc::new(f) }
    }
}

impl<F> Clone for PerJob<F> {
    fn clone(&self) -> Self {
        PerJob { f: self.f.clone() }
    }
}

impl<F> fmt::Debug for PerJob<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PerJob(..)")
    }
}

impl<J, F> JobTimeout<J> for PerJob<F>
where
    F: Fn(&J) -> Duration + Send + Sync + 'static,
{
    fn timeout_for(&self, job: &J) -> Duration {
        (self.f)(job)
    }
}

/// An executor whose jobs resolve to [`Error::TimedOut`](more_executors_core::Error::TimedOut)
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
    /// Every job gets `timeout`, measured from its submission.
    ///
    /// # Errors
    /// [`ConfigError`] when `timeout` is zero.
    pub fn new(inner: S, timeout: Duration) -> Result<Self, ConfigError> {
        Ok(Self::from_parts(inner, check(timeout)?, None))
    }

    /// [`new`](Self::new) with the timeout in float seconds.
    ///
    /// # Errors
    /// [`ConfigError`] when `secs` is NaN, negative, infinite or zero.
    pub fn from_secs_f64(inner: S, secs: f64) -> Result<Self, ConfigError> {
        Self::new(inner, secs_f64("timeout", secs)?)
    }
}

impl<S: Lifecycle, F> Timeout<S, PerJob<F>> {
    /// Each job gets the timeout `f(&job)`, measured from its submission (see [`PerJob`]).
    /// A panic in `f` fails that job with
    /// [`Error::Panicked`](more_executors_core::Error::Panicked) without running it.
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
    pub(crate) fn from_parts(inner: S, timeout: D, name: Option<Arc<str>>) -> Self {
        let timeouts = counter(name.as_deref().unwrap_or(inner.name()));
        Timeout { inner, timeout, name, timeouts }
    }

    /// Gives this layer its own name instead of inheriting the inner executor's.
    pub fn named(mut self, name: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        self.timeouts = counter(&name);
        self.name = Some(name);
        self
    }

    /// Submits `job` with its own timeout `timeout` instead of this layer's.
    ///
    /// A zero `timeout` times the job out unless it is finished the first time it is
    /// polled. After shutdown the handle is already failed with
    /// [`Error::ShutDown`](more_executors_core::Error::ShutDown).
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
        submit_stage(self, |ctx| {
            let start = Instant::now();
            let fut = self.inner.call(job, ctx);
            TimeoutFuture::new(
                fut,
                start,
                timeout,
                self.inner.runtime(),
                self.inner.runs_inline(),
                self.timeouts.clone(),
            )
        })
    }

    /// The wrapped executor.
    pub fn get_ref(&self) -> &S {
        &self.inner
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
