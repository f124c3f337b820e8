//! Closes say what happened: overruns reach the error handler, `Job::close` says how the
//! job ended, and the close report names the jobs.

mod common;

use std::time::Duration;

use common::{forever, scheduler};
use more_executors_jobs::{CancellationToken, FailureCause, JobClosed, JobKind, Outcome, Scheduler};

#[tokio::test(start_paused = true)]
async fn a_job_ignoring_its_token_is_aborted_and_the_handler_hears_of_it() {
    let (s, rec) = scheduler(Scheduler::builder().close_timeout(Duration::from_secs(2)));
    let job = s.job().name("stubborn").token(CancellationToken::new()).spawn(forever()).await.unwrap();
    assert_eq!(job.close().await, JobClosed::Aborted);
    assert_eq!(job.outcome(), Some(Outcome::Cancelled));
    let seen = rec.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].cause, FailureCause::CloseOverrun);
    assert_eq!(seen[0].name, "stubborn");
    assert!(seen[0].message.contains("close timeout"), "{}", seen[0].message);
}

#[tokio::test(start_paused = true)]
async fn a_job_that_cleans_up_in_time_stops_without_a_report() {
    let (s, rec) = scheduler(Scheduler::builder().close_timeout(Duration::from_secs(2)));
    let token = CancellationToken::new();
    let watch = token.clone();
    let job = s
        .job()
        .token(token)
        .spawn(async move {
            watch.cancelled().await;
            tokio::time::sleep(Duration::from_secs(1)).await; // async cleanup, within the timeout
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    assert_eq!(job.close().await, JobClosed::Stopped);
    assert!(rec.seen().is_empty());
}

#[tokio::test(start_paused = true)]
async fn close_says_never_started_and_already_finished() {
    let (s, _rec) = scheduler(Scheduler::builder().limit(1));
    let running = s.spawn(forever()).await.unwrap();
    let queued = s.spawn(forever()).await.unwrap();
    assert_eq!(queued.close().await, JobClosed::NeverStarted);
    let done = s.shield(async { Ok::<_, String>(()) }).unwrap();
    while !done.is_closed() {
        tokio::task::yield_now().await;
    }
    assert_eq!(done.close().await, JobClosed::AlreadyFinished);
    assert!(!JobClosed::AlreadyFinished.was_cancelled());
    assert_eq!(running.close().await, JobClosed::Stopped);
}

// Real time: a running blocking job holds tokio's paused clock still.
#[tokio::test]
async fn a_blocking_job_that_overruns_is_reported_once() {
    let (s, rec) = scheduler(Scheduler::builder().close_timeout(Duration::from_millis(50)));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let job = s
        .job()
        .name("fsync")
        .spawn_blocking(move || {
            started_tx.send(()).unwrap();
            rx.recv().ok();
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    started_rx.await.unwrap();
    assert_eq!(job.close().await, JobClosed::Aborted, "detached after the close timeout");
    let overruns: Vec<_> = rec.seen().into_iter().filter(|f| f.cause == FailureCause::CloseOverrun).collect();
    assert_eq!(overruns.len(), 1, "{overruns:?}");
    assert_eq!(overruns[0].name, "fsync");
    assert_eq!(s.len(), 1, "the detached thread keeps its slot until it returns");
    tx.send(()).unwrap();
    s.idle().await;
    let report = s.close().await;
    assert!(report.jobs.is_empty(), "it ended before the scheduler's close: {report:?}");
    assert_eq!(rec.seen().iter().filter(|f| f.cause == FailureCause::CloseOverrun).count(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_close_report_names_cancelled_aborted_and_never_started_jobs() {
    let (s, rec) = scheduler(Scheduler::builder().limit(2).close_timeout(Duration::from_secs(1)));
    let polite = s.job().name("polite").spawn(forever()).await.unwrap();
    let stubborn = s.job().name("stubborn").token(CancellationToken::new()).spawn(forever()).await.unwrap();
    let waiting = s.job().name("waiting").spawn(forever()).await.unwrap();
    let report = s.close().await;
    assert_eq!((report.cancelled, report.aborted, report.never_started), (1, 1, 1));
    let names = |fate| report.jobs_that(fate).map(|j| (j.id, j.name.to_string())).collect::<Vec<_>>();
    assert_eq!(names(JobClosed::Stopped), [(polite.id(), "polite".to_string())]);
    assert_eq!(names(JobClosed::Aborted), [(stubborn.id(), "stubborn".to_string())]);
    assert_eq!(names(JobClosed::NeverStarted), [(waiting.id(), "waiting".to_string())]);
    assert!(report.jobs.iter().all(|j| j.kind == JobKind::Async));
    let overruns: Vec<_> = rec.seen().into_iter().filter(|f| f.cause == FailureCause::CloseOverrun).collect();
    assert_eq!(overruns.len(), 1);
    assert_eq!(overruns[0].id, stubborn.id());
    let again = s.close().await;
    assert_eq!(again, report, "every close caller gets the same report");
}
