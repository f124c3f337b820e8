//! The driver task of a job: runs the stack's composed stage future and records its outcome.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::{Error, Panic};
use crate::handle::control::Control;
use crate::metrics::StageTimer;

pin_project! {
    /// Polls the stage future inside the job's span; when it resolves (or panics), records
    /// the outcome under the job's lock and returns what the handle resolves to.
    ///
    /// Written by hand rather than as an `async fn` so the stage future is stored once in
    /// the task (an `async fn` keeps both its argument and the awaited value).
    pub(crate) struct JobTask<F> {
        // The stage future, until the outcome is recorded; then dropped here (see
        // `drop_stage`). Still present when the task is dropped (its runtime shut down):
        // the drop records "shut down" so done callbacks still run.
        #[pin]
        fut: Option<F>,
        ctl: Arc<Control>,
        timer: StageTimer,
        // Boxed, and absent when tracing is off for job spans: an inline `Span` would make
        // most jobs' tasks cross tokio's 128-byte task size step.
        span: Option<Box<tracing::Span>>,
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
    pub(crate) fn new(fut: F, ctl: Arc<Control>, timer: StageTimer, span: tracing::Span) -> Self {
        let span = (!span.is_disabled()).then(|| Box::new(span));
        JobTask { fut: Some(fut), ctl, timer, span }
    }
}

impl<F, T, E> Future for JobTask<F>
where
    F: Future<Output = Result<T, Error<E>>>,
    T: 'static,
    E: 'static,
{
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.as_ref().map(|s| s.enter());
        // A panic in a layer's user code (a map function) becomes this job's outcome, and
        // the stage future stays alive until the outcome is recorded: a stage that refuses
        // cancels (a blocking job that already ran) keeps refusing until then.
        let mut fut = this.fut;
        let Some(stage) = fut.as_mut().as_pin_mut() else {
            return Poll::Ready(Err(Error::Panicked("job task polled after it finished".into())));
        };
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| stage.poll(cx))) {
            Ok(p) => ready!(p),
            Err(p) => Err(Panic::from_payload(&*p).into_error()),
        };
        let result = this.ctl.finish(outcome);
        this.timer.finish(&result);
        drop_stage(this.ctl.id, || fut.set(None));
        Poll::Ready(result)
    }
}
