//! The [`Executor`] and [`Lifecycle`] traits and job submission.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use crate::error::{Error, Panic};
use crate::handle::control::Control;
use crate::handle::{Handle, JobContext};
use crate::job_task::JobTask;
use crate::runtime::Runtime;
use crate::stage::StageFuture;

/// What every executor has regardless of the jobs it takes: a name, a runtime, and a
/// shutdown.
///
/// Layers forward these to the executor they wrap, so shutting down the outermost
/// executor of a stack shuts down every stage inside it.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// let exec = AsyncExecutor::builder().name("uploads").build();
/// let stack = exec.with_concurrency_limit(4).unwrap();
/// assert_eq!(stack.name(), "uploads", "layers inherit the name");
/// stack.shutdown();
/// assert!(stack.is_shut_down());
/// ```
pub trait Lifecycle: Send + Sync {
    /// The executor's name (default `"default"`), used in tracing spans and metric labels.
    /// A layer reports its own name if it was given one, else its inner executor's.
    fn name(&self) -> &str;

    /// What kind of stage this is (`"async"`, `"blocking"`, `"map"`, `"throttle"`, ...).
    fn kind(&self) -> &'static str;

    /// The runtime that drives this executor's jobs (the base executor's).
    fn runtime(&self) -> &Runtime;

    /// Stops accepting jobs; later submissions resolve at once to
    /// [`Error::ShutDown`](crate::Error::ShutDown). Propagates inward through every layer.
    /// Jobs already submitted run to completion unless a layer (cancel-on-shutdown, poll)
    /// resolves them. Idempotent.
    fn shutdown(&self);

    /// True once [`shutdown`](Self::shutdown) was called on this executor or an outer layer.
    fn is_shut_down(&self) -> bool {
        self.runtime().is_shut_down()
    }

    /// True when the base executor runs jobs on the submitting thread (the inline
    /// executor); such jobs are resolved without spawning a driver task when possible.
    fn runs_inline(&self) -> bool {
        false
    }

    /// The slots of the concurrency limit nearest the outside of this stack, if it has one.
    ///
    /// [`ExecutorService`](crate::service::ExecutorService) waits on them in `poll_ready`,
    /// so a stack used as a `tower::Service` is ready only when a job would start at once.
    /// Layers forward it to their inner executor ([`forward_lifecycle!`](crate::stage::forward_lifecycle)
    /// does); a [`ConcurrencyLimit`](crate::limit::ConcurrencyLimit) answers with its own.
    /// The default is `None`: no limit, always ready.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let exec = InlineExecutor::new();
    /// assert!(exec.capacity().is_none());
    /// let limited = exec.with_concurrency_limit(2).unwrap().with_map(|n: u32| n + 1);
    /// assert_eq!(limited.capacity().map(|c| c.limit()), Some(2), "found under the map layer");
    /// ```
    fn capacity(&self) -> Option<crate::limit::Capacity> {
        None
    }
}

/// Something you submit a job to and get a [`Handle`] back from at once.
///
/// `J` is the job type: a closure returning a future for [`AsyncExecutor`](crate::AsyncExecutor),
/// a plain closure for [`BlockingPool`](crate::BlockingPool) and
/// [`InlineExecutor`](crate::InlineExecutor). A job that a layer may run more than once
/// (retry) must be `Clone`.
///
/// # Composition
/// [`call`](Self::call) builds the lazy *stage future* of a job; layers wrap the inner
/// executor's stage future in their own, so a whole stack is one statically composed future.
/// [`submit`](Self::submit) spawns that future once as the job's driver task and returns the
/// handle: a job costs the base executor's own work plus at most one task, however deep the
/// stack.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let exec = AsyncExecutor::new().with_map(|n: u32| n + 1);
/// let handles: Vec<_> = (0..3u32).map(|i| exec.submit(move || async move { Ok::<_, ()>(i) })).collect();
/// let mut out = Vec::new();
/// for h in handles {
///     out.push(h.await.unwrap());
/// }
/// assert_eq!(out, [1, 2, 3]);
/// # }
/// ```
pub trait Executor<J>: Lifecycle {
    /// The stage future built by [`call`](Self::call). Every executor's stage future is a
    /// [`StageFuture`]: it resolves to `Result<T, Error<E>>`, and [`OutputOf`] and
    /// [`ErrorOf`] name `T` and `E`.
    ///
    /// The trait asks only `Send + 'static` here, and a layer's impl states no bound that
    /// mentions its inner executor's types: the stage future's own [`Future`] impl carries
    /// those bounds, and [`submit`](Self::submit) checks them once the job type is known.
    /// That keeps type-checking of a stack linear in its depth (see [`stage`](crate::stage)).
    type Future: Send + 'static;

    /// Builds the stage future for `job`. Used by layers; applications call
    /// [`submit`](Self::submit). The future must honour `ctx`'s cancel rules: a stage that
    /// cannot be interrupted installs [`CancelGate::Refuse`](crate::stage::CancelGate) while it runs.
    fn call(&self, job: J, ctx: &JobContext) -> Self::Future;

    /// Submits `job` and returns its handle at once, without waiting.
    ///
    /// After [`shutdown`](Lifecycle::shutdown), the handle is already failed with
    /// [`Error::ShutDown`](crate::Error::ShutDown). Never blocks and never panics.
    fn submit(&self, job: J) -> Handle<OutputOf<Self, J>, ErrorOf<Self, J>>
    where
        Self: Sized,
        Self::Future: StageFuture<Ok: Send + 'static, Err: Send + 'static>,
    {
        submit_stage(self, move |ctx| self.call(job, ctx))
    }
}

/// The value a job `J` submitted to executor `X` resolves to on success.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::{ErrorOf, OutputOf};
///
/// fn first<X, J>(exec: &X, job: J) -> Handle<OutputOf<X, J>, ErrorOf<X, J>>
/// where
///     X: SubmitExecutor<J>,
/// {
///     exec.submit(job)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let exec = AsyncExecutor::new().with_map(|n: u32| n * 2);
/// assert_eq!(first(&exec, || async { Ok::<_, ()>(21) }).await, Ok(42));
/// # }
/// ```
pub type OutputOf<X, J> = <<X as Executor<J>>::Future as StageFuture>::Ok;

/// The job's own error type of a job `J` submitted to executor `X` (what
/// [`Error::Job`](crate::Error::Job) carries). See [`OutputOf`].
pub type ErrorOf<X, J> = <<X as Executor<J>>::Future as StageFuture>::Err;

/// An executor that can [`submit`](Executor::submit) jobs of type `J`: the bound to write in
/// generic code that submits (it implies that the stage future resolves to
/// `Result<OutputOf<Self, J>, Error<ErrorOf<Self, J>>>` with sendable parts).
///
/// Implemented for every such executor; layers implement [`Executor`] only. See
/// [`OutputOf`] for an example.
pub trait SubmitExecutor<J>:
    Executor<J, Future: StageFuture<Ok: Send + 'static, Err: Send + 'static>> + Sized
{
}

impl<X, J> SubmitExecutor<J> for X where
    X: Executor<J, Future: StageFuture<Ok: Send + 'static, Err: Send + 'static>> + Sized
{
}

/// Spawns a stage future as a job of `exec`: the building block of
/// [`Executor::submit`], for layers that offer their own submit variants (a per-job
/// timeout, waiting for a free slot).
///
/// `make` receives the new job's [`JobContext`] and builds the stage future; the future is
/// driven by one task on `exec`'s runtime (or, for inline executors, resolved on the spot
/// when it is ready at once). After shutdown the handle is already failed with
/// [`Error::ShutDown`].
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::stage::submit_stage;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let h = submit_stage(&exec, |_ctx| async { Ok::<_, Error<()>>(5) });
/// assert_eq!(h.await, Ok(5));
/// # }
/// ```
pub fn submit_stage<X, F, T, E>(exec: &X, make: impl FnOnce(&JobContext) -> F) -> Handle<T, E>
where
    X: Lifecycle + ?Sized,
    F: Future<Output = Result<T, Error<E>>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    if exec.is_shut_down() {
        return Handle::from_error(Error::ShutDown);
    }
    let rt = exec.runtime();
    if rt.is_shut_down() {
        return Handle::from_error(Error::ShutDown);
    }
    let mut timer = rt.job_metrics().start();
    let inline = exec.runs_inline();
    let ctl = Control::for_task(
        |job_id| tracing::debug_span!("job", executor = exec.name(), layer = exec.kind(), job_id),
        (!inline).then(|| rt.track()),
    );
    let ctx = JobContext::new(ctl.clone());
    let fut = {
        let _enter = ctl.span().map(|s| s.enter());
        make(&ctx)
    };
    if inline {
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let mut pinned = Box::pin(fut);
        // A panic in a layer's user code (a map function) fails this handle; it must not
        // unwind into the submitter.
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| pinned.as_mut().poll(&mut cx)))
            .unwrap_or_else(|p| Poll::Ready(Err(Panic::from_payload(&*p).into_error())));
        if let Poll::Ready(r) = polled {
            let r = ctl.finish(r);
            timer.finish(&r);
            crate::job_task::drop_stage(ctl.id, move || drop(pinned));
            return Handle::from_result(r);
        }
        ctl.track(rt.track());
        return Handle::from_task(rt.handle().spawn(JobTask::new(pinned, ctl.clone(), timer)), ctl);
    }
    // Spawned untracked: the job's state holds the runtime's count of this task (`track`
    // above), which keeps the task small.
    Handle::from_task(rt.handle().spawn(JobTask::new(fut, ctl.clone(), timer)), ctl)
}
