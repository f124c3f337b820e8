//! The Job handle: states, outcomes, await, wait(timeout), close, detach.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{forever, gated, scheduler};
use more_executors_core::Error;
use more_executors_jobs::{JobKind, JobState, Outcome, Scheduler};
use more_executors_test_support::settle;

#[tokio::test(start_paused = true)]
async fn states_go_pending_active_closed() {
    let (s, _) = scheduler(Scheduler::builder().limit(1));
    let (a_fut, a_tx) = gated::<()>();
    let (b_fut, b_tx) = gated::<()>();
    let a = s.spawn(a_fut).await.unwrap();
    let b = s.spawn(b_fut).await.unwrap();
    assert_eq!((a.state(), b.state()), (JobState::Active, JobState::Pending));
    assert!(a.is_active() && b.is_pending());
    assert_eq!((a.outcome(), b.outcome()), (None, None));
    a_tx.send(Ok(())).unwrap();
    settle(10).await;
    assert!(a.is_closed());
    assert_eq!(a.outcome(), Some(Outcome::Completed));
    assert!(b.is_active());
    b_tx.send(Ok(())).unwrap();
    assert_eq!(b.await, Ok(()));
    assert_eq!(a.await, Ok(()), "a finished job can still be awaited");
}

#[tokio::test]
async fn every_outcome_is_reported() {
    let (s, _) = scheduler(Scheduler::builder());
    let ok = s.spawn(async { Ok::<_, String>(1) }).await.unwrap();
    let failed = s.spawn(async { Err::<u8, _>("nope".to_string()) }).await.unwrap();
    let panicked = s.spawn(async { panic!("boom") as Result<u8, String> }).await.unwrap();
    let cancelled = s.spawn(forever()).await.unwrap();
    let timed_out = s.spawn(forever()).await.unwrap();
    settle(10).await;
    assert!(cancelled.close().await.was_cancelled());
    let timed_out_id = timed_out.id();
    let r = timed_out.wait(Duration::from_millis(1)).await;
    assert_eq!(r, Err(Error::TimedOut(Duration::from_millis(1))));
    assert_eq!(ok.outcome(), Some(Outcome::Completed));
    assert_eq!(failed.outcome(), Some(Outcome::Failed));
    assert_eq!(panicked.outcome(), Some(Outcome::Panicked));
    assert_eq!(cancelled.outcome(), Some(Outcome::Cancelled));
    assert!(s.jobs().iter().all(|j| j.id != timed_out_id));
    assert_eq!(ok.await, Ok(1));
    assert_eq!(failed.await, Err(Error::Job("nope".to_string())));
    assert_eq!(panicked.await, Err(Error::Panicked("boom".into())));
    assert_eq!(cancelled.await, Err(Error::Cancelled));
}

#[tokio::test(start_paused = true)]
async fn wait_timeout_includes_queue_time() {
    let (s, _) = scheduler(Scheduler::builder().limit(1));
    let (first, tx) = gated::<()>();
    let _a = s.spawn(first).await.unwrap();
    let b = s
        .spawn(async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok::<_, String>("b")
        })
        .await
        .unwrap();
    // b queues for 4 s, then needs 3 s: a 5 s wait expires although b ran only 1 s.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        let _ = tx.send(Ok(()));
    });
    let start = tokio::time::Instant::now();
    let r = b.wait(Duration::from_secs(5)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(r.unwrap_err().is_timed_out());
    assert_eq!(s.active_count(), 0, "the timed-out job was closed");
}

/// aiojobs raised an internal-state error for a job still queued at the timeout.
#[tokio::test(start_paused = true)]
async fn regression_wait_timeout_on_a_queued_job_closes_it_unrun() {
    let (s, rec) = scheduler(Scheduler::builder().limit(1));
    let _a = s.spawn(forever()).await.unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let b = s
        .spawn(async move {
            r.fetch_add(1, SeqCst);
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    let info = b.info();
    assert_eq!(info.state, JobState::Pending);
    let out = b.wait(Duration::from_secs(2)).await;
    assert_eq!(out, Err(Error::TimedOut(Duration::from_secs(2))));
    assert_eq!(s.pending_count(), 0, "removed from the queue");
    let report = s.close().await;
    assert_eq!(report.never_started, 0);
    assert_eq!(ran.load(SeqCst), 0, "never ran");
    assert!(rec.seen().is_empty());
}

#[tokio::test(start_paused = true)]
async fn wait_returns_the_result_when_in_time() {
    let s = Scheduler::new();
    let j = s
        .spawn(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, String>(9)
        })
        .await
        .unwrap();
    assert_eq!(j.wait(Duration::from_secs(2)).await, Ok(9));
}

#[tokio::test(start_paused = true)]
async fn timed_out_job_outcome_is_timed_out() {
    let s = Scheduler::new();
    let j = s.spawn(forever()).await.unwrap();
    let w = j.wait(Duration::from_secs(1));
    tokio::pin!(w);
    assert!(futures::FutureExt::now_or_never(&mut w).is_none());
    let out = w.await;
    assert!(out.unwrap_err().is_timed_out());
    let jobs = s.jobs();
    assert!(jobs.is_empty(), "{jobs:?}");
}

#[tokio::test(start_paused = true)]
async fn close_removes_a_queued_job_unrun() {
    let (s, _) = scheduler(Scheduler::builder().limit(1));
    let _a = s.spawn(forever()).await.unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let b = s
        .spawn(async move {
            r.fetch_add(1, SeqCst);
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    let c = s.spawn(async { Ok::<_, String>("c") }).await.unwrap();
    assert!(b.close().await.was_cancelled());
    assert_eq!(b.state(), JobState::Closed);
    assert_eq!(b.outcome(), Some(Outcome::Cancelled));
    assert_eq!(s.pending_count(), 1);
    assert_eq!(s.jobs().iter().map(|j| j.id).collect::<Vec<_>>(), [_a.id(), c.id()]);
    s.set_limit(5).unwrap();
    assert_eq!(c.await, Ok("c"));
    assert_eq!(ran.load(SeqCst), 0);
    assert_eq!(b.await, Err(Error::Cancelled));
}

#[tokio::test]
async fn close_of_an_active_job_without_token_drops_it_at_once() {
    let s = Scheduler::new();
    let j = s.spawn(forever()).await.unwrap();
    settle(10).await;
    assert!(j.is_active());
    let start = tokio::time::Instant::now();
    assert!(j.close().await.was_cancelled());
    assert!(start.elapsed() < Duration::from_millis(50));
    assert!(j.is_closed());
    assert!(j.close().await.was_cancelled(), "closing again still reports cancelled");
}

#[tokio::test]
async fn close_of_a_finished_job_returns_false() {
    let s = Scheduler::new();
    let j = s.spawn(async { Ok::<_, String>(3) }).await.unwrap();
    settle(10).await;
    assert!(!j.close().await.was_cancelled());
    assert_eq!(j.await, Ok(3));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_job_detaches_it() {
    let (s, rec) = scheduler(Scheduler::builder());
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let j = s
        .spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            d.fetch_add(1, SeqCst);
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    drop(j);
    assert_eq!(s.active_count(), 1);
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(done.load(SeqCst), 1, "a dropped Job's work ran to completion");
    assert!(rec.seen().is_empty());
}

// Real time: tokio does not auto-advance paused time while a blocking task runs.
#[tokio::test]
async fn a_closed_running_blocking_job_is_detached() {
    let s = Scheduler::builder().close_timeout(Duration::from_millis(50)).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let j = s
        .spawn_blocking(move || {
            started_tx.send(()).unwrap();
            rx.recv().map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    assert_eq!(j.kind(), JobKind::Blocking);
    started.await.unwrap();
    assert!(j.close().await.was_cancelled(), "the close waits at most close_timeout");
    assert_eq!(j.outcome(), Some(Outcome::Cancelled));
    assert_eq!(s.active_count(), 1, "the thread keeps its slot until it returns");
    tx.send(()).unwrap();
    s.idle().await;
    assert_eq!(s.active_count(), 0);
    assert_eq!(j.await, Err(Error::Cancelled));
}

#[tokio::test]
#[should_panic(expected = "polled after it had already returned")]
async fn polling_a_finished_job_again_panics() {
    let s = Scheduler::new();
    let mut j = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    (&mut j).await.unwrap();
    let _ = (&mut j).await;
}

#[tokio::test]
async fn debug_formats_are_informative() {
    let s = Scheduler::new();
    let j = s.job().name("dbg").spawn(forever()).await.unwrap();
    let d = format!("{j:?}");
    assert!(d.contains("dbg") && d.contains("Active"), "{d}");
    let d = format!("{s:?}");
    assert!(d.contains("active: 1"), "{d}");
}

#[tokio::test(start_paused = true)]
async fn a_job_panicking_in_its_destructor_does_not_stall_the_queue() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("destructor bug");
        }
    }
    let (s, rec) = scheduler(Scheduler::builder().limit(1));
    let a = s
        .spawn(async {
            let _bomb = Bomb;
            std::future::pending::<Result<(), String>>().await
        })
        .await
        .unwrap();
    let b = s.spawn(async { Ok::<_, String>("next") }).await.unwrap();
    settle(10).await;
    assert!(a.close().await.was_cancelled());
    assert_eq!(b.await, Ok("next"), "the queued job started after the panic");
    assert_eq!(a.await, Err(Error::Cancelled));
    assert!(rec.seen().iter().all(|f| f.late), "only a late report, if any: {:?}", rec.seen());
}
