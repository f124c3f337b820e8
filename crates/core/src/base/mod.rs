//! Base executors: where jobs actually run.

mod async_executor;
mod blocking;
mod inline;

pub use async_executor::{AsyncExecutor, AsyncExecutorBuilder, AsyncJobFuture};
pub use blocking::{BlockingFuture, BlockingPool, BlockingPoolBuilder};
pub use inline::{InlineExecutor, InlineExecutorBuilder, InlineFuture};

use std::sync::Arc;

use crate::metrics::ExecMetrics;
use crate::runtime::Runtime;

/// What every base executor has; executors hold it in one `Arc` so cloning one (as layers
/// do per job) is a single reference-count increment.
#[derive(Debug)]
pub(crate) struct BaseInner {
    pub(crate) name: Arc<str>,
    pub(crate) runtime: Runtime,
    pub(crate) metrics: ExecMetrics,
}

impl BaseInner {
    pub(crate) fn new(kind: &'static str, name: Arc<str>, runtime: Runtime) -> Arc<Self> {
        runtime.init_metrics(kind, &name);
        Arc::new(BaseInner { metrics: ExecMetrics::new(kind, &name), name, runtime })
    }

    pub(crate) fn shutdown(&self) {
        self.metrics.shutdown();
        self.runtime.shutdown();
    }
}

pub(crate) use crate::config::default_name;

/// The part of `Lifecycle` every base executor answers the same way from its
/// [`BaseInner`] field `base`: name, kind and runtime. Each executor writes its own
/// `shutdown` (and `runs_inline` where it differs).
macro_rules! base_lifecycle {
    ($kind:literal) => {
        fn name(&self) -> &str {
            &self.base.name
        }
        fn kind(&self) -> &'static str {
            $kind
        }
        fn runtime(&self) -> &$crate::Runtime {
            &self.base.runtime
        }
    };
}
pub(crate) use base_lifecycle;
