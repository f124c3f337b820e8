//! [`deadline_after`]: a point in time from a duration that may be too long for the clock.

use std::time::Duration;

use tokio::time::Instant;

/// About thirty years: what a deadline too far to represent becomes.
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `start + d`, or about thirty years after `start` when `d` is too long for the clock
/// (`Duration::MAX`, a poll function's "not before I am notified"). Adding such a duration
/// to an [`Instant`] directly panics; a user's duration must never take a task down that
/// way.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::stage::deadline_after;
/// use tokio::time::Instant;
///
/// let now = Instant::now();
/// assert_eq!(deadline_after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
/// assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365 * 29));
/// ```
pub fn deadline_after(start: Instant, d: Duration) -> Instant {
    start.checked_add(d).unwrap_or_else(|| start + FAR)
}
