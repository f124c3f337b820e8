//! Closing a scheduler: [`CloseReport`] and the [`Close`] future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use crate::job::{JobClosed, JobKind};

/// What a close did, from [`Scheduler::close`](crate::Scheduler::close) and
/// [`wait_and_close`](crate::Scheduler::wait_and_close). Every caller of a scheduler's
/// close gets the same report.
///
/// The counts say how many jobs ended each way; [`jobs`](Self::jobs) lists them, with id,
/// name and kind, so a service shutting down can log which jobs were lost.
///
/// ```
/// use more_executors_jobs::{JobClosed, Scheduler};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::builder().limit(1).build().unwrap();
/// let _running = scheduler.job().name("reindex").spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let _queued = scheduler.job().name("digest").spawn(async { Ok::<_, String>(()) }).await.unwrap();
/// let report = scheduler.close().await;
/// assert_eq!((report.cancelled, report.aborted, report.never_started), (1, 0, 1));
/// assert_eq!(report.to_string(), "1 cancelled, 0 aborted, 1 never started");
/// let lost: Vec<_> = report.jobs_that(JobClosed::NeverStarted).map(|j| &*j.name).collect();
/// assert_eq!(lost, ["digest"]);
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReport {
    /// Jobs and shields running at the close that stopped within the close timeout
    /// (cancelled cooperatively or at their next `.await`, or finishing just then).
    pub cancelled: usize,
    /// Jobs and shields still running when the close timeout expired: aborted (their
    /// future is dropped at its next poll; a blocking job is detached).
    pub aborted: usize,
    /// Queued jobs removed unrun.
    pub never_started: usize,
    /// Every job counted above, in the order the close acted on them.
    pub jobs: Vec<ClosedJob>,
}

/// One job a close acted on, as listed in a [`CloseReport`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let s = more_executors_jobs::Scheduler::new();
/// let job = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let report = s.close().await;
/// assert_eq!(report.jobs[0].id, job.id());
/// assert_eq!(report.jobs[0].fate, more_executors_jobs::JobClosed::Stopped);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClosedJob {
    /// The job's id.
    pub id: u64,
    /// Its name (`job-N` when it was given none).
    pub name: Arc<str>,
    /// What it ran as.
    pub kind: JobKind,
    /// How the close ended for it: [`JobClosed::Stopped`] (counted as cancelled),
    /// [`JobClosed::Aborted`] or [`JobClosed::NeverStarted`].
    pub fate: JobClosed,
}

impl CloseReport {
    /// Total number of jobs the close acted on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let _a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert_eq!(s.close().await.total(), 1);
    /// # }
    /// ```
    pub fn total(&self) -> usize {
        self.cancelled + self.aborted + self.never_started
    }

    /// The jobs that ended as `fate`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use more_executors_jobs::JobClosed;
    /// let s = more_executors_jobs::Scheduler::new();
    /// let _a = s.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// assert_eq!(s.close().await.jobs_that(JobClosed::Aborted).count(), 0);
    /// # }
    /// ```
    pub fn jobs_that(&self, fate: JobClosed) -> impl Iterator<Item = &ClosedJob> {
        self.jobs.iter().filter(move |j| j.fate == fate)
    }

    pub(crate) fn record(&mut self, job: ClosedJob) {
        match job.fate {
            JobClosed::Stopped | JobClosed::AlreadyFinished => self.cancelled += 1,
            JobClosed::Aborted => self.aborted += 1,
            JobClosed::NeverStarted => self.never_started += 1,
        }
        self.jobs.push(job);
    }
}

impl fmt::Display for CloseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cancelled, {} aborted, {} never started",
            self.cancelled, self.aborted, self.never_started
        )
    }
}

/// The future of [`Scheduler::close`](crate::Scheduler::close): resolves to the
/// [`CloseReport`] once the close has finished.
///
/// The scheduler was closed when `close()` was called; dropping this future only stops
/// waiting, and the close still completes (escalating to abort at the close timeout).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let s = more_executors_jobs::Scheduler::new();
/// let close: more_executors_jobs::Close = s.close();
/// assert!(s.is_closed(), "closed before the future is polled");
/// assert_eq!(close.await.total(), 0);
/// # }
/// ```
#[must_use = "the scheduler is already closed; await this to wait for the jobs to stop"]
pub struct Close {
    fut: BoxFuture<'static, CloseReport>,
}

impl fmt::Debug for Close {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Close")
    }
}

impl Close {
    pub(crate) fn new(mut rx: watch::Receiver<Option<CloseReport>>) -> Self {
        Close {
            fut: Box::pin(async move {
                match rx.wait_for(Option::is_some).await {
                    Ok(r) => r.clone().unwrap_or_default(),
                    Err(_) => CloseReport::default(),
                }
            }),
        }
    }
}

impl Future for Close {
    type Output = CloseReport;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseReport> {
        self.fut.as_mut().poll(cx)
    }
}
