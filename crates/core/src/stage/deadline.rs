//! [`deadline_after`]: a point in time from a duration that may be too long for the clock.

use std::time::Duration;

use tokio::time::Instant;

/// About thirty years: the longest duration a deadline is taken from.
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `start + d`, with `d` taken as at most about thirty years (as `tokio::time::sleep` does):
/// a duration too long for the clock (`Duration::MAX`, a poll function's "not before I am
/// notified") added to an [`Instant`] directly panics, and one that just fits leaves no
/// room for the timer's own rounding. A user's duration must never take a task down that
/// way.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::stage::deadline_after;
/// use tokio::time::Instant;
///
/// let now = Instant::now();
/// assert_eq!(deadline_after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
/// let thirty_years = Duration::from_secs(86_400 * 365 * 30);
/// assert_eq!(deadline_after(now, Duration::MAX), now + thirty_years);
/// assert_eq!(deadline_after(now, 2 * thirty_years), now + thirty_years);
/// ```
pub fn deadline_after(start: Instant, d: Duration) -> Instant {
    start + d.min(FAR)
}
