//! The futures of [`Job::wait`](super::Job::wait) and [`Job::close`](super::Job::close).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use more_executors_core::Error;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::Job;
use super::cell::Stopper;

pin_project! {
    /// The future of [`Job::wait`]: the job's result, or [`Error::TimedOut`] once the
    /// timeout expired and the job was closed (its outcome is then
    /// [`Outcome::TimedOut`](super::Outcome::TimedOut)).
    ///
    /// Dropping it before the timeout drops the [`Job`]: the job is detached, not cancelled.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.spawn(async { Ok::<_, String>(1) }).await.unwrap();
    /// let wait: more_executors_jobs::Wait<i32, String> = job.wait(Duration::from_secs(1));
    /// assert_eq!(wait.await, Ok(1));
    /// # }
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Wait<T, E> {
        job: Job<T, E>,
        #[pin]
        sleep: Sleep,
        timeout: Duration,
        closing: Option<JobClose>,
    }
}

impl<T, E> fmt::Debug for Wait<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").field("job", &self.job).field("timeout", &self.timeout).finish()
    }
}

impl<T, E> Wait<T, E> {
    pub(super) fn new(job: Job<T, E>, timeout: Duration) -> Self {
        Wait { job, sleep: tokio::time::sleep(timeout), timeout, closing: None }
    }
}

impl<T, E> Future for Wait<T, E> {
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.closing.is_none() {
            if let Poll::Ready(r) = Pin::new(&mut *this.job).poll(cx) {
                return Poll::Ready(r);
            }
            ready!(this.sleep.poll(cx));
            *this.closing = Some(this.job.stop_timed_out(*this.timeout));
        }
        if let Some(closing) = this.closing.as_mut() {
            ready!(Pin::new(closing).poll(cx));
        }
        // The stop decided the outcome (or the job finished just before): the result is there.
        match Pin::new(&mut *this.job).poll(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => Poll::Ready(Err(Error::TimedOut(*this.timeout))),
        }
    }
}

/// The future of [`Job::close`]: resolves once the job has stopped, to `true` when the job
/// was cancelled rather than finishing on its own.
///
/// An async job stops by itself within the scheduler's `close_timeout` (it is aborted
/// then); for a running blocking job, which cannot be interrupted, this waits at most
/// `close_timeout`. The close itself happened when [`Job::close`] was called; dropping
/// this future only stops waiting.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let s = more_executors_jobs::Scheduler::new();
/// let job = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let closing: more_executors_jobs::JobClose = job.close();
/// assert!(job.await.unwrap_err().is_cancelled(), "the close already happened");
/// assert!(closing.await);
/// # }
/// ```
#[must_use = "the job is already closed; await this to wait until it has stopped"]
pub struct JobClose {
    cell: Arc<dyn Stopper>,
    deadline: Option<Pin<Box<Sleep>>>,
    cancelled: bool,
}

impl fmt::Debug for JobClose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobClose").field("cancelled", &self.cancelled).finish()
    }
}

impl JobClose {
    pub(super) fn new(cell: Arc<dyn Stopper>, cancelled: bool) -> Self {
        let deadline = cell.stop_deadline().map(|d| Box::pin(tokio::time::sleep(d)));
        JobClose { cell, deadline, cancelled }
    }
}

impl Future for JobClose {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = &mut *self;
        let expired = this.deadline.as_mut().is_some_and(|d| d.as_mut().poll(cx).is_ready());
        if expired || this.cell.poll_stopped(cx).is_ready() {
            return Poll::Ready(this.cancelled);
        }
        Poll::Pending
    }
}
