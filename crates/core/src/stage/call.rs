//! [`CallStage`]: an executor's `call` with the executor's type erased.

use std::sync::Arc;

use crate::executor::{Executor, Lifecycle};
use crate::stage::JobContext;

/// An executor's [`call`](Executor::call) with the executor's type erased.
///
/// A stage future that calls its inner executor later (a job queued by a concurrency limit,
/// a retried job) keeps a [`StageCaller`] instead of the inner executor itself, so the
/// future's type names the inner *future* once and not the whole inner stack a second time.
/// Calling it costs one dynamic call, once per attempt. The erased executor's
/// [`Lifecycle`] (name, runtime, shutdown state) stays reachable through it.
///
/// ```
/// use std::sync::Arc;
/// use more_executors_core::prelude::*;
/// use more_executors_core::stage::{StageCaller, StageFuture};
/// use more_executors_core::stage::{JobContext, submit_stage};
///
/// fn caller<X, J>(exec: X) -> StageCaller<J, X::Future>
/// where
///     X: Executor<J> + 'static,
/// {
///     Arc::new(exec)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let exec = AsyncExecutor::new();
/// let call = caller(exec.clone());
/// let h = submit_stage(&exec, move |ctx: &JobContext| call.call_stage(|| async { Ok::<_, ()>(7) }, ctx));
/// assert_eq!(h.await, Ok(7));
/// # }
/// ```
pub trait CallStage<J>: Lifecycle {
    /// The stage future [`call_stage`](Self::call_stage) builds.
    type Future;

    /// Builds the stage future of `job`: [`Executor::call`] of the erased executor.
    fn call_stage(&self, job: J, ctx: &JobContext) -> Self::Future;
}

impl<X, J> CallStage<J> for X
where
    X: Executor<J>,
{
    type Future = X::Future;

    fn call_stage(&self, job: J, ctx: &JobContext) -> X::Future {
        self.call(job, ctx)
    }
}

/// A shared, type-erased [`CallStage`]: what a queued or retrying stage future holds to
/// reach its inner executor.
pub type StageCaller<J, F> = Arc<dyn CallStage<J, Future = F>>;
