//! The driver task of a job: runs the stack's composed stage future and records its outcome.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::{Error, Panic};
use crate::handle::control::Control;
use crate::metrics::{Outcome, StageTimer};

pin_project! {
    /// Polls the stage future inside the job's span; when it resolves (or panics), records
    /// the outcome under the job's lock. The task's output is what the handle resolves to,
    /// its error boxed.
    ///
    /// Written by hand rather than as an `async fn` so the stage future is stored once in
    /// the task (an `async fn` keeps both its argument and the awaited value). The span and
    /// the runtime's count of the task live in the job's state, not here, and the error is
    /// boxed in the output: the task of a small job (an async block returning a number)
    /// then fits tokio's 128-byte task size class instead of 256.
    pub(crate) struct JobTask<F> {
        // The stage future, until the outcome is recorded; then dropped here (see
        // `drop_stage`). Still present when the task is dropped (its runtime shut down, or
        // the job was cancelled): the drop records "shut down" so done callbacks still run.
        #[pin]
        fut: Option<F>,
        ctl: Arc<Control>,
        timer: StageTimer,
    }

    impl<F> PinnedDrop for JobTask<F> {
        fn drop(this: Pin<&mut Self>) {
            // A no-op when the outcome was recorded (the phase has moved on).
            if this.fut.is_some() {
                this.ctl.abandon();
            }
        }
    }
}

/// Drops a job's stage future (by running `drop`) once its outcome is recorded. The stage
/// future may still own user values (the future a flat_map step returned) whose `Drop`
/// panics: the panic is logged, and the recorded outcome stands.
pub(crate) fn drop_stage(job_id: u64, drop: impl FnOnce()) {
    if let Err(panic) = crate::error::catch_panic(drop) {
        tracing::error!(job_id, %panic, "a job's future panicked when dropped after its outcome was recorded; the outcome stands");
    }
}

impl<F> JobTask<F> {
    pub(crate) fn new(fut: F, ctl: Arc<Control>, timer: StageTimer) -> Self {
        JobTask { fut: Some(fut), ctl, timer }
    }
}

impl<F, T, E> Future for JobTask<F>
where
    F: Future<Output = Result<T, Error<E>>>,
    T: 'static,
    E: 'static,
{
    type Output = Result<T, Box<Error<E>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.ctl.span().map(|s| s.enter());
        // A panic in a layer's user code (a map function) becomes this job's outcome, and
        // the stage future stays alive until the outcome is recorded: a stage that refuses
        // cancels (a blocking job that already ran) keeps refusing until then.
        let mut fut = this.fut;
        let Some(stage) = fut.as_mut().as_pin_mut() else {
            return Poll::Ready(Err(Box::new(Error::Panicked("job task polled after it finished".into()))));
        };
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| stage.poll(cx))) {
            Ok(p) => ready!(p),
            Err(p) => Err(Panic::from_payload(&*p).into_error()),
        };
        let finished = this.ctl.finish_task(outcome);
        this.timer.finish_as(Outcome::of(finished.output.as_ref().map_err(|e| &**e)));
        drop_stage(this.ctl.id, || fut.set(None));
        drop(finished.tracked);
        Poll::Ready(finished.output)
    }
}

#[cfg(all(test, not(loom), not(feature = "metrics"), target_pointer_width = "64"))]
mod tests {
    use std::future::Future;

    use crate::base::AsyncJobFuture;
    use crate::executor::Executor;
    use crate::handle::JobContext;

    use super::JobTask;

    fn stage_of<F, Fut>(job: F) -> AsyncJobFuture<Fut, ()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u64, ()>> + Send + 'static,
    {
        crate::AsyncExecutor::new().call(job, &JobContext::detached())
    }

    // tokio keeps a task's future and its output in one slot of a 128-byte task when the
    // slot needs at most 24 bytes (x86-64: 96 bytes of header, scheduler, id and trailer,
    // then the slot's tag). These sizes are what lets a small job's driver task fit that
    // class instead of 256 bytes.
    #[test]
    fn a_small_async_jobs_driver_task_is_three_words_with_a_two_word_output() {
        let stage = stage_of(|| async { Ok(1) });
        assert_eq!(std::mem::size_of_val(&stage), 16, "the job's future and the job's state");
        let task = JobTask::new(stage, JobContext::detached().ctl, crate::metrics::StageTimer::idle());
        assert_eq!(std::mem::size_of_val(&task), 24);
        assert_eq!(output_size(&task), 16, "the value, or the boxed error");
    }

    fn output_size<F: Future>(_: &F) -> usize {
        std::mem::size_of::<F::Output>()
    }
}
