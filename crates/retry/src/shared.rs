//! What every job of one [`Retry`](crate::Retry) shares: the policy, the budget, the
//! shutdown signal, the count of jobs waiting between attempts, and the metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use more_executors_core::metrics::{Counter, Gauge};
use tokio_util::sync::CancellationToken;

use crate::budget::RetryBudget;

pub(crate) struct Shared<P> {
    pub(crate) policy: Arc<P>,
    pub(crate) budget: Option<RetryBudget>,
    /// Cancelled on shutdown: wakes the jobs waiting between attempts.
    pub(crate) shutdown: CancellationToken,
    /// Set on shutdown, before `shutdown` is cancelled: what each job checks between
    /// attempts (one atomic load, where asking the token takes its lock).
    shut_down: AtomicBool,
    pub(crate) waiting: AtomicUsize,
    pub(crate) metrics: RetryMetrics,
}

impl<P> Shared<P> {
    /// The state of a new executor named `executor` (the name labels its metrics).
    pub(crate) fn new(policy: Arc<P>, budget: Option<RetryBudget>, executor: &str) -> Self {
        Shared {
            policy,
            budget,
            shutdown: CancellationToken::new(),
            shut_down: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            metrics: RetryMetrics::new(executor),
        }
    }

    /// Ends the jobs waiting between attempts and keeps any further attempt from starting.
    pub(crate) fn shut_down(&self) {
        self.shut_down.store(true, Ordering::Release);
        self.shutdown.cancel();
    }

    /// True once [`shut_down`](Self::shut_down) was called.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }
}

/// `more_executors_retry_total` (retries scheduled), `_retry_queue` (jobs waiting between
/// attempts) and `_retry_delay_total` (seconds of delay scheduled).
#[derive(Clone)]
pub(crate) struct RetryMetrics {
    pub(crate) retries: Counter,
    pub(crate) queue: Gauge,
    pub(crate) delay: Gauge,
}

impl RetryMetrics {
    fn new(executor: &str) -> Self {
        RetryMetrics {
            retries: Counter::new("more_executors_retry_total", executor),
            queue: Gauge::new("more_executors_retry_queue", executor),
            delay: Gauge::new("more_executors_retry_delay_total", executor),
        }
    }
}
