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

#[derive(Debug)]
pub(crate) struct Stats {
    claimed: AtomicU64,
    reclaimed: AtomicU64,
    acked: AtomicU64,
    dead_lettered: AtomicU64,
    released: AtomicU64,
    m_claimed: Counter,
    m_reclaimed: Counter,
    m_acked: Counter,
    m_dead: Counter,
}

impl Stats {
    pub(crate) fn new(queue: &str) -> Stats {
        Stats {
            claimed: AtomicU64::new(0),
            reclaimed: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            released: AtomicU64::new(0),
            m_claimed: Counter::labelled("more_executors_redis_claimed_total", "queue", queue),
            m_reclaimed: Counter::labelled("more_executors_redis_reclaimed_total", "queue", queue),
            m_acked: Counter::labelled("more_executors_redis_acked_total", "queue", queue),
            m_dead: Counter::labelled("more_executors_redis_dead_letter_total", "queue", queue),
        }
    }

    pub(crate) fn claimed(&self, n: u64) {
        self.claimed.fetch_add(n, Ordering::Relaxed);
        self.m_claimed.increment(n);
    }

    pub(crate) fn reclaimed(&self, n: u64) {
        self.reclaimed.fetch_add(n, Ordering::Relaxed);
        self.m_reclaimed.increment(n);
    }

    pub(crate) fn acked(&self, n: u64) {
        self.acked.fetch_add(n, Ordering::Relaxed);
        self.m_acked.increment(n);
    }

    pub(crate) fn dead(&self, n: u64) {
        self.dead_lettered.fetch_add(n, Ordering::Relaxed);
        self.m_dead.increment(n);
    }

    pub(crate) fn released(&self, n: u64) {
        self.released.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            claimed: self.claimed.load(Ordering::Relaxed),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
            acked: self.acked.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
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
