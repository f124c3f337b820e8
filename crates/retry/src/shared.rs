//! What every job of one [`Retry`](crate::Retry) shares: the policy, the budget, the
//! shutdown signal, the count of jobs waiting between attempts, and the metrics.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use more_executors_core::metrics::{Counter, Gauge};
use tokio_util::sync::CancellationToken;

use crate::budget::RetryBudget;

pub(crate) struct Shared<P> {
    pub(crate) policy: Arc<P>,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) shutdown: CancellationToken,
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
            waiting: AtomicUsize::new(0),
            metrics: RetryMetrics::new(executor),
        }
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
