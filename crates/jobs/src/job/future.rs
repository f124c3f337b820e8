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
use crate::seam::Stopper;

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

pin_project! {
    /// The future of [`Job::wait_for`]: the job's result, or [`Error::TimedOut`] when the
    /// timeout expired first. A timeout does not touch the job: it keeps running (or
    /// waiting in the queue) and the [`Job`] stays usable.
    ///
    /// While this waits, a failure of the job is delivered here; once it has timed out (or
    /// was dropped), failures go to the error handler again until someone waits anew.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// let s = more_executors_jobs::Scheduler::new();
    /// let mut job = s.spawn(async { Ok::<_, String>(1) }).await.unwrap();
    /// let wait: more_executors_jobs::WaitFor<'_, i32, String> = job.wait_for(Duration::from_secs(1));
    /// assert_eq!(wait.await, Ok(1));
    /// # }
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct WaitFor<'a, T, E> {
        job: &'a mut Job<T, E>,
        #[pin]
        sleep: Sleep,
        timeout: Duration,
        finished: bool,
    }

    impl<T, E> PinnedDrop for WaitFor<'_, T, E> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.finished {
                this.job.stop_waiting();
            }
        }
    }
}

impl<T, E> fmt::Debug for WaitFor<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor").field("job", &self.job).field("timeout", &self.timeout).finish()
    }
}

impl<'a, T, E> WaitFor<'a, T, E> {
    pub(super) fn new(job: &'a mut Job<T, E>, timeout: Duration) -> Self {
        WaitFor { job, sleep: tokio::time::sleep(timeout), timeout, finished: false }
    }
}

impl<T, E> Future for WaitFor<'_, T, E> {
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(r) = Pin::new(&mut **this.job).poll(cx) {
            *this.finished = true;
            return Poll::Ready(r);
        }
        ready!(this.sleep.poll(cx));
        *this.finished = true;
        this.job.stop_waiting();
        Poll::Ready(Err(Error::TimedOut(*this.timeout)))
    }
}

/// How a [`Job::close`] ended: what [`JobClose`] resolves to, and what a
/// [`CloseReport`](crate::CloseReport) says of each job it acted on.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use more_executors_jobs::{JobClosed, Scheduler};
/// let s = Scheduler::builder().limit(1).build().unwrap();
/// let running = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let queued = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
/// assert_eq!(queued.close().await, JobClosed::NeverStarted);
/// assert_eq!(running.close().await, JobClosed::Stopped);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobClosed {
    /// It was waiting in the queue and was removed unrun.
    NeverStarted,
    /// It was running, was cancelled, and stopped within the close timeout.
    Stopped,
    /// It was running, was cancelled, and did not stop within the close timeout: an async
    /// job was aborted (its future dropped), a blocking job detached (its thread runs on).
    /// The error handler heard of it as a
    /// [`FailureCause::CloseOverrun`](crate::FailureCause::CloseOverrun).
    Aborted,
    /// It had already finished on its own (or been closed before): nothing was cancelled.
    AlreadyFinished,
}

impl JobClosed {
    /// True unless the job had already finished: the close cancelled it.
    ///
    /// ```
    /// assert!(more_executors_jobs::JobClosed::Aborted.was_cancelled());
    /// ```
    pub fn was_cancelled(self) -> bool {
        self != JobClosed::AlreadyFinished
    }

    /// True for [`JobClosed::Aborted`].
    ///
    /// ```
    /// assert!(!more_executors_jobs::JobClosed::Stopped.is_aborted());
    /// ```
    pub fn is_aborted(self) -> bool {
        self == JobClosed::Aborted
    }
}

/// The future of [`Job::close`]: resolves once the job has stopped, to how the close
/// ended ([`JobClosed`]).
///
/// An async job stops by itself within the scheduler's `close_timeout` (it is aborted
/// then); for a running blocking job, which cannot be interrupted, this waits at most
/// `close_timeout` (then the job is detached: [`JobClosed::Aborted`]). The close itself
/// happened when [`Job::close`] was called; dropping this future only stops waiting.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let s = more_executors_jobs::Scheduler::new();
/// let job = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let closing: more_executors_jobs::JobClose = job.close();
/// assert!(job.await.unwrap_err().is_cancelled(), "the close already happened");
/// assert_eq!(closing.await, more_executors_jobs::JobClosed::Stopped);
/// # }
/// ```
#[must_use = "the job is already closed; await this to wait until it has stopped"]
pub struct JobClose {
    cell: Arc<dyn Stopper>,
    deadline: Option<Pin<Box<Sleep>>>,
    /// `None` while the job is stopping: decided once it has (or the deadline passed).
    decided: Option<JobClosed>,
}

impl fmt::Debug for JobClose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobClose").field("decided", &self.decided).finish()
    }
}

impl JobClose {
    pub(super) fn new(cell: Arc<dyn Stopper>, cancelled: bool) -> Self {
        let decided = if !cancelled {
            Some(JobClosed::AlreadyFinished)
        } else if !cell.started() {
            Some(JobClosed::NeverStarted)
        } else {
            None
        };
        let deadline = match decided {
            None => cell.stop_deadline().map(|d| Box::pin(tokio::time::sleep(d))),
            Some(_) => None,
        };
        JobClose { cell, deadline, decided }
    }
}

impl Future for JobClose {
    type Output = JobClosed;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<JobClosed> {
        let this = &mut *self;
        if let Some(d) = this.decided {
            return Poll::Ready(d);
        }
        if this.cell.poll_stopped(cx).is_ready() {
            let d = if this.cell.overran() { JobClosed::Aborted } else { JobClosed::Stopped };
            return Poll::Ready(d);
        }
        if this.deadline.as_mut().is_some_and(|d| d.as_mut().poll(cx).is_ready()) {
            // A blocking job still running after the close timeout: detached.
            this.cell.report_overrun();
            return Poll::Ready(JobClosed::Aborted);
        }
        Poll::Pending
    }
}
