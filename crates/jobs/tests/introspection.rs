//! Counts, snapshots, run-time limits and tracing spans.

mod common;

use common::{forever, gated};
use more_executors_jobs::{JobKind, JobState, Outcome, Scheduler};
use more_executors_test_support::settle;

#[tokio::test(start_paused = true)]
async fn counts_follow_the_jobs() {
    let s = Scheduler::builder().limit(2).build().unwrap();
    assert!(s.is_empty());
    assert_eq!((s.active_count(), s.pending_count(), s.len(), s.shield_count()), (0, 0, 0, 0));
    let mut senders = Vec::new();
    let mut jobs = Vec::new();
    for _ in 0..5 {
        let (f, tx) = gated::<()>();
        senders.push(tx);
        jobs.push(s.spawn(f).await.unwrap());
    }
    let _shield = s.shield(forever()).unwrap();
    assert_eq!((s.active_count(), s.pending_count(), s.len(), s.shield_count()), (2, 3, 6, 1));
    assert_eq!(s.len(), s.jobs().len(), "len counts what jobs() lists, shields included");
    assert!(!s.is_empty());
    assert!(jobs.iter().all(|j| s.contains(j)) && s.contains(&_shield));
    senders.remove(0).send(Ok(())).unwrap();
    settle(10).await;
    assert_eq!((s.active_count(), s.pending_count(), s.len()), (2, 2, 5));
    assert!(!s.contains(&jobs[0]), "a finished job has left");
    assert!(jobs[1..].iter().all(|j| s.contains(j)));
    assert!(!Scheduler::new().contains(&jobs[1]), "another scheduler's job");
    assert!(!s.is_closed());
    s.close().await;
    assert!(s.is_closed());
    assert_eq!((s.active_count(), s.pending_count(), s.len(), s.shield_count()), (0, 0, 0, 0));
    assert!(s.is_empty() && jobs.iter().all(|j| !s.contains(j)));
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_lists_active_then_pending_with_times() {
    let s = Scheduler::builder().limit(1).build().unwrap();
    let t0 = std::time::Instant::now();
    let a = s.job().name("a").spawn(forever()).await.unwrap();
    let b = s.job().name("b").spawn(forever()).await.unwrap();
    let c = s.shield(forever()).unwrap();
    let jobs = s.jobs();
    let view: Vec<_> = jobs.iter().map(|j| (j.id, j.name.to_string(), j.state, j.kind)).collect();
    assert_eq!(
        view,
        [
            (a.id(), "a".to_string(), JobState::Active, JobKind::Async),
            (c.id(), format!("job-{}", c.id()), JobState::Active, JobKind::Shield),
            (b.id(), "b".to_string(), JobState::Pending, JobKind::Async),
        ]
    );
    assert!(jobs[0].spawned_at >= t0);
    assert_eq!(jobs[0].started_at, Some(jobs[0].spawned_at), "started at once");
    assert!(jobs[2].spawned_at >= jobs[0].spawned_at);
    assert_eq!(jobs[2].started_at, None);
    assert!(jobs.iter().all(|j| j.outcome.is_none()));
    // b starts when a is closed: its start time is recorded.
    assert!(a.close().await.was_cancelled());
    settle(10).await;
    let info = b.info();
    assert_eq!(info.state, JobState::Active);
    let started = info.started_at.expect("b has started");
    assert!(started >= info.spawned_at && started >= jobs[0].spawned_at);
    assert_eq!(a.info().outcome, Some(Outcome::Cancelled));
}

#[tokio::test(start_paused = true)]
async fn raising_the_limit_starts_queued_jobs_at_once() {
    let s = Scheduler::builder().limit(1).build().unwrap();
    let _a = s.spawn(forever()).await.unwrap();
    let mut queued = Vec::new();
    for _ in 0..4 {
        queued.push(s.spawn(forever()).await.unwrap());
    }
    assert_eq!(s.pending_count(), 4);
    s.set_limit(3).unwrap();
    assert_eq!(s.limit(), Some(3));
    assert_eq!((s.active_count(), s.pending_count()), (3, 2));
    assert!(queued[0].is_active() && queued[1].is_active() && queued[2].is_pending());
    s.set_unlimited();
    assert_eq!(s.limit(), None);
    assert_eq!((s.active_count(), s.pending_count()), (5, 0));
}

#[tokio::test(start_paused = true)]
async fn lowering_the_limit_interrupts_nothing_and_holds_back_new_starts() {
    let s = Scheduler::builder().limit(3).build().unwrap();
    let mut senders = Vec::new();
    let mut jobs = Vec::new();
    for _ in 0..5 {
        let (f, tx) = gated::<()>();
        senders.push(tx);
        jobs.push(s.spawn(f).await.unwrap());
    }
    s.set_limit(1).unwrap();
    assert_eq!((s.active_count(), s.pending_count()), (3, 2), "running jobs keep running");
    senders.remove(0).send(Ok(())).unwrap();
    settle(10).await;
    assert_eq!((s.active_count(), s.pending_count()), (2, 2), "no new start above the new limit");
    senders.remove(0).send(Ok(())).unwrap();
    senders.remove(0).send(Ok(())).unwrap();
    settle(10).await;
    assert_eq!((s.active_count(), s.pending_count()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_blocked_spawner_is_admitted_when_the_limit_is_raised() {
    let s = Scheduler::builder().limit(1).pending_limit(1).build().unwrap();
    let _a = s.spawn(forever()).await.unwrap();
    let _b = s.spawn(forever()).await.unwrap();
    let s2 = s.clone();
    let waiter = tokio::spawn(async move { s2.spawn(forever()).await.map(|j| j.id()).map_err(|_| ()) });
    settle(10).await;
    assert!(!waiter.is_finished());
    s.set_limit(2).unwrap();
    assert!(waiter.await.unwrap().is_ok());
    assert_eq!((s.active_count(), s.pending_count()), (2, 1));
}

#[tokio::test]
async fn clones_are_the_same_scheduler() {
    let s = Scheduler::builder().limit(1).build().unwrap();
    let other = s.clone();
    let _a = other.spawn(forever()).await.unwrap();
    let _b = s.spawn(forever()).await.unwrap();
    assert_eq!((s.active_count(), other.pending_count()), (1, 1), "one limit, one queue");
    let in_task = {
        let s = s.clone();
        tokio::spawn(async move { s.jobs().len() }).await.unwrap()
    };
    assert_eq!(in_task, 2);
    other.close().await;
    assert!(s.is_closed());
}

#[test]
fn handles_and_futures_are_send_and_sync_where_they_should_be() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Scheduler>();
    send_sync::<more_executors_jobs::Job<u8, String>>();
    send_sync::<more_executors_jobs::JobClose>();
    send_sync::<more_executors_jobs::CloseReport>();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let s = Scheduler::new();
        send(&s.spawn(async { Ok::<_, String>(()) }));
        send(&s.spawn_blocking(|| Ok::<_, String>(())));
        send(&s.wait_and_close(None));
        send(&s.idle());
        let job = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
        send(&job.wait(std::time::Duration::from_secs(1)));
        send(&s.close());
    });
}
