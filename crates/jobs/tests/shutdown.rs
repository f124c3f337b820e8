//! close(), wait_and_close(), and shields.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{forever, gated, scheduler};
use more_executors_core::Error;
use more_executors_jobs::{CancellationToken, JobKind, JobState, Outcome, Scheduler};
use more_executors_test_support::{PollCounted, settle};

fn sleeper(secs: u64, done: &Arc<AtomicUsize>) -> impl Future<Output = Result<(), String>> + Send + 'static {
    let done = done.clone();
    async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        done.fetch_add(1, SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn close_cancels_active_drops_queued_and_reports() {
    let (s, rec) = scheduler(Scheduler::builder().limit(2));
    let ran = Arc::new(AtomicUsize::new(0));
    let a = s.spawn(forever()).await.unwrap();
    let b = s.spawn(forever()).await.unwrap();
    let mut queued = Vec::new();
    for _ in 0..3 {
        let r = ran.clone();
        queued.push(
            s.spawn(async move {
                r.fetch_add(1, SeqCst);
                Ok::<_, String>(())
            })
            .await
            .unwrap(),
        );
    }
    settle(10).await;
    let report = s.close().await;
    assert_eq!((report.cancelled, report.aborted, report.never_started), (2, 0, 3));
    assert_eq!(report.total(), 5);
    assert_eq!(ran.load(SeqCst), 0, "queued jobs never ran");
    for j in [a, b].into_iter().chain(queued) {
        assert_eq!(j.state(), JobState::Closed);
        assert_eq!(j.outcome(), Some(Outcome::Cancelled));
        assert_eq!(j.await, Err(Error::Cancelled));
    }
    assert!(s.is_closed());
    assert!(s.is_empty());
    assert!(rec.seen().is_empty(), "cancellation is not a failure");
}

#[tokio::test(start_paused = true)]
async fn close_is_idempotent_and_concurrent_callers_share_the_finish() {
    let s = Scheduler::builder().close_timeout(Duration::from_secs(1)).build().unwrap();
    let token = CancellationToken::new();
    let _stubborn = s.job().token(token).spawn(forever()).await.unwrap();
    settle(10).await;
    let start = tokio::time::Instant::now();
    let c1 = tokio::spawn(s.close());
    let c2 = tokio::spawn(s.close());
    let c3 = s.close();
    let (r1, r2, r3) = (c1.await.unwrap(), c2.await.unwrap(), c3.await);
    assert_eq!(start.elapsed(), Duration::from_secs(1), "all waited for the same finish");
    assert_eq!(r1, r2);
    assert_eq!(r2, r3);
    assert_eq!(r1.aborted, 1);
    assert_eq!(s.close().await, r1, "a later close returns the same report at once");
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn close_escalates_from_cooperative_cancel_to_abort() {
    let (s, _) = scheduler(Scheduler::builder().close_timeout(Duration::from_millis(100)));
    let cooperative = CancellationToken::new();
    let stubborn = CancellationToken::new();
    let stopped = Arc::new(AtomicUsize::new(0));
    let st = stopped.clone();
    let c = cooperative.clone();
    let coop = s
        .job()
        .token(cooperative)
        .spawn(async move {
            c.cancelled().await;
            tokio::time::sleep(Duration::from_millis(40)).await;
            st.fetch_add(1, SeqCst);
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    let stub = s.job().token(stubborn.clone()).spawn(forever()).await.unwrap();
    let plain = s.spawn(forever()).await.unwrap();
    settle(10).await;
    let start = tokio::time::Instant::now();
    let report = s.close().await;
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert!(stubborn.is_cancelled(), "the token was cancelled first");
    assert_eq!(stopped.load(SeqCst), 1, "the cooperative job finished its cleanup");
    assert_eq!((report.cancelled, report.aborted, report.never_started), (2, 1, 0));
    for j in [coop, stub, plain] {
        assert_eq!(j.outcome(), Some(Outcome::Cancelled));
    }
    settle(10).await;
    assert_eq!(s.active_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn close_rejects_new_spawns_and_shields() {
    let s = Scheduler::new();
    let close = s.close();
    assert!(s.is_closed(), "closed as soon as close() is called");
    assert!(s.spawn(async { Ok::<_, String>(()) }).await.is_err());
    assert!(s.try_spawn(async { Ok::<_, String>(()) }).unwrap_err().is_closed());
    let err = s.shield(async { Ok::<_, String>(7) }).unwrap_err();
    assert_eq!(err.into_inner().await, Ok(7), "shield after close is refused, future handed back");
    close.await;
}

#[tokio::test(start_paused = true)]
async fn dropping_a_close_future_midway_still_closes() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).close_timeout(Duration::from_secs(1)));
    let token = CancellationToken::new();
    let a = s.job().token(token).spawn(forever()).await.unwrap();
    let b = s.spawn(forever()).await.unwrap();
    settle(10).await;
    let mut close = s.close();
    assert!(futures::FutureExt::now_or_never(&mut close).is_none());
    drop(close);
    assert!(s.is_closed());
    assert_eq!(b.state(), JobState::Closed, "the queued job was dropped");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(a.state(), JobState::Closed, "the close went on: the stubborn job was aborted");
    let report = s.close().await;
    assert_eq!((report.cancelled, report.aborted, report.never_started), (0, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn wait_and_close_lets_active_and_queued_jobs_finish() {
    let (s, _) = scheduler(Scheduler::builder().limit(2));
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..5 {
        drop(s.spawn(sleeper(1 + i, &done)).await.unwrap());
    }
    let start = tokio::time::Instant::now();
    let report = s.wait_and_close(Some(Duration::from_secs(60))).await;
    assert_eq!(done.load(SeqCst), 5);
    assert_eq!(report.total(), 0);
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(s.is_closed());
}

#[tokio::test(start_paused = true)]
async fn wait_and_close_waits_for_jobs_spawned_meanwhile() {
    let (s, _) = scheduler(Scheduler::builder());
    let done = Arc::new(AtomicUsize::new(0));
    let s2 = s.clone();
    let d = done.clone();
    drop(
        s.spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            // A job spawning a follow-up while wait_and_close waits.
            drop(s2.spawn(sleeper(2, &d)).await.map_err(|c| c.to_string())?);
            d.fetch_add(1, SeqCst);
            Ok::<_, String>(())
        })
        .await
        .unwrap(),
    );
    let report = s.wait_and_close(None).await;
    assert_eq!(done.load(SeqCst), 2);
    assert_eq!(report.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn wait_and_close_closes_what_is_left_at_the_timeout() {
    let (s, _) = scheduler(Scheduler::builder().limit(1));
    let done = Arc::new(AtomicUsize::new(0));
    drop(s.spawn(sleeper(1, &done)).await.unwrap());
    drop(s.spawn(sleeper(100, &done)).await.unwrap());
    drop(s.spawn(sleeper(1, &done)).await.unwrap());
    let start = tokio::time::Instant::now();
    let report = s.wait_and_close(Some(Duration::from_secs(10))).await;
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(done.load(SeqCst), 1);
    assert_eq!((report.cancelled, report.aborted, report.never_started), (1, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn wait_and_close_default_timeout_is_the_configured_wait_timeout() {
    let (s, _) = scheduler(Scheduler::builder().wait_timeout(Duration::from_secs(3)));
    let _j = s.spawn(forever()).await.unwrap();
    let start = tokio::time::Instant::now();
    let report = s.wait_and_close(None).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(report.cancelled, 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_wait_and_close_during_the_wait_leaves_the_scheduler_open() {
    let s = Scheduler::new();
    let _j = s.spawn(forever()).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(1), s.wait_and_close(None)).await.is_err());
    assert!(!s.is_closed());
    assert!(s.spawn(async { Ok::<_, String>(()) }).await.is_ok());
}

/// aiojobs could spin while closing; nothing here polls in a loop while it waits.
#[tokio::test(start_paused = true)]
async fn regression_no_busy_waiting_while_closing_or_waiting() {
    let s = Scheduler::builder().limit(1).close_timeout(Duration::from_secs(30)).build().unwrap();
    let job_polls = Arc::new(AtomicUsize::new(0));
    let token = CancellationToken::new();
    let stubborn = PollCounted::new(forever(), job_polls.clone());
    let _j = s.job().token(token).spawn(stubborn).await.unwrap();
    let _queued = s.spawn(forever()).await.unwrap();
    let wait_polls = Arc::new(AtomicUsize::new(0));
    let w = PollCounted::new(s.wait_and_close(Some(Duration::from_secs(30))), wait_polls.clone());
    let start = tokio::time::Instant::now();
    let report = w.await;
    // Paused time only advances when every task is idle: a spinning task would hang here.
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    assert!(wait_polls.load(SeqCst) <= 6, "wait_and_close polled {} times", wait_polls.load(SeqCst));
    assert!(job_polls.load(SeqCst) <= 4, "the job was polled {} times", job_polls.load(SeqCst));
    assert_eq!((report.aborted, report.never_started), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn shields_run_outside_the_limit() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).pending_limit(0));
    let _busy = s.spawn(forever()).await.unwrap();
    let shield = s.shield(async { Ok::<_, String>("landed") }).unwrap();
    assert_eq!(shield.kind(), JobKind::Shield);
    assert_eq!(s.active_count(), 1, "shields are not counted as active jobs");
    assert_eq!(shield.await, Ok("landed"), "it ran although the limit was reached");
}

#[tokio::test(start_paused = true)]
async fn a_shield_completes_when_its_caller_is_cancelled() {
    let (s, rec) = scheduler(Scheduler::builder());
    let landed = Arc::new(AtomicUsize::new(0));
    let l = landed.clone();
    let handler = {
        let s = s.clone();
        async move {
            s.shield(async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                l.fetch_add(1, SeqCst);
                Ok::<_, String>(())
            })
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
        }
    };
    let request = tokio::spawn(handler);
    tokio::time::sleep(Duration::from_millis(100)).await;
    request.abort(); // the client went away
    assert!(request.await.unwrap_err().is_cancelled());
    assert_eq!(s.shield_count(), 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(landed.load(SeqCst), 1, "the shielded write landed");
    assert_eq!(s.shield_count(), 0);
    assert!(rec.seen().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_shields_failure_after_its_caller_left_reaches_the_handler() {
    let (s, rec) = scheduler(Scheduler::builder());
    let shield = s
        .shield(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Err::<(), _>("write failed".to_string())
        })
        .unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(10), shield).await.is_err());
    s.idle().await;
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].message, "write failed");
}

#[tokio::test(start_paused = true)]
async fn wait_and_close_waits_for_shields_and_close_cancels_them() {
    let (s, _) = scheduler(Scheduler::builder());
    let done = Arc::new(AtomicUsize::new(0));
    drop(s.shield(sleeper(5, &done)).unwrap());
    let report = s.wait_and_close(None).await;
    assert_eq!(done.load(SeqCst), 1, "wait_and_close waited for the shield");
    assert_eq!(report.total(), 0);

    let (s, _) = scheduler(Scheduler::builder());
    let shield = s.shield(sleeper(5, &done)).unwrap();
    settle(10).await;
    let report = s.close().await;
    assert_eq!(report.cancelled, 1);
    assert_eq!(shield.await, Err(Error::Cancelled));
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(done.load(SeqCst), 1, "the cancelled shield never finished");
}

#[tokio::test(start_paused = true)]
async fn a_job_finishing_at_close_time_is_not_lost() {
    let (s, rec) = scheduler(Scheduler::builder());
    let (fut, tx) = gated::<u8>();
    let job = s.spawn(fut).await.unwrap();
    settle(10).await;
    tx.send(Ok(4)).unwrap();
    let report = s.close().await;
    let out = job.await;
    // Either it finished first (its value) or the close won (cancelled): exactly one.
    assert!(out == Ok(4) || out == Err(Error::Cancelled), "{out:?}");
    assert!(report.total() <= 1);
    assert!(rec.seen().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_job_that_waited_for_room_stops_at_once_when_closed() {
    let (s, rec) =
        scheduler(Scheduler::builder().limit(1).pending_limit(0).close_timeout(Duration::from_millis(20)));
    let done = Arc::new(AtomicUsize::new(0));
    let _first = s.spawn(sleeper(1, &done)).await.unwrap();
    // No room in the queue: this spawner waits until the first job ends, and its job then
    // takes the slot and starts at once.
    let second = s.spawn(sleeper(60, &done)).await.unwrap();
    assert_eq!(second.state(), JobState::Active);
    let report = s.close().await;
    assert_eq!((report.cancelled, report.aborted), (1, 0), "{report}");
    assert!(rec.seen().is_empty(), "the job stopped within the close timeout: {:?}", rec.seen());
    assert_eq!(second.outcome(), Some(Outcome::Cancelled));
    assert_eq!(done.load(SeqCst), 1);
}
