//! Bad configuration and bad runtime input: extreme durations and sizes, and panics in
//! user code (destructors of a job's future, output or error), never panic or hang the
//! scheduler.

mod common;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{forever, gated, scheduler};
use more_executors_core::Error;
use more_executors_jobs::{CancellationToken, Job, JobClosed, Scheduler};

const GUARD: Duration = Duration::from_secs(3600);

/// `fut`'s output if it resolves without waiting for the clock (time is paused: a hang
/// shows as an hour of it going by), else `None`.
async fn within<F: Future>(fut: F) -> Option<F::Output> {
    let start = tokio::time::Instant::now();
    let out = tokio::time::timeout(GUARD, fut).await.ok();
    out.filter(|_| start.elapsed() < GUARD)
}

#[tokio::test(start_paused = true)]
async fn duration_max_and_huge_sizes_do_not_panic() {
    let s = Scheduler::builder()
        .close_timeout(Duration::MAX)
        .wait_timeout(Duration::MAX)
        .pending_limit(usize::MAX)
        .limit(usize::MAX - 1)
        .build()
        .unwrap();
    let (fut, tx) = gated::<u8>();
    let mut job = s.spawn(fut).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(1), job.wait_for(Duration::MAX)).await.is_err());
    tx.send(Ok(3)).unwrap();
    assert_eq!(job.wait(Duration::MAX).await, Ok(3));
    // A job ignoring its token, with a close timeout of Duration::MAX: the close waits for
    // it, as configured, without panicking.
    let stubborn = s.job().token(CancellationToken::new()).spawn(forever()).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(1000), stubborn.close()).await.is_err());
    let close = s.wait_and_close(Some(Duration::MAX));
    assert!(tokio::time::timeout(Duration::from_secs(1000), close).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn zero_durations_do_not_hang() {
    let s = Scheduler::builder().close_timeout(Duration::ZERO).wait_timeout(Duration::ZERO).build().unwrap();
    let job = s.spawn(forever()).await.unwrap();
    assert_eq!(within(job.wait(Duration::ZERO)).await, Some(Err(Error::TimedOut(Duration::ZERO))));
    let _stubborn = s.job().token(CancellationToken::new()).spawn(forever()).await.unwrap();
    let report = within(s.wait_and_close(None)).await.expect("the close finished");
    assert_eq!((report.cancelled, report.aborted), (0, 1));
}

/// Panics when dropped: as a job's future (never ready), or as its output or error.
#[derive(Debug, PartialEq)]
struct PanicOnDrop;

impl Future for PanicOnDrop {
    type Output = Result<(), String>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

impl fmt::Display for PanicOnDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bad value")
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("drop bug");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_queued_future_panicking_when_dropped_does_not_break_the_close() {
    let (s, rec) = scheduler(Scheduler::builder().limit(1));
    let running = s.spawn(forever()).await.unwrap();
    let queued = s.spawn(PanicOnDrop).await.unwrap();
    let s2 = s.clone();
    let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(s2.close())));
    let report = within(s.close()).await.expect("the close finished");
    assert!(closed.is_ok(), "close() did not panic");
    assert_eq!((report.cancelled, report.never_started), (1, 1));
    assert_eq!(running.await, Err(Error::Cancelled), "the running job was cancelled too");
    assert_eq!(queued.await, Err(Error::Cancelled));
    let seen = rec.seen();
    assert!(seen.iter().any(|f| f.late && f.panic && f.message.contains("drop bug")), "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn closing_a_queued_job_whose_future_panics_when_dropped() {
    let (s, rec) = scheduler(Scheduler::builder().limit(1));
    let _running = s.spawn(forever()).await.unwrap();
    let queued = s.spawn(PanicOnDrop).await.unwrap();
    let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| queued.close()));
    let closing = closed.expect("Job::close did not panic");
    assert_eq!(within(closing).await, Some(JobClosed::NeverStarted));
    assert_eq!(within(queued).await, Some(Err(Error::Cancelled)));
    assert!(rec.seen().iter().any(|f| f.late && f.panic));
}

/// Spawns a job that ends with `out` once its token is cancelled (it stops cooperatively
/// when closed).
async fn stopping_with<T, E>(s: &Scheduler, out: Result<T, E>) -> Job<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    let token = CancellationToken::new();
    let watch = token.clone();
    let fut = async move {
        watch.cancelled().await;
        out
    };
    s.job().token(token).spawn(fut).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_late_error_panicking_when_dropped_does_not_leak_the_slot() {
    let (s, rec) = scheduler(Scheduler::builder().limit(1));
    let job = stopping_with(&s, Err::<(), _>(PanicOnDrop)).await;
    let next = s.spawn(async { Ok::<_, PanicOnDrop>(1) }).await.unwrap();
    assert_eq!(within(job.close()).await, Some(JobClosed::Stopped));
    let out = within(next).await;
    assert!(matches!(out, Some(Ok(1))), "the next job ran: the closed job's slot was freed");
    assert!(within(s.idle()).await.is_some());
    let seen = rec.seen();
    assert!(seen.iter().any(|f| f.late && f.message == "bad value"), "{seen:?}");
    assert!(seen.iter().any(|f| f.late && f.panic && f.message.contains("drop bug")), "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn an_output_discarded_by_a_close_panicking_when_dropped_does_not_hang_the_close() {
    let (s, rec) = scheduler(Scheduler::builder());
    let job = stopping_with(&s, Ok::<_, String>(PanicOnDrop)).await;
    assert_eq!(within(job.close()).await, Some(JobClosed::Stopped));
    assert_eq!(within(job).await, Some(Err(Error::Cancelled)));
    let seen = rec.seen();
    assert!(seen.iter().any(|f| f.late && f.panic && f.message.contains("drop bug")), "{seen:?}");
}
