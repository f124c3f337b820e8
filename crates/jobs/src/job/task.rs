//! The tasks that run jobs: a future as a tokio task, a closure on a blocking thread.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use more_executors_core::Error;
use more_executors_core::stage::{Panic, catch_panic};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::cell::{Cell, FORCE, Finisher, STOP};
use crate::scheduler::shared::Shared;
use crate::seam::Work;

/// A job's future.
pub(crate) struct AsyncWork<F>(pub(crate) F);

/// A blocking job's closure.
pub(crate) struct BlockingWork<F>(pub(crate) F);

fn span<W, T, E>(cell: &Cell<W, T, E>) -> tracing::Span {
    tracing::debug_span!(
        "job",
        scheduler = %cell.shared.cfg.name,
        job_id = cell.head.id,
        job_name = &*cell.head.name(),
        kind = cell.head.kind.as_str(),
    )
}

impl<F, T, E> Work<T, E> for AsyncWork<F>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn launch(self, cell: Arc<Cell<Self, T, E>>, shared: &Shared) {
        let span = span(&cell);
        let aux = (!span.is_disabled()).then(|| Box::new(Aux { span: Some(span), escalate: None }));
        let task = JobTask { fut: Some(self.0), aux, guard: Finisher::new(cell) };
        drop(shared.rt().handle().spawn(task));
    }
}

impl<F, T, E> Work<T, E> for BlockingWork<F>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn launch(self, cell: Arc<Cell<Self, T, E>>, shared: &Shared) {
        let span = span(&cell);
        let mut guard = Finisher::new(cell);
        drop(shared.rt().handle().spawn_blocking(move || {
            let stopped = guard.cell().is_some_and(|c| c.flags.load(Ordering::Acquire) & (STOP | FORCE) != 0);
            if stopped {
                guard.finish(Err(Error::Cancelled), false);
                return;
            }
            let result = {
                let _enter = span.enter();
                catch_panic(self.0).map_err(Panic::into_error).and_then(|r| r.map_err(Error::Job))
            };
            guard.finish(result, false);
        }));
    }
}

/// What a job's task needs only sometimes, boxed together so that the task of a small job
/// fits tokio's 128-byte task size class: the job's span (when job spans are enabled), and
/// the timer that turns an ignored stop request into an abort.
#[derive(Default)]
struct Aux {
    span: Option<tracing::Span>,
    escalate: Option<Pin<Box<Sleep>>>,
}

pin_project! {
    /// The task of an async job: polls the job's future, watching for stop requests.
    /// (The bound on `E` is its [`Finisher`]'s.)
    pub(crate) struct JobTask<F, T, E>
    where
        E: fmt::Display,
        E: 'static,
    {
        #[pin]
        fut: Option<F>,
        aux: Option<Box<Aux>>,
        // Declared last: the job's future is dropped before the end is recorded.
        guard: Finisher<AsyncWork<F>, T, E>,
    }
}

impl<F, T, E> Future for JobTask<F, T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            let Some(cell) = this.guard.cell() else { return Poll::Ready(()) };
            let flags = cell.flags.load(Ordering::Acquire);
            if flags & FORCE != 0 {
                this.fut.set(None);
                this.guard.finish(Err(Error::Cancelled), true);
                return Poll::Ready(());
            }
            if flags & STOP != 0 {
                if cell.head.token.is_none() {
                    // Nothing to cooperate with: cancel by dropping the future.
                    this.fut.set(None);
                    this.guard.finish(Err(Error::Cancelled), false);
                    return Poll::Ready(());
                }
                let aux = this.aux.get_or_insert_with(Default::default);
                if aux.escalate.is_none() {
                    aux.escalate = Some(Box::pin(tokio::time::sleep(cell.shared.cfg.close_timeout)));
                }
            }
            if let Some(sleep) = this.aux.as_mut().and_then(|a| a.escalate.as_mut()) {
                if sleep.as_mut().poll(cx).is_ready() {
                    tracing::debug!(job_id = cell.head.id, "job ignored its cancellation token; aborted");
                    cell.flags.fetch_or(FORCE, Ordering::AcqRel);
                    cell.overrun();
                    this.fut.set(None);
                    this.guard.finish(Err(Error::Cancelled), true);
                    return Poll::Ready(());
                }
            }
            let Some(fut) = this.fut.as_mut().as_pin_mut() else { return Poll::Ready(()) };
            let polled = {
                let _enter = this.aux.as_ref().and_then(|a| a.span.as_ref()).map(|s| s.enter());
                catch_panic(|| fut.poll(cx)).map_err(Panic::into_error::<E>)
            };
            match polled {
                Ok(Poll::Pending) => {
                    let cell = this.guard.cell().expect("present while running");
                    cell.waker.register(cx.waker());
                    if cell.flags.load(Ordering::Acquire) != flags {
                        // A stop arrived while polling: act on it now.
                        continue;
                    }
                    return Poll::Pending;
                }
                Ok(Poll::Ready(r)) => {
                    this.fut.set(None);
                    this.guard.finish(r.map_err(Error::Job), false);
                    return Poll::Ready(());
                }
                Err(panicked) => {
                    this.fut.set(None);
                    this.guard.finish(Err(panicked), false);
                    return Poll::Ready(());
                }
            }
        }
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::JobTask;

    /// A job future with one byte of state, like an `async` block that holds nothing
    /// across an `.await`.
    struct Small(u8);

    impl Future for Small {
        type Output = Result<u64, &'static str>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            Poll::Ready(Ok(u64::from(self.0)))
        }
    }

    // tokio keeps a task's future and its output in one slot of a 128-byte task when the
    // slot needs at most 24 bytes (x86-64: 96 bytes of header, scheduler, id and trailer,
    // then the slot's tag). A small job's task stays within it.
    #[test]
    fn a_small_jobs_task_is_three_words() {
        assert_eq!(std::mem::size_of::<JobTask<Small, u64, &'static str>>(), 24);
    }
}
