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
        #[pin]
        fut: F,
        ctl: Arc<Control>,
        timer: StageTimer,
        // Boxed, and absent when tracing is off for job spans: an inline `Span` would make
        // most jobs' tasks cross tokio's 128-byte task size step.
        span: Option<Box<tracing::Span>>,
        // Set once the outcome is recorded; if the task is dropped before (its runtime
        // shut down), the drop records "shut down" so done callbacks still run.
        recorded: bool,
    }

    impl<F> PinnedDrop for JobTask<F> {
        fn drop(this: Pin<&mut Self>) {
            if !this.recorded {
                this.ctl.abandon();
            }
        }
    }
}

/// Dropped with a job's driver task: when the task ends without having recorded the
/// outcome (its runtime shut down), records it as shut down so done callbacks still run.
pub(crate) struct AbandonGuard {
    ctl: Option<Arc<Control>>,
}

impl AbandonGuard {
    pub(crate) fn new(ctl: Arc<Control>) -> Self {
        AbandonGuard { ctl: Some(ctl) }
    }

    /// The outcome was recorded: nothing to do on drop.
    pub(crate) fn disarm(&mut self) {
        self.ctl = None;
    }
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if let Some(ctl) = self.ctl.take() {
            ctl.abandon();
        }
    }
}

impl<F> JobTask<F> {
    pub(crate) fn new(fut: F, ctl: Arc<Control>, timer: StageTimer, span: tracing::Span) -> Self {
        let span = (!span.is_disabled()).then(|| Box::new(span));
        JobTask { fut, ctl, timer, span, recorded: false }
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
        let fut = this.fut;
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(p) => ready!(p),
            Err(p) => Err(Panic::from_payload(&*p).into_error()),
        };
        *this.recorded = true;
        let result = this.ctl.finish(outcome);
        this.timer.finish(&result);
        Poll::Ready(result)
    }
}
