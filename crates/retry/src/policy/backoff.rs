use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use more_executors_core::Error;
use more_executors_core::config::{ConfigError, secs_f64};

use super::{Attempt, DefaultRetryIf, RetryDecision, RetryIf, RetryPolicy};

/// The default retry policy: exponential backoff with a cap, optional jitter, an error
/// filter and an optional total-time limit.
///
/// After attempt `n` failed with an error the filter accepts, and if `n < max_attempts`,
/// the job is retried after
///
/// ```text
/// delay(n) = min(sleep * exponent^(n-1), max_sleep)
/// ```
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `max_attempts` | 3 | attempts in all, the first included (1 = never retry) |
/// | `sleep` | 1 s | delay after the first attempt |
/// | `exponent` | 2.0 | growth factor per attempt (at least 1) |
/// | `max_sleep` | 120 s | cap on a single delay |
/// | `jitter` | 0 (off) | fraction `j` in `[0, 1]`: each delay is drawn uniformly from `[delay·(1−j), delay]` |
/// | `max_elapsed` | none | no retry is scheduled that would start later than this after submission |
/// | `retry_if` | [`DefaultRetryIf`] | which errors are retried |
///
/// A successful attempt is never retried. With the defaults, a job that keeps failing runs
/// at 0 s, 1 s and 3 s, and its handle then resolves to the third attempt's error.
///
/// Jitter never lengthens a delay, so `max_sleep` and `max_elapsed` hold with it.
/// Its random numbers come from a small generator shared by clones of the policy, seeded
/// at random when the policy is built unless
/// [`jitter_seed`](ExponentialBackoffBuilder::jitter_seed) fixes the seed.
///
/// ```
/// use std::time::Duration;
/// use more_executors_retry::ExponentialBackoff;
///
/// let policy = ExponentialBackoff::builder()
///     .max_attempts(5)
///     .sleep_secs(0.5)
///     .max_sleep(Duration::from_secs(3))
///     .build()
///     .unwrap();
/// let delays: Vec<_> = (1..5).map(|n| policy.delay(n)).collect();
/// assert_eq!(delays, [0.5, 1.0, 2.0, 3.0].map(Duration::from_secs_f64));
///
/// assert!(ExponentialBackoff::builder().max_attempts(0).build().is_err());
/// assert!(ExponentialBackoff::builder().exponent(0.5).build().is_err());
/// assert!(ExponentialBackoff::builder().sleep_secs(f64::NAN).build().is_err());
/// ```
#[derive(Clone)]
pub struct ExponentialBackoff<R = DefaultRetryIf> {
    max_attempts: u32,
    sleep: Duration,
    exponent: f64,
    max_sleep: Duration,
    jitter: f64,
    max_elapsed: Option<Duration>,
    retry_if: R,
    rng: Arc<AtomicU64>,
}

impl<R> fmt::Debug for ExponentialBackoff<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExponentialBackoff")
            .field("max_attempts", &self.max_attempts)
            .field("sleep", &self.sleep)
            .field("exponent", &self.exponent)
            .field("max_sleep", &self.max_sleep)
            .field("jitter", &self.jitter)
            .field("max_elapsed", &self.max_elapsed)
            .finish_non_exhaustive()
    }
}

impl Default for ExponentialBackoff {
    fn default() -> Self {
        ExponentialBackoff::builder().build().expect("the defaults are valid")
    }
}

impl ExponentialBackoff {
    /// The default policy (see the table above).
    pub fn new() -> Self {
        Self::default()
    }

    /// Configures a policy, starting from the defaults.
    pub fn builder() -> ExponentialBackoffBuilder {
        ExponentialBackoffBuilder {
            max_attempts: 3,
            sleep: Ok(Duration::from_secs(1)),
            exponent: 2.0,
            max_sleep: Ok(Duration::from_secs(120)),
            jitter: 0.0,
            max_elapsed: None,
            seed: None,
            retry_if: DefaultRetryIf,
        }
    }
}

impl<R> ExponentialBackoff<R> {
    /// Attempts in all, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay scheduled after attempt `attempt` (1-based), before jitter:
    /// `min(sleep * exponent^(attempt-1), max_sleep)`, rounded to the nanosecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_retry::ExponentialBackoff;
    ///
    /// let p = ExponentialBackoff::new();
    /// assert_eq!(p.delay(1), Duration::from_secs(1));
    /// assert_eq!(p.delay(2), Duration::from_secs(2));
    /// assert_eq!(p.delay(30), Duration::from_secs(120), "capped by max_sleep");
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        if self.sleep.is_zero() {
            // Zero grows to zero however many attempts (the float product below would be
            // NaN once the exponent's power overflows).
            return Duration::ZERO;
        }
        let power = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let nanos = nanos_f64(self.sleep) * self.exponent.powi(power);
        if !nanos.is_finite() || nanos >= nanos_f64(self.max_sleep) {
            return self.max_sleep;
        }
        // `as` saturates; a delay this long is capped by max_sleep above in practice.
        Duration::from_nanos(nanos.round() as u64)
    }

    fn jittered(&self, delay: Duration) -> Duration {
        if self.jitter == 0.0 || delay.is_zero() {
            return delay;
        }
        let u = unit_f64(&self.rng);
        let cut = (nanos_f64(delay) * self.jitter * u).round();
        delay.saturating_sub(Duration::from_nanos(cut as u64))
    }
}

/// A duration in nanoseconds as a float, through `u64` (a conversion from `u128` is done in
/// software); durations beyond `u64::MAX` nanoseconds (584 years) saturate.
fn nanos_f64(d: Duration) -> f64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX) as f64
}

impl<T, E, R: RetryIf<E>> RetryPolicy<T, E> for ExponentialBackoff<R> {
    type State = ();

    fn start(&self) {}

    fn decide(&self, _: &mut (), attempt: &Attempt, outcome: &Result<T, Error<E>>) -> RetryDecision {
        let Err(error) = outcome else { return RetryDecision::Done };
        if attempt.number >= self.max_attempts || !self.retry_if.should_retry(error) {
            return RetryDecision::Done;
        }
        let delay = self.jittered(self.delay(attempt.number));
        if let Some(limit) = self.max_elapsed {
            if attempt.elapsed().saturating_add(delay) > limit {
                return RetryDecision::Done;
            }
        }
        RetryDecision::RetryAfter(delay)
    }
}

/// Builds an [`ExponentialBackoff`]; every setting is checked by [`build`](Self::build).
///
/// Durations can be given as [`Duration`] or as float seconds (`*_secs`); NaN, negative
/// and infinite seconds are rejected.
///
/// ```
/// use more_executors_core::Error;
/// use more_executors_retry::ExponentialBackoff;
///
/// #[derive(Debug)]
/// enum ApiError { Unavailable, BadRequest }
///
/// let policy = ExponentialBackoff::builder()
///     .max_attempts(4)
///     .jitter(0.5)
///     .retry_if(|e: &Error<ApiError>| matches!(e, Error::Job(ApiError::Unavailable)))
///     .build()
///     .unwrap();
/// assert_eq!(policy.max_attempts(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct ExponentialBackoffBuilder<R = DefaultRetryIf> {
    max_attempts: u32,
    sleep: Result<Duration, ConfigError>,
    exponent: f64,
    max_sleep: Result<Duration, ConfigError>,
    jitter: f64,
    max_elapsed: Option<Result<Duration, ConfigError>>,
    seed: Option<u64>,
    retry_if: R,
}

impl<R> ExponentialBackoffBuilder<R> {
    /// Attempts in all, the first included (default 3; 1 disables retries; 0 is rejected).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// The delay after the first attempt (default 1 s).
    pub fn sleep(mut self, d: Duration) -> Self {
        self.sleep = Ok(d);
        self
    }

    /// [`sleep`](Self::sleep) in float seconds.
    pub fn sleep_secs(mut self, secs: f64) -> Self {
        self.sleep = secs_f64("retry sleep", secs);
        self
    }

    /// The growth factor per attempt (default 2.0; must be finite and at least 1).
    pub fn exponent(mut self, exponent: f64) -> Self {
        self.exponent = exponent;
        self
    }

    /// The cap on a single delay (default 120 s).
    pub fn max_sleep(mut self, d: Duration) -> Self {
        self.max_sleep = Ok(d);
        self
    }

    /// [`max_sleep`](Self::max_sleep) in float seconds.
    pub fn max_sleep_secs(mut self, secs: f64) -> Self {
        self.max_sleep = secs_f64("retry max sleep", secs);
        self
    }

    /// Random jitter: each delay `d` becomes a uniform draw from `[d·(1−fraction), d]`
    /// (default 0, no jitter; 1 is "full jitter"). Must be in `[0, 1]`.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// Fixes the jitter's random seed (for reproducible delays in tests).
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// A total-time limit: no retry is scheduled that would start more than `d` after the
    /// job was submitted (the running attempt is never cut short; put a timeout layer
    /// outside the retry for a hard deadline). Must be positive.
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = Some(positive_max_elapsed(d));
        self
    }

    /// [`max_elapsed`](Self::max_elapsed) in float seconds.
    pub fn max_elapsed_secs(mut self, secs: f64) -> Self {
        self.max_elapsed = Some(secs_f64("retry max elapsed", secs).and_then(positive_max_elapsed));
        self
    }

    /// Retries only errors accepted by `filter` (a closure `Fn(&Error<E>) -> bool` or any
    /// [`RetryIf`]). The default is [`DefaultRetryIf`]. Whatever the filter says,
    /// [`Error::Cancelled`] and [`Error::ShutDown`] end the job (the retry layer never
    /// retries them).
    pub fn retry_if<R2>(self, filter: R2) -> ExponentialBackoffBuilder<R2> {
        ExponentialBackoffBuilder {
            max_attempts: self.max_attempts,
            sleep: self.sleep,
            exponent: self.exponent,
            max_sleep: self.max_sleep,
            jitter: self.jitter,
            max_elapsed: self.max_elapsed,
            seed: self.seed,
            retry_if: filter,
        }
    }

    /// Checks the settings and builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first invalid setting: max attempts 0, an exponent below
    /// 1, NaN or infinite, a NaN, negative or infinite duration in seconds, a jitter outside
    /// `[0, 1]`, or a zero total-time limit.
    pub fn build(self) -> Result<ExponentialBackoff<R>, ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::new(
                "retry max attempts",
                "0 would never run the job; use at least 1 (1 means no retries)",
            ));
        }
        if !self.exponent.is_finite() || self.exponent < 1.0 {
            return Err(ConfigError::new(
                "retry exponent",
                format!("{} would not grow the delays; use a finite number >= 1.0", self.exponent),
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(ConfigError::new(
                "retry jitter",
                format!("{} is not a fraction; use a number from 0.0 (no jitter) to 1.0", self.jitter),
            ));
        }
        let sleep = self.sleep?;
        let max_sleep = self.max_sleep?;
        let max_elapsed = self.max_elapsed.transpose()?;
        let seed = self.seed.unwrap_or_else(|| std::hash::RandomState::new().hash_one(0x6d6f7265u32));
        Ok(ExponentialBackoff {
            max_attempts: self.max_attempts,
            sleep,
            exponent: self.exponent,
            max_sleep,
            jitter: self.jitter,
            max_elapsed,
            retry_if: self.retry_if,
            rng: Arc::new(AtomicU64::new(seed)),
        })
    }
}

/// Rejects a zero total-time limit: it would forbid every retry.
fn positive_max_elapsed(d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::new(
            "retry max elapsed",
            "a zero limit would never allow a retry; use a positive duration, or max_attempts(1) for no retries",
        ))
    } else {
        Ok(d)
    }
}

/// A uniform draw from `[0, 1)` (splitmix64 over a shared atomic state: lock-free, and
/// good enough to spread retries; not for cryptography).
fn unit_f64(state: &AtomicU64) -> f64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut z = state.fetch_add(GAMMA, Ordering::Relaxed).wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(p: &ExponentialBackoff, n: u32, elapsed: Duration) -> RetryDecision {
        RetryPolicy::<(), ()>::decide(p, &mut (), &Attempt::new(n, elapsed), &Err(Error::Job(())))
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let p = ExponentialBackoff::new();
        assert_eq!(decide(&p, 1, Duration::ZERO), RetryDecision::RetryAfter(Duration::from_secs(1)));
        assert_eq!(decide(&p, 2, Duration::ZERO), RetryDecision::RetryAfter(Duration::from_secs(2)));
        assert_eq!(decide(&p, 3, Duration::ZERO), RetryDecision::Done, "3 attempts in all");
        let p = ExponentialBackoff::builder().max_attempts(20).build().unwrap();
        assert_eq!(p.delay(7), Duration::from_secs(64));
        assert_eq!(p.delay(8), Duration::from_secs(120));
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(120));
    }

    #[test]
    fn a_zero_sleep_stays_zero_however_many_attempts() {
        let p = ExponentialBackoff::builder().sleep(Duration::ZERO).max_attempts(u32::MAX).build().unwrap();
        for n in [1, 2, 1_100, u32::MAX - 1] {
            assert_eq!(p.delay(n), Duration::ZERO, "attempt {n}");
            assert_eq!(
                decide(&p, n, Duration::ZERO),
                RetryDecision::RetryAfter(Duration::ZERO),
                "attempt {n}"
            );
        }
    }

    #[test]
    fn float_seconds_round_to_the_nanosecond() {
        let p = ExponentialBackoff::builder().sleep_secs(0.7).exponent(1.5).build().unwrap();
        assert_eq!(p.delay(1), Duration::from_millis(700));
        assert_eq!(p.delay(3), Duration::from_micros(1_575_000));
    }

    #[test]
    fn success_and_filtered_errors_are_not_retried() {
        let p = ExponentialBackoff::builder()
            .retry_if(|e: &Error<i32>| e.job_error() == Some(&1))
            .build()
            .unwrap();
        let a = Attempt::new(1, Duration::ZERO);
        assert_eq!(p.decide(&mut (), &a, &Ok::<(), _>(())), RetryDecision::Done);
        assert_eq!(p.decide(&mut (), &a, &Err::<(), _>(Error::Job(2))), RetryDecision::Done);
        assert!(matches!(p.decide(&mut (), &a, &Err::<(), _>(Error::Job(1))), RetryDecision::RetryAfter(_)));
        let d = ExponentialBackoff::new();
        for e in [Error::Cancelled, Error::ShutDown] {
            assert_eq!(RetryPolicy::<(), ()>::decide(&d, &mut (), &a, &Err(e)), RetryDecision::Done);
        }
        for e in [Error::Panicked("x".into()), Error::TimedOut(Duration::from_secs(1))] {
            assert!(matches!(
                RetryPolicy::<(), ()>::decide(&d, &mut (), &a, &Err(e)),
                RetryDecision::RetryAfter(_)
            ));
        }
    }

    #[test]
    fn max_elapsed_stops_retries_that_would_start_too_late() {
        let p = ExponentialBackoff::builder().max_attempts(10).max_elapsed_secs(4.0).build().unwrap();
        assert_eq!(decide(&p, 2, Duration::from_secs(1)), RetryDecision::RetryAfter(Duration::from_secs(2)));
        assert_eq!(decide(&p, 2, Duration::from_secs(2)), RetryDecision::RetryAfter(Duration::from_secs(2)));
        assert_eq!(decide(&p, 2, Duration::from_millis(2001)), RetryDecision::Done);
    }

    #[test]
    fn invalid_settings_are_rejected_with_the_setting_named() {
        let cases: Vec<(ExponentialBackoffBuilder, &str)> = vec![
            (ExponentialBackoff::builder().max_attempts(0), "retry max attempts"),
            (ExponentialBackoff::builder().exponent(0.99), "retry exponent"),
            (ExponentialBackoff::builder().exponent(f64::NAN), "retry exponent"),
            (ExponentialBackoff::builder().exponent(f64::INFINITY), "retry exponent"),
            (ExponentialBackoff::builder().sleep_secs(-1.0), "retry sleep"),
            (ExponentialBackoff::builder().sleep_secs(f64::NAN), "retry sleep"),
            (ExponentialBackoff::builder().max_sleep_secs(f64::NAN), "retry max sleep"),
            (ExponentialBackoff::builder().jitter(1.5), "retry jitter"),
            (ExponentialBackoff::builder().jitter(f64::NAN), "retry jitter"),
            (ExponentialBackoff::builder().max_elapsed(Duration::ZERO), "retry max elapsed"),
            (ExponentialBackoff::builder().max_elapsed_secs(-0.5), "retry max elapsed"),
        ];
        for (builder, setting) in cases {
            let err = builder.build().unwrap_err();
            assert_eq!(err.setting(), setting, "{err}");
        }
        assert!(ExponentialBackoff::builder().exponent(1.0).max_attempts(1).build().is_ok());
    }

    #[test]
    fn jitter_stays_within_its_documented_bounds_and_spreads() {
        let p = ExponentialBackoff::builder().max_attempts(100).jitter(0.25).jitter_seed(7).build().unwrap();
        let (lo, hi) = (Duration::from_millis(750), Duration::from_secs(1));
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..10_000 {
            let RetryDecision::RetryAfter(d) = decide(&p, 1, Duration::ZERO) else { panic!("must retry") };
            assert!(d >= lo && d <= hi, "{d:?} outside [{lo:?}, {hi:?}]");
            seen_low |= d < Duration::from_millis(760);
            seen_high |= d > Duration::from_millis(990);
        }
        assert!(seen_low && seen_high, "draws cover the whole range");
        let full = ExponentialBackoff::builder().jitter(1.0).max_attempts(100).build().unwrap();
        for n in 1..=12 {
            let RetryDecision::RetryAfter(d) = decide(&full, n, Duration::ZERO) else { panic!() };
            assert!(d <= full.delay(n));
        }
    }

    #[test]
    fn a_fixed_seed_gives_reproducible_delays() {
        let make = || ExponentialBackoff::builder().jitter(1.0).jitter_seed(42).build().unwrap();
        let (a, b) = (make(), make());
        let da: Vec<_> = (0..20).map(|_| decide(&a, 1, Duration::ZERO)).collect();
        let db: Vec<_> = (0..20).map(|_| decide(&b, 1, Duration::ZERO)).collect();
        assert_eq!(da, db);
    }
}
