use std::fmt;
use std::time::Duration;

use more_executors_core::Error;

use super::{Attempt, DefaultRetryIf, RetryDecision, RetryIf, RetryPolicy};

/// A policy whose delays come from an iterator, made fresh for each job.
///
/// `make` is called when a job is submitted and returns anything iterable over
/// [`Duration`]s; each retry takes the next delay, and the job stops retrying when the
/// iterator ends. Errors go through a [`RetryIf`] filter ([`DefaultRetryIf`] unless
/// [`retry_if`](Self::retry_if) sets another); success is never retried.
///
/// This is how other backoff crates plug in: a `backon` builder's `build()` returns an
/// `Iterator<Item = Duration>`, so `Schedule::new(|| builder.build())` uses it as is, with
/// no extra dependency or adapter.
///
/// ```
/// use std::time::Duration;
/// use more_executors_retry::Schedule;
///
/// // Three retries, 100 ms apart.
/// let fixed = Schedule::new(|| std::iter::repeat(Duration::from_millis(100)).take(3));
///
/// // A backon exponential backoff with jitter, at most 5 retries.
/// use backon::BackoffBuilder;
/// let backoff = backon::ExponentialBuilder::default().with_jitter().with_max_times(5);
/// let from_backon = Schedule::new(move || backoff.build());
/// # let _ = (fixed, from_backon);
/// ```
#[derive(Clone)]
pub struct Schedule<F, R = DefaultRetryIf> {
    make: F,
    retry_if: R,
}

impl<F, R> fmt::Debug for Schedule<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Schedule")
    }
}

impl<F> Schedule<F> {
    /// A schedule whose delays for each job are `make()`.
    pub fn new(make: F) -> Self {
        Schedule { make, retry_if: DefaultRetryIf }
    }
}

impl<F, R> Schedule<F, R> {
    /// Retries only errors accepted by `filter` (see
    /// [`ExponentialBackoffBuilder::retry_if`](super::ExponentialBackoffBuilder::retry_if)).
    pub fn retry_if<R2>(self, filter: R2) -> Schedule<F, R2> {
        Schedule { make: self.make, retry_if: filter }
    }
}

impl<T, E, F, I, R> RetryPolicy<T, E> for Schedule<F, R>
where
    F: Fn() -> I + Send + Sync + 'static,
    I: IntoIterator<Item = Duration>,
    I::IntoIter: Send + 'static,
    R: RetryIf<E>,
{
    type State = I::IntoIter;

    fn start(&self) -> I::IntoIter {
        (self.make)().into_iter()
    }

    fn decide(
        &self,
        delays: &mut I::IntoIter,
        _attempt: &Attempt,
        outcome: &Result<T, Error<E>>,
    ) -> RetryDecision {
        match outcome {
            Err(e) if self.retry_if.should_retry(e) => {
                delays.next().map_or(RetryDecision::Done, RetryDecision::RetryAfter)
            }
            _ => RetryDecision::Done,
        }
    }
}
