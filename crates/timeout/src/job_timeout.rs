//! How long a job may take: [`JobTimeout`], fixed or per job ([`PerJob`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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

/// A timeout computed from each job by a function (see [`TimeoutLayer::per_job`](crate::TimeoutLayer::per_job)).
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
