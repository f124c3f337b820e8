//! [`RetryBudget`]: cap retries at a fraction of recent first attempts, to stop retry storms.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use more_executors_core::config::ConfigError;
use tokio::time::Instant;

/// Number of slots the window is divided into.
const SLOTS: usize = 10;
/// Fixed-point scale of the balance (one retry costs `UNIT`).
const UNIT: i64 = 1000;

/// Limits retries to a fraction of the jobs submitted recently, shared by every job of an
/// executor (and by every executor given a clone of the same budget).
///
/// Each submitted job *deposits* `ratio` of a retry; each retry *withdraws* one. On top of
/// that, a fixed reserve of `min_per_sec × window` retries is always available, so a quiet
/// executor can still retry. Deposits and withdrawals count for a sliding `window` (kept in
/// tenths of it, so an old entry expires between 0.9 and 1.0 windows after it was made).
///
/// When the budget is spent, a failed attempt that the policy would retry ends the job
/// with that attempt's error instead, and a `tracing` warning says so. When a dependency
/// goes down, this turns "every caller retries every request `max_attempts` times" into
/// "at most `ratio` extra load", which is what lets the dependency recover.
///
/// Defaults: `ratio` 0.2 (20 % extra attempts), `min_per_sec` 10, `window` 10 s.
///
/// ```
/// use std::time::Duration;
/// use more_executors_retry::RetryBudget;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let budget = RetryBudget::builder().ratio(0.5).min_per_sec(0).build().unwrap();
/// for _ in 0..4 {
///     budget.deposit(); // four jobs submitted
/// }
/// assert!(budget.withdraw() && budget.withdraw(), "half of four jobs may retry");
/// assert!(!budget.withdraw(), "the third retry is refused");
/// # }
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<Inner>,
}

struct Inner {
    deposit: i64,
    reserve: i64,
    slot_len: Duration,
    created: Instant,
    slots: Mutex<[Slot; SLOTS]>,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    epoch: u64,
    deposits: i64,
    withdrawals: i64,
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget").field("available", &self.available()).finish()
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::builder().build().expect("the defaults are valid")
    }
}

impl RetryBudget {
    /// The default budget: 20 % retries, a reserve of 10 per second, a 10 s window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Configures a budget.
    pub fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder { ratio: 0.2, min_per_sec: 10, window: Duration::from_secs(10) }
    }

    /// Records a submitted job (the retry layer calls this once per job).
    pub fn deposit(&self) {
        self.inner.with_current(|slot| slot.deposits += 1);
    }

    /// Takes one retry from the budget; `false` (and nothing taken) when it is spent.
    pub fn withdraw(&self) -> bool {
        let inner = &*self.inner;
        let now = inner.epoch();
        let mut slots = inner.lock();
        if inner.balance(&slots, now) < UNIT {
            return false;
        }
        Inner::current(&mut slots, now).withdrawals += 1;
        true
    }

    /// How many retries could be taken now.
    pub fn available(&self) -> u64 {
        let inner = &*self.inner;
        let now = inner.epoch();
        let slots = inner.lock();
        (inner.balance(&slots, now).max(0) / UNIT) as u64
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, [Slot; SLOTS]> {
        // Only counters are updated under the lock; a poisoned one is still consistent.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn epoch(&self) -> u64 {
        let since = Instant::now().saturating_duration_since(self.created);
        (since.as_nanos() / self.slot_len.as_nanos()) as u64
    }

    fn current(slots: &mut [Slot; SLOTS], now: u64) -> &mut Slot {
        let slot = &mut slots[(now % SLOTS as u64) as usize];
        if slot.epoch != now {
            *slot = Slot { epoch: now, ..Slot::default() };
        }
        slot
    }

    fn with_current(&self, f: impl FnOnce(&mut Slot)) {
        let now = self.epoch();
        f(Self::current(&mut self.lock(), now));
    }

    fn balance(&self, slots: &[Slot; SLOTS], now: u64) -> i64 {
        let live = slots.iter().filter(|s| s.epoch <= now && now - s.epoch < SLOTS as u64);
        let (d, w) = live.fold((0i64, 0i64), |(d, w), s| (d + s.deposits, w + s.withdrawals));
        self.reserve + d * self.deposit - w * UNIT
    }
}

/// Builds a [`RetryBudget`].
///
/// ```
/// use std::time::Duration;
/// use more_executors_retry::RetryBudget;
///
/// let budget = RetryBudget::builder()
///     .ratio(0.1)
///     .min_per_sec(1)
///     .window(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// assert_eq!(budget.available(), 30, "the reserve: 1 per second over 30 s");
/// assert!(RetryBudget::builder().ratio(f64::NAN).build().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct RetryBudgetBuilder {
    ratio: f64,
    min_per_sec: u32,
    window: Duration,
}

impl RetryBudgetBuilder {
    /// Retries allowed per submitted job (default 0.2). Must be in `[0, 1000]`.
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// Retries per second always allowed, whatever the traffic (default 10).
    pub fn min_per_sec(mut self, n: u32) -> Self {
        self.min_per_sec = n;
        self
    }

    /// How long deposits and withdrawals count (default 10 s). Must be positive.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Checks the settings and builds the budget.
    ///
    /// # Errors
    /// [`ConfigError`] for a ratio that is NaN, negative or above 1000, or a zero window.
    pub fn build(self) -> Result<RetryBudget, ConfigError> {
        if !(0.0..=1000.0).contains(&self.ratio) {
            return Err(ConfigError::new(
                "retry budget ratio",
                format!("{} is not a ratio of retries to jobs; use a number from 0.0 to 1000.0", self.ratio),
            ));
        }
        if self.window.is_zero() {
            return Err(ConfigError::new(
                "retry budget window",
                "a zero window would remember no jobs to allow retries for; use a positive duration",
            ));
        }
        let window = self.window;
        let slot_len = (window / SLOTS as u32).max(Duration::from_nanos(1));
        let reserve =
            (f64::from(self.min_per_sec) * window.as_secs_f64() * UNIT as f64).min(i64::MAX as f64 / 2.0);
        Ok(RetryBudget {
            inner: Arc::new(Inner {
                deposit: (self.ratio * UNIT as f64).round() as i64,
                reserve: reserve as i64,
                slot_len,
                created: Instant::now(),
                slots: Mutex::new([Slot::default(); SLOTS]),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deposits_and_withdrawals_expire_after_the_window() {
        let budget =
            RetryBudget::builder().ratio(1.0).min_per_sec(0).window(Duration::from_secs(10)).build().unwrap();
        assert_eq!(budget.available(), 0);
        assert!(!budget.withdraw());
        budget.deposit();
        budget.deposit();
        assert_eq!(budget.available(), 2);
        assert!(budget.withdraw());
        assert_eq!(budget.available(), 1);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(budget.available(), 1, "still inside the window");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(budget.available(), 0, "the deposits expired");
        budget.deposit();
        assert_eq!(budget.available(), 1, "the old withdrawal expired with them");
    }

    #[tokio::test(start_paused = true)]
    async fn the_reserve_is_always_available() {
        let budget =
            RetryBudget::builder().ratio(0.0).min_per_sec(1).window(Duration::from_secs(2)).build().unwrap();
        assert!(budget.withdraw() && budget.withdraw());
        assert!(!budget.withdraw());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(budget.withdraw(), "the reserve refills as withdrawals expire");
    }

    #[test]
    fn invalid_settings_are_rejected() {
        assert!(RetryBudget::builder().ratio(-0.1).build().is_err());
        assert!(RetryBudget::builder().ratio(1e9).build().is_err());
        assert_eq!(
            RetryBudget::builder().window(Duration::ZERO).build().unwrap_err().setting(),
            "retry budget window"
        );
    }
}
