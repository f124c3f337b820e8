use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use more_executors_core::metrics::Counter;
use more_executors_core::stage::StageFuture;
use more_executors_core::stage::{Panic, deadline_after};
use more_executors_core::{Error, Runtime};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

pin_project! {
    /// Stage future of [`Timeout`](crate::Timeout): the inner stage future raced against
    /// the job's deadline.
    ///
    /// The inner stage is polled first, so a job that is ready never registers a timer;
    /// the timer is created at the first poll that finds the job pending, and there is at
    /// most one per job. On expiry the inner stage future is dropped at once (which cancels
    /// it, as far as the inner stage can be cancelled) and the future resolves to
    /// [`Error::TimedOut`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: Option<F>,
        // Boxed and created only when the job is found pending: a job ready at once costs
        // no timer and no space for one.
        sleep: Option<Pin<Box<Sleep>>>,
        deadline: Instant,
        duration: Duration,
        // Only kept for inline executors, whose first poll may happen outside a runtime.
        runtime: Option<Runtime>,
        timeouts: Counter,
        // Set when the per-job timeout function panicked: the job never ran.
        panicked: Option<Box<Panic>>,
    }
}

impl<F> TimeoutFuture<F> {
    /// `start` is the submission time, taken before the inner stage future was built.
    /// `runtime` is the executor's runtime; it is kept only when `inline` (see the field).
    pub(crate) fn new(
        inner: F,
        start: Instant,
        duration: Duration,
        runtime: &Runtime,
        inline: bool,
        timeouts: Counter,
    ) -> Self {
        // A duration too large to add is as good as no deadline.
        let deadline = deadline_after(start, duration);
        TimeoutFuture {
            inner: Some(inner),
            sleep: None,
            deadline,
            duration,
            runtime: inline.then(|| runtime.clone()),
            timeouts,
            panicked: None,
        }
    }

    /// A future failing at once with [`Error::Panicked`]: the timeout function panicked.
    pub(crate) fn panicked(panic: Panic, timeouts: Counter) -> Self {
        TimeoutFuture {
            inner: None,
            sleep: None,
            deadline: Instant::now(),
            duration: Duration::ZERO,
            runtime: None,
            timeouts,
            panicked: Some(Box::new(panic)),
        }
    }

    /// The job's deadline (its submission time plus its timeout).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the timer has been created (the job was found pending at least once).
    pub fn has_timer(&self) -> bool {
        self.sleep.is_some()
    }
}

impl<F> fmt::Debug for TimeoutFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutFuture")
            .field("duration", &self.duration)
            .field("has_timer", &self.has_timer())
            .field("done", &self.inner.is_none())
            .finish()
    }
}

impl<F> Future for TimeoutFuture<F>
where
    F: StageFuture,
{
    type Output = Result<F::Ok, Error<F::Err>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(panic) = this.panicked.take() {
            return Poll::Ready(Err(panic.into_error()));
        }
        let inner = this.inner.as_mut().as_pin_mut().expect("TimeoutFuture polled after it completed");
        if let Poll::Ready(out) = inner.poll(cx) {
            this.inner.set(None);
            return Poll::Ready(out);
        }
        if this.sleep.is_none() {
            // An inline executor polls a job first inside `submit`, maybe outside any
            // runtime; the timer must be created inside one.
            let _enter = match this.runtime {
                Some(rt) if tokio::runtime::Handle::try_current().is_err() => Some(rt.handle().enter()),
                _ => None,
            };
            *this.sleep = Some(Box::pin(tokio::time::sleep_until(*this.deadline)));
        }
        let sleep = this.sleep.as_mut().expect("created above");
        ready!(sleep.as_mut().poll(cx));
        // Drop the inner stage now: this is what cancels it.
        this.inner.set(None);
        this.timeouts.increment(1);
        tracing::debug!(timeout = ?this.duration, "job timed out");
        Poll::Ready(Err(Error::TimedOut(*this.duration)))
    }
}
