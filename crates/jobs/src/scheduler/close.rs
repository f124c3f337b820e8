//! Closing a scheduler: [`CloseReport`] and the [`Close`] future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

/// What a close did, from [`Scheduler::close`](crate::Scheduler::close) and
/// [`wait_and_close`](crate::Scheduler::wait_and_close). Every caller of a scheduler's
/// close gets the same report.
///
/// ```
/// use more_executors_jobs::Scheduler;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::builder().limit(1).build().unwrap();
/// let _running = scheduler.spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
/// let _queued = scheduler.spawn(async { Ok::<_, String>(()) }).await.unwrap();
/// let report = scheduler.close().await;
/// assert_eq!((report.cancelled, report.aborted, report.never_started), (1, 0, 1));
/// assert_eq!(report.to_string(), "1 cancelled, 0 aborted, 1 never started");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
                    Ok(r) => r.unwrap_or_default(),
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
