use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::error::{Error, Panic};
use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;
use crate::handle::control::Control;

/// Runs async jobs (closures returning a future) as tokio tasks.
///
/// A job is `FnOnce() -> impl Future<Output = Result<T, E>>`. The closure is called when
/// the job is submitted (or when a layer such as a concurrency limit lets it start) and
/// its future runs in the job's driver task, so a bare `AsyncExecutor` costs one
/// `tokio::spawn` per job.
///
/// Cancel: always succeeds while the job runs; the job's future is dropped at its next
/// `.await` point. A panic in the job resolves its handle to
/// [`Error::Panicked`](crate::Error::Panicked) and affects nothing else.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let h = exec.submit(|| async { Err::<u8, _>("no") });
/// assert_eq!(h.await.unwrap_err().job_error(), Some(&"no"));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AsyncExecutor {
    base: Arc<super::BaseInner>,
}

impl Default for AsyncExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl AsyncExecutor {
    /// An executor named `"default"` on the current runtime (or an owned background
    /// runtime when there is none).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures name and runtime.
    pub fn builder() -> AsyncExecutorBuilder {
        AsyncExecutorBuilder::new()
    }
}

super::name_and_runtime_builder! {
    /// Builds an [`AsyncExecutor`].
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// let exec = AsyncExecutor::builder().name("fetch").runtime(Runtime::current_or_owned()).build();
    /// assert_eq!(exec.name(), "fetch");
    /// ```
    AsyncExecutorBuilder => AsyncExecutor, "async",
    "Runs on this runtime (default: [`Runtime::current_or_owned`](crate::Runtime::current_or_owned))."
}

impl Lifecycle for AsyncExecutor {
    crate::base::base_lifecycle!("async");
    fn shutdown(&self) {
        self.base.shutdown();
    }
}

impl<F, Fut, T, E> Executor<F> for AsyncExecutor
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    type Future = AsyncJobFuture<Fut, E>;

    fn call(&self, job: F, ctx: &JobContext) -> Self::Future {
        let running = Running { ctl: Some(ctx.ctl.clone()) };
        let state = match std::panic::catch_unwind(AssertUnwindSafe(job)) {
            Ok(fut) => JobState::Running { fut },
            Err(p) => {
                ctx.ctl.set_start_panic(Panic::from_payload(&*p));
                JobState::Failed
            }
        };
        AsyncJobFuture { state, running, _error: PhantomData }
    }
}

pin_project! {
    /// Stage future of an [`AsyncExecutor`] job: the job's own future, with panics
    /// turned into [`Error::Panicked`](crate::Error::Panicked).
    ///
    /// The job counts as running ([`Handle::is_running`](crate::Handle::is_running)) from
    /// the first poll of its future until that future resolves.
    pub struct AsyncJobFuture<Fut, E> {
        #[pin]
        state: JobState<Fut>,
        running: Running,
        _error: PhantomData<fn() -> E>,
    }
}

/// Reports to the job's control when the job's future starts and ends (the control is
/// released at the end).
struct Running {
    ctl: Option<Arc<Control>>,
}

impl Running {
    fn start(&self) {
        if let Some(ctl) = &self.ctl {
            ctl.mark_running();
        }
    }

    fn end(&mut self) {
        if let Some(ctl) = self.ctl.take() {
            ctl.set_running(false);
        }
    }
}

impl Drop for Running {
    // A job future dropped while it runs (an outer timeout expired) has stopped running.
    fn drop(&mut self) {
        self.end();
    }
}

pin_project! {
    #[project = JobStateProj]
    enum JobState<Fut> {
        Running { #[pin] fut: Fut },
        // Creating the job's future panicked. The panic waits in the job's state, so that
        // this future stays the job's future and one word (the job's state) for small jobs.
        Failed,
        Done,
    }
}

impl<Fut, E> fmt::Debug for AsyncJobFuture<Fut, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AsyncJobFuture")
    }
}

impl<Fut, T, E> Future for AsyncJobFuture<Fut, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut state = this.state;
        let out = match state.as_mut().project() {
            JobStateProj::Running { fut } => {
                this.running.start();
                std::task::ready!(crate::error::poll_job(fut, cx))
            }
            JobStateProj::Failed => Err(this
                .running
                .ctl
                .as_ref()
                .and_then(|ctl| ctl.take_start_panic())
                .map_or(Error::Panicked(String::new()), Panic::into_error)),
            JobStateProj::Done => Err(Error::Panicked("job polled after it finished".into())),
        };
        this.running.end();
        state.set(JobState::Done);
        Poll::Ready(out)
    }
}
