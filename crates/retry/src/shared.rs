//! What every job of one [`Retry`](crate::Retry) shares, in one allocation: the policy, the
//! budget, the shutdown signal, the count of jobs waiting between attempts, the metrics,
//! and the inner executor.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use more_executors_core::Lifecycle;
use more_executors_core::metrics::{Counter, Gauge};
use tokio_util::sync::CancellationToken;

use crate::budget::RetryBudget;

/// The layer's state and its inner executor `S`. Each job holds one reference to it (one
/// reference count to update per job, where a reference to each would take two); `S` comes
/// last so a job can hold it as a `dyn CallStage`, which keeps the job's future type free of
/// the executor's type.
pub(crate) struct Shared<P, S: ?Sized> {
    pub(crate) policy: Arc<P>,
    pub(crate) budget: Option<RetryBudget>,
    /// Cancelled on shutdown: wakes the jobs waiting between attempts.
    pub(crate) shutdown: CancellationToken,
    /// Set on shutdown, before `shutdown` is cancelled: what each job checks between
    /// attempts (one atomic load, where asking the token takes its lock).
    shut_down: AtomicBool,
    /// Jobs waiting between attempts; its own allocation, held by each waiting job's wait.
    pub(crate) waiting: Arc<Waiting>,
    pub(crate) retries: Counter,
    pub(crate) delay: Gauge,
    pub(crate) inner: S,
}

impl<P, S: Lifecycle> Shared<P, S> {
    /// The state of a new executor around `inner`, named `name` (else after `inner`); the
    /// name labels its metrics.
    pub(crate) fn new(policy: Arc<P>, budget: Option<RetryBudget>, name: Option<&str>, inner: S) -> Self {
        let executor = name.unwrap_or(inner.name());
        Shared {
            policy,
            budget,
            shutdown: CancellationToken::new(),
            shut_down: AtomicBool::new(false),
            waiting: Arc::new(Waiting {
                count: AtomicUsize::new(0),
                queue: Gauge::new("more_executors_retry_queue", executor),
            }),
            retries: Counter::new("more_executors_retry_total", executor),
            delay: Gauge::new("more_executors_retry_delay_total", executor),
            inner,
        }
    }
}

impl<P, S: ?Sized> Shared<P, S> {
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

/// The jobs waiting between attempts: `more_executors_retry_queue`, and the count
/// [`Retry::waiting`](crate::Retry::waiting) reads.
pub(crate) struct Waiting {
    pub(crate) count: AtomicUsize,
    queue: Gauge,
}

impl Waiting {
    /// Counts a job as waiting until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> WaitingGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        self.queue.increment(1.0);
        WaitingGuard(self.clone())
    }
}

/// Counts a job as waiting between attempts while it lives.
pub(crate) struct WaitingGuard(Arc<Waiting>);

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
        self.0.queue.decrement(1.0);
    }
}
