use std::sync::Arc;

use crate::error::{Error, catch_panic};
use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;
use crate::runtime::Runtime;

/// Runs each job on the submitting thread, inside `submit` (the original's synchronous
/// executor). Useful for tests and for stacks whose interesting part is a layer (poll,
/// retry) rather than where the job runs.
///
/// A job is `FnOnce() -> Result<T, E>`. When no layer needs to wait, the handle is
/// returned already resolved and no task is spawned. Cancel always returns `false` once
/// the job ran (it is finished).
///
/// ```
/// use more_executors_core::prelude::*;
///
/// let exec = InlineExecutor::new();
/// let h = exec.submit(|| Ok::<_, ()>(std::thread::current().id()));
/// assert!(h.is_done());
/// assert_eq!(h.wait().unwrap(), std::thread::current().id());
/// ```
#[derive(Clone, Debug)]
pub struct InlineExecutor {
    base: Arc<super::BaseInner>,
}

impl Default for InlineExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl InlineExecutor {
    /// An inline executor named `"default"`.
    pub fn new() -> Self {
        Self::with_name(super::DEFAULT_NAME)
    }

    /// An inline executor with the given name.
    pub fn with_name(name: impl Into<Arc<str>>) -> Self {
        Self::with_runtime(name, Runtime::current_or_owned())
    }

    /// An inline executor whose layers' tasks run on `runtime`.
    pub fn with_runtime(name: impl Into<Arc<str>>, runtime: Runtime) -> Self {
        InlineExecutor { base: super::BaseInner::new("inline", name.into(), runtime) }
    }
}

impl Lifecycle for InlineExecutor {
    crate::base::base_lifecycle!("inline");
    fn shutdown(&self) {
        self.base.shutdown();
    }
    fn runs_inline(&self) -> bool {
        true
    }
}

/// Stage future of an [`InlineExecutor`] job: the result, already computed.
pub type InlineFuture<T, E> = std::future::Ready<Result<T, Error<E>>>;

impl<F, T, E> Executor<F> for InlineExecutor
where
    F: FnOnce() -> Result<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    type Future = InlineFuture<T, E>;

    fn call(&self, job: F, ctx: &JobContext) -> Self::Future {
        ctx.ctl.set_running(true);
        let result = catch_panic(job).and_then(|r| r.map_err(Error::Job));
        ctx.ctl.set_running(false);
        std::future::ready(result)
    }
}
