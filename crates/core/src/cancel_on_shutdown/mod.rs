//! Cancel every pending job when the executor shuts down ([`CancelOnShutdown`]).
//!
//! On [`shutdown`](crate::Lifecycle::shutdown), each job still pending in this layer is
//! cancelled under the usual rules (a queued job is cancelled; a running blocking job
//! refuses and finishes normally; the poll layer's cancel function decides for jobs in its
//! poll set), then shutdown goes on inward. The number of cancelled jobs is logged and
//! returned by [`CancelOnShutdown::cancel_pending`].

mod future;
mod layer;

pub use future::CancelOnShutdownFuture;
pub use layer::CancelOnShutdownLayer;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::task::AtomicWaker;
use slab::Slab;

use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;
use crate::metrics::Counter;
use crate::stage::CancelDecision;

/// An executor that cancels its pending jobs when shut down.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new().with_cancel_on_shutdown();
/// let h = exec.submit(|| async {
///     tokio::time::sleep(Duration::from_secs(3600)).await;
///     Ok::<_, ()>(())
/// });
/// exec.shutdown();
/// assert!(h.await.unwrap_err().is_cancelled());
/// # }
/// ```
#[derive(Clone)]
pub struct CancelOnShutdown<S> {
    inner: S,
    registry: Arc<Registry>,
}

pub(crate) struct Registry {
    jobs: Mutex<Slab<Arc<Entry>>>,
}

pub(crate) struct Entry {
    ctx: JobContext,
    cancelled: std::sync::atomic::AtomicBool,
    waker: AtomicWaker,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Slab<Arc<Entry>>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<S: fmt::Debug> fmt::Debug for CancelOnShutdown<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelOnShutdown")
            .field("inner", &self.inner)
            .field("pending", &self.registry.lock().len())
            .finish()
    }
}

impl<S> CancelOnShutdown<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        CancelOnShutdown { inner, registry: Arc::new(Registry { jobs: Mutex::new(Slab::new()) }) }
    }

    crate::macros::core_accessors!(
        "cancel_on_shutdown::CancelOnShutdown",
        "",
        "shutting the unwrapped executor down does not cancel them"
    );

    /// How many jobs are pending in this layer.
    pub fn pending(&self) -> usize {
        self.registry.lock().len()
    }
}

impl<S: Lifecycle> CancelOnShutdown<S> {
    /// Cancels every pending job now (what shutdown does first); returns how many jobs
    /// this call cancelled at once (jobs already cancelled by their owner are not counted).
    pub fn cancel_pending(&self) -> usize {
        let entries: Vec<Arc<Entry>> = self.registry.lock().drain().collect();
        let rt = self.inner.runtime();
        let mut cancelled = 0;
        for entry in entries {
            let e = entry.clone();
            let accepted = entry.ctx.cancel_from_stage(rt, move || {
                e.cancelled.store(true, std::sync::atomic::Ordering::Release);
                e.waker.wake();
            });
            // Count only the jobs this call cancelled (`on_cancel` ran), not the ones
            // their owner had cancelled already.
            if matches!(accepted, CancelDecision::Now(true))
                && entry.cancelled.load(std::sync::atomic::Ordering::Acquire)
            {
                cancelled += 1;
            }
        }
        cancelled
    }
}

impl<S: Lifecycle> Lifecycle for CancelOnShutdown<S> {
    crate::forward_lifecycle!("cancel_on_shutdown", no_shutdown);

    fn shutdown(&self) {
        let n = self.cancel_pending();
        Counter::new("more_executors_shutdown_cancel_total", self.name()).increment(n as u64);
        tracing::debug!(executor = self.name(), cancelled = n, "shutdown cancelled pending jobs");
        self.inner.shutdown();
    }
}

impl<S, J> Executor<J> for CancelOnShutdown<S>
where
    S: Executor<J>,
{
    type Future = CancelOnShutdownFuture<S::Future>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        let entry = Arc::new(Entry {
            ctx: ctx.clone(),
            cancelled: std::sync::atomic::AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let key = self.registry.lock().insert(entry.clone());
        CancelOnShutdownFuture::new(self.inner.call(job, ctx), entry, key, self.registry.clone())
    }
}
