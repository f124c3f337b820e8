use std::sync::Arc;

use crate::error::{Error, Panic, catch_panic};
use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;

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
    /// An inline executor named `"default"`, whose layers' tasks (a poll loop, a retry's
    /// wait) run on the current runtime (or an owned background runtime when there is none).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures name and runtime.
    pub fn builder() -> InlineExecutorBuilder {
        InlineExecutorBuilder::new()
    }
}

super::name_and_runtime_builder! {
    /// Builds an [`InlineExecutor`].
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// let exec = InlineExecutor::builder().name("tests").runtime(Runtime::current_or_owned()).build();
    /// assert_eq!(exec.name(), "tests");
    /// ```
    InlineExecutorBuilder => InlineExecutor, "inline",
    "Runs the tasks of the layers above on this runtime (default: [`Runtime::current_or_owned`](crate::Runtime::current_or_owned)); jobs themselves run on the submitting thread."
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
        let result = catch_panic(job).map_err(Panic::into_error).and_then(|r| r.map_err(Error::Job));
        ctx.ctl.set_running(false);
        std::future::ready(result)
    }
}
