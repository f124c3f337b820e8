//! What a worker did: running counters and the shutdown report.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use more_executors_core::metrics::Counter;

/// Counters of one worker since it started.
///
/// ```
/// let stats = more_executors_redis::WorkerStats::default();
/// assert_eq!(stats.claimed, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Jobs read from the queue for the first time and started here.
    pub claimed: u64,
    /// Jobs taken over from a worker that stopped acknowledging them (died, killed,
    /// stuck) and started here.
    pub reclaimed: u64,
    /// Jobs whose outcome this worker stored and acknowledged.
    pub acked: u64,
    /// Jobs this worker moved to the dead-letter stream.
    pub dead_lettered: u64,
    /// Jobs handed back to the queue (payload not decodable here, unknown job name, or
    /// still running at shutdown).
    pub released: u64,
}

/// One of a worker's counters: its total so far and, for most, its metric.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    total: AtomicU64,
    metric: Option<Counter>,
}

impl Tally {
    /// A counter that also counts on the metric `name`, labelled with the queue.
    fn metered(name: &'static str, queue: &str) -> Tally {
        Tally { total: AtomicU64::new(0), metric: Some(Counter::labelled(name, "queue", queue)) }
    }

    pub(crate) fn add(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
        if let Some(m) = &self.metric {
            m.increment(n);
        }
    }

    fn get(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// The live counters behind [`WorkerStats`].
#[derive(Debug)]
pub(crate) struct Stats {
    pub(crate) claimed: Tally,
    pub(crate) reclaimed: Tally,
    pub(crate) acked: Tally,
    pub(crate) dead_lettered: Tally,
    pub(crate) released: Tally,
}

impl Stats {
    pub(crate) fn new(queue: &str) -> Stats {
        Stats {
            claimed: Tally::metered("more_executors_redis_claimed_total", queue),
            reclaimed: Tally::metered("more_executors_redis_reclaimed_total", queue),
            acked: Tally::metered("more_executors_redis_acked_total", queue),
            dead_lettered: Tally::metered("more_executors_redis_dead_letter_total", queue),
            released: Tally::default(),
        }
    }

    pub(crate) fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            claimed: self.claimed.get(),
            reclaimed: self.reclaimed.get(),
            acked: self.acked.get(),
            dead_lettered: self.dead_lettered.get(),
            released: self.released.get(),
        }
    }
}

/// What a graceful [`shutdown`](crate::RedisWorker::shutdown) did.
///
/// ```
/// let r = more_executors_redis::ShutdownReport::default();
/// assert_eq!(r.to_string(), "0 finished, 0 handed back to the queue");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Jobs running at the shutdown that finished within the close timeout (their
    /// outcomes were stored and acknowledged).
    pub finished: u64,
    /// Jobs still running when the close timeout expired: cancelled locally where the
    /// local stack allowed it, and handed back to the queue for another worker.
    pub released: u64,
    /// The worker's counters at the end.
    pub stats: WorkerStats,
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} finished, {} handed back to the queue", self.finished, self.released)
    }
}
