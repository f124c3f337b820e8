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

/// The builder of a base executor configured by a name and a runtime only: the struct, its
/// two setters and `build`. `$runtime_doc` says what the runtime is used for.
macro_rules! name_and_runtime_builder {
    ($(#[$doc:meta])* $builder:ident => $exec:ident, $kind:literal, $runtime_doc:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $builder {
            name: Option<std::sync::Arc<str>>,
            runtime: Option<$crate::Runtime>,
        }

        impl $builder {
            pub(crate) fn new() -> Self {
                $builder { name: None, runtime: None }
            }

            /// Names the executor (default `"default"`).
            pub fn name(mut self, name: impl Into<std::sync::Arc<str>>) -> Self {
                self.name = Some(name.into());
                self
            }

            #[doc = $runtime_doc]
            pub fn runtime(mut self, runtime: $crate::Runtime) -> Self {
                self.runtime = Some(runtime);
                self
            }

            /// Builds the executor.
            pub fn build(self) -> $exec {
                let name = self.name.unwrap_or_else($crate::config::default_name);
                let runtime = self.runtime.unwrap_or_else($crate::Runtime::current_or_owned);
                $exec { base: $crate::base::BaseInner::new($kind, name, runtime) }
            }
        }
    };
}
pub(crate) use name_and_runtime_builder;
