//! Retry policies: what decides whether, and after how long, a finished attempt is retried.
//!
//! A [`RetryPolicy`] is asked once per finished attempt. It sees the attempt's number and
//! the time since the job was submitted ([`Attempt`]) and the attempt's outcome, and answers
//! [`RetryDecision::Done`] (the outcome becomes the handle's result) or
//! [`RetryDecision::RetryAfter`] (wait, then run the job again).
//!
//! Provided policies:
//! - [`ExponentialBackoff`]: max attempts, base sleep, exponent, max sleep, optional jitter,
//!   an error filter and a total-time limit (the default policy).
//! - [`Schedule`]: the delays come from any `Iterator<Item = Duration>`, made fresh for each
//!   job, which is also how a `backon` backoff builder plugs in.
//! - Any closure `Fn(&Attempt, &Result<T, Error<E>>) -> RetryDecision`.

mod backoff;
mod schedule;

pub use backoff::{ExponentialBackoff, ExponentialBackoffBuilder};
pub use schedule::Schedule;

use std::time::Duration;

use more_executors_core::Error;
use tokio::time::Instant;

/// What a [`RetryPolicy`] decided about a finished attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Stop: the attempt's outcome is the job's result.
    Done,
    /// Run the job again after this delay (a zero delay retries at the next scheduling
    /// point).
    RetryAfter(Duration),
}

/// What a policy knows about the attempt that just finished.
///
/// ```
/// use std::time::Duration;
/// use more_executors_retry::Attempt;
///
/// let a = Attempt::new(1, Duration::from_millis(20));
/// assert_eq!(a.number, 1);
/// assert_eq!(a.elapsed(), Duration::from_millis(20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// 1 for the first attempt, 2 for the first retry, and so on; it stays at `u32::MAX`
    /// for any attempt after that one (under a policy that never stops).
    pub number: u32,
    elapsed: Elapsed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elapsed {
    Fixed(Duration),
    Since(Instant),
}

impl Attempt {
    /// An attempt record (for testing a policy by hand).
    pub fn new(number: u32, elapsed: Duration) -> Self {
        Attempt { number, elapsed: Elapsed::Fixed(elapsed) }
    }

    pub(crate) fn started_at(number: u32, submitted: Instant) -> Self {
        Attempt { number, elapsed: Elapsed::Since(submitted) }
    }

    /// Time since the job was submitted, on tokio's clock (so it follows paused time in
    /// tests). Read when called: a policy that does not need it does not pay for it.
    pub fn elapsed(&self) -> Duration {
        match self.elapsed {
            Elapsed::Fixed(d) => d,
            Elapsed::Since(t) => t.elapsed(),
        }
    }
}

/// Decides, for each finished attempt, whether to retry and after what delay.
///
/// The retry layer holds one policy for all its jobs (behind an `Arc`, so the policy
/// itself need not be `Clone`). Per-job state, if a policy needs any, lives in
/// [`State`](Self::State): [`start`](Self::start) makes it once per job, when the first
/// attempt has finished and before the first decision, and [`decide`](Self::decide)
/// receives it after each attempt.
///
/// The layer settles some outcomes itself, without asking the policy:
/// [`Error::Cancelled`] and [`Error::ShutDown`] are always final, and so is any outcome
/// after a cancel request was refused during the attempt. A policy that panics fails the job
/// with [`Error::Panicked`] and no further attempt runs (a panic in `start` replaces the
/// first attempt's outcome); the panic is also logged as a `tracing` error.
///
/// Closures are policies with no state:
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::Error;
/// use more_executors_retry::{Attempt, RetryDecision, RetryPolicy};
///
/// // Retry "busy" errors up to 5 attempts, 10 ms apart.
/// let policy = |a: &Attempt, r: &Result<u32, Error<&'static str>>| match r {
///     Err(Error::Job("busy")) if a.number < 5 => RetryDecision::RetryAfter(Duration::from_millis(10)),
///     _ => RetryDecision::Done,
/// };
/// let attempt = Attempt::new(1, Duration::ZERO);
/// assert_eq!(policy.decide(&mut (), &attempt, &Err(Error::Job("busy"))),
///            RetryDecision::RetryAfter(Duration::from_millis(10)));
/// assert_eq!(policy.decide(&mut (), &attempt, &Ok(1)), RetryDecision::Done);
/// ```
pub trait RetryPolicy<T, E>: Send + Sync + 'static {
    /// Per-job state (`()` for most policies).
    type State: Send + 'static;

    /// Makes the state of a new job; called once when the job is submitted.
    fn start(&self) -> Self::State;

    /// Decides what follows the attempt `attempt` whose outcome is `outcome`.
    fn decide(
        &self,
        state: &mut Self::State,
        attempt: &Attempt,
        outcome: &Result<T, Error<E>>,
    ) -> RetryDecision;
}

impl<T, E, F> RetryPolicy<T, E> for F
where
    F: Fn(&Attempt, &Result<T, Error<E>>) -> RetryDecision + Send + Sync + 'static,
{
    type State = ();

    fn start(&self) {}

    fn decide(&self, _: &mut (), attempt: &Attempt, outcome: &Result<T, Error<E>>) -> RetryDecision {
        self(attempt, outcome)
    }
}

/// Which errors a policy retries (the provided policies' error filter).
///
/// Implemented by [`DefaultRetryIf`] and by any closure `Fn(&Error<E>) -> bool`.
///
/// ```
/// use more_executors_core::Error;
/// use more_executors_retry::{DefaultRetryIf, RetryIf};
///
/// assert!(RetryIf::<()>::should_retry(&DefaultRetryIf, &Error::Job(())));
/// assert!(!RetryIf::<()>::should_retry(&DefaultRetryIf, &Error::Cancelled));
///
/// let only_io = |e: &Error<std::io::Error>| e.job_error().is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset);
/// assert!(!only_io.should_retry(&Error::Job(std::io::Error::other("bad request"))));
/// ```
pub trait RetryIf<E>: Send + Sync + 'static {
    /// True when an attempt that failed with `error` may be retried.
    fn should_retry(&self, error: &Error<E>) -> bool;
}

/// The default error filter: retries the job's own errors ([`Error::Job`]), panics
/// ([`Error::Panicked`]) and timed-out attempts ([`Error::TimedOut`], from a timeout layer
/// inside the retry); never [`Error::Cancelled`] or [`Error::ShutDown`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRetryIf;

impl<E> RetryIf<E> for DefaultRetryIf {
    fn should_retry(&self, error: &Error<E>) -> bool {
        matches!(error, Error::Job(_) | Error::Panicked(_) | Error::TimedOut(_))
    }
}

impl<E, F> RetryIf<E> for F
where
    F: Fn(&Error<E>) -> bool + Send + Sync + 'static,
{
    fn should_retry(&self, error: &Error<E>) -> bool {
        self(error)
    }
}
