//! Spawning: limit, FIFO queue, pending limit, try_spawn, closed, names, blocking, tokens.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{forever, gated, scheduler};
use futures::FutureExt;
use more_executors_core::Error;
use more_executors_jobs::{
    CancellationToken, DEFAULT_CLOSE_TIMEOUT, DEFAULT_LIMIT, DEFAULT_PENDING_LIMIT, DEFAULT_WAIT_TIMEOUT,
    JobState, Outcome, Scheduler, TrySpawnError,
};
use more_executors_test_support::settle;

#[tokio::test]
async fn defaults_are_documented_values() {
    let s = Scheduler::new();
    assert_eq!(s.limit(), Some(100));
    assert_eq!(DEFAULT_LIMIT, 100);
    assert_eq!(s.pending_limit(), 10_000);
    assert_eq!(DEFAULT_PENDING_LIMIT, 10_000);
    assert_eq!(s.close_timeout(), Duration::from_millis(100));
    assert_eq!(DEFAULT_CLOSE_TIMEOUT, Duration::from_millis(100));
    assert_eq!(s.wait_timeout(), Duration::from_secs(60));
    assert_eq!(DEFAULT_WAIT_TIMEOUT, Duration::from_secs(60));
    assert_eq!(s.name(), "default");
    assert!(!s.is_closed());
}

#[tokio::test]
async fn zero_limit_is_rejected_and_unlimited_exists() {
    let err = Scheduler::builder().limit(0).build().unwrap_err();
    assert_eq!(err.setting(), "scheduler limit");
    assert!(err.to_string().contains("at least 1"), "{err}");
    let s = Scheduler::builder().unlimited().unbounded_pending().build().unwrap();
    assert_eq!(s.limit(), None);
    assert_eq!(s.pending_limit(), usize::MAX);
    let mut jobs = Vec::new();
    for _ in 0..500 {
        jobs.push(s.try_spawn(forever()).unwrap());
    }
    assert_eq!(s.active_count(), 500, "no limit: everything starts");
    assert_eq!(s.pending_count(), 0);
    assert!(s.set_limit(0).is_err());
}

#[tokio::test(start_paused = true)]
async fn starts_under_the_limit_and_queues_fifo() {
    let (s, _) = scheduler(Scheduler::builder().limit(2));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    let mut jobs = Vec::new();
    for i in 0..6 {
        let (fut, tx) = gated::<u32>();
        let order = order.clone();
        senders.push(tx);
        jobs.push(
            s.spawn(async move {
                order.lock().unwrap().push(i);
                fut.await
            })
            .await
            .unwrap(),
        );
    }
    settle(10).await;
    assert_eq!(s.active_count(), 2);
    assert_eq!(s.pending_count(), 4);
    assert_eq!(s.len(), 6);
    let states: Vec<_> = jobs.iter().map(|j| j.state()).collect();
    assert_eq!(states[..2], [JobState::Active, JobState::Active]);
    assert!(states[2..].iter().all(|s| *s == JobState::Pending));
    // Finish in reverse order of the running ones; queued ones still start in FIFO order.
    for tx in senders.drain(..).rev() {
        let _ = tx.send(Ok(1));
        settle(10).await;
    }
    for j in jobs {
        assert_eq!(j.await, Ok(1));
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn spawn_waits_while_the_pending_queue_is_full() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).pending_limit(1));
    let (first, tx) = gated::<()>();
    let _a = s.spawn(first).await.unwrap();
    let _b = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    let mut third = Box::pin(s.spawn(async { Ok::<_, String>(()) }));
    assert!((&mut third).now_or_never().is_none(), "queue full: spawn waits");
    assert_eq!(s.pending_count(), 1, "a waiting spawner is not counted as pending");
    tx.send(Ok(())).unwrap();
    let c = tokio::time::timeout(Duration::from_secs(1), third).await.expect("room appeared").unwrap();
    assert!(matches!(c.state(), JobState::Pending | JobState::Active | JobState::Closed));
    assert!(c.await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiting_spawn_spawns_nothing() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).pending_limit(0));
    let (first, tx) = gated::<()>();
    let _a = s.spawn(first).await.unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let waiting = s.spawn(async move {
        r.fetch_add(1, SeqCst);
        Ok::<_, String>(())
    });
    assert!(tokio::time::timeout(Duration::from_millis(10), waiting).await.is_err());
    tx.send(Ok(())).unwrap();
    s.idle().await;
    assert_eq!(ran.load(SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn pending_limit_zero_means_spawners_wait_for_a_slot() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).pending_limit(0));
    let (first, tx) = gated::<()>();
    let _a = s.spawn(first).await.unwrap();
    assert!(s.try_spawn(async { Ok::<_, String>(()) }).unwrap_err().is_full());
    let mut next = Box::pin(s.spawn(async { Ok::<_, String>(()) }));
    assert!((&mut next).now_or_never().is_none());
    tx.send(Ok(())).unwrap();
    let job = next.await.unwrap();
    assert_ne!(job.state(), JobState::Pending, "admitted straight into the freed slot");
}

#[tokio::test(start_paused = true)]
async fn blocked_spawners_are_admitted_in_order() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).pending_limit(1));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (first, tx) = gated::<()>();
    let a = s.spawn(first).await.unwrap();
    let b = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    let mut waiters = Vec::new();
    for i in 0..3 {
        let s = s.clone();
        let order = order.clone();
        waiters.push(tokio::spawn(async move {
            let job = s
                .spawn({
                    let order = order.clone();
                    async move {
                        order.lock().unwrap().push(i);
                        Ok::<_, String>(())
                    }
                })
                .await
                .unwrap();
            job.await
        }));
        settle(10).await;
    }
    tx.send(Ok(())).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    for w in waiters {
        w.await.unwrap().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
}

#[tokio::test]
async fn try_spawn_never_waits_and_hands_the_future_back() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).pending_limit(1));
    let _a = s.try_spawn(forever()).unwrap();
    let b = s.try_spawn(forever()).unwrap();
    assert!(b.is_pending());
    let err = s.try_spawn(async { Ok::<_, String>(5) }).unwrap_err();
    assert!(err.is_full() && !err.is_closed());
    assert!(err.to_string().contains("full"), "{err}");
    assert_eq!(err.into_inner().await, Ok(5), "the future comes back unrun and usable");
    s.close().await;
    match s.try_spawn(async { Ok::<_, String>(6) }) {
        Err(TrySpawnError::Closed(f)) => assert_eq!(f.await, Ok(6)),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test]
async fn spawn_after_close_returns_closed_with_the_future() {
    let s = Scheduler::new();
    s.close().await;
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let err = s
        .spawn(async move {
            r.fetch_add(1, SeqCst);
            Ok::<_, String>("x")
        })
        .await
        .unwrap_err();
    assert_eq!(ran.load(SeqCst), 0);
    assert!(err.to_string().contains("closed"));
    assert_eq!(err.into_inner().await, Ok("x"));
    let err = s.spawn_blocking(|| Ok::<_, String>(1)).await.unwrap_err();
    assert_eq!((err.into_inner())(), Ok(1));
    assert!(s.try_spawn_blocking(|| Ok::<_, String>(1)).unwrap_err().is_closed());
}

/// aiojobs let spawners blocked on a full queue through after close; they must get Closed.
#[tokio::test(start_paused = true)]
async fn regression_close_wakes_blocked_spawners_with_closed() {
    let (s, _) = scheduler(Scheduler::builder().limit(1).pending_limit(1));
    let _a = s.spawn(forever()).await.unwrap();
    let _b = s.spawn(forever()).await.unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let s2 = s.clone();
    let blocked = tokio::spawn(async move {
        s2.spawn(async move {
            r.fetch_add(1, SeqCst);
            Ok::<_, String>(())
        })
        .await
        .map(|_| ())
        .map_err(|c| c.to_string())
    });
    settle(10).await;
    assert!(!blocked.is_finished());
    let report = s.close().await;
    let out = blocked.await.unwrap();
    assert!(out.unwrap_err().contains("closed"));
    assert_eq!(ran.load(SeqCst), 0, "the blocked job never ran");
    assert_eq!(report.never_started, 1, "only the queued job; the blocked spawn was refused");
}

#[tokio::test]
async fn named_jobs_carry_their_name() {
    let s = Scheduler::new();
    let job = s.job().name("thumbnail-42").spawn(forever()).await.unwrap();
    assert_eq!(&*job.name(), "thumbnail-42");
    assert_eq!(&*s.jobs()[0].name, "thumbnail-42");
    let unnamed = s.spawn(forever()).await.unwrap();
    assert_eq!(*unnamed.name(), *format!("job-{}", unnamed.id()), "a default name, never none");
    assert!(unnamed.id() > job.id(), "ids increase in spawn order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_counts_toward_the_limit() {
    let s = Scheduler::builder().limit(2).build().unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut jobs = Vec::new();
    for _ in 0..6 {
        let (running, peak) = (running.clone(), peak.clone());
        jobs.push(
            s.spawn_blocking(move || {
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, SeqCst);
                Ok::<_, String>(std::thread::current().id())
            })
            .await
            .unwrap(),
        );
    }
    assert_eq!(s.active_count(), 2);
    assert_eq!(s.pending_count(), 4);
    let main_thread = std::thread::current().id();
    for j in jobs {
        assert_ne!(j.await.unwrap(), main_thread);
    }
    assert_eq!(peak.load(SeqCst), 2, "blocking jobs never exceeded the limit");
    // A mix: an async job waits behind blocking ones.
    let (tx, gate) = std::sync::mpsc::channel::<()>();
    let b1 = s.spawn_blocking(move || gate.recv().map_err(|e| e.to_string())).await.unwrap();
    let b2 = s.spawn_blocking(|| Ok::<_, String>(())).await.unwrap();
    let a = s.spawn(async { Ok::<_, String>(()) }).await.unwrap();
    b2.await.unwrap();
    tx.send(()).unwrap();
    b1.await.unwrap();
    a.await.unwrap();
}

#[tokio::test]
async fn blocking_job_errors_and_panics_are_typed() {
    let s = Scheduler::new();
    let j = s.spawn_blocking(|| Err::<(), _>("bad input")).await.unwrap();
    assert_eq!(j.await, Err(Error::Job("bad input")));
    let j = s.spawn_blocking(|| -> Result<(), String> { panic!("kaboom") }).await.unwrap();
    assert_eq!(j.await, Err(Error::Panicked("kaboom".into())));
}

#[tokio::test(start_paused = true)]
async fn a_job_reads_its_token_to_stop_cooperatively() {
    let (s, _) = scheduler(Scheduler::builder().close_timeout(Duration::from_secs(5)));
    let token = CancellationToken::new();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let (t, c) = (token.clone(), cleaned.clone());
    let job = s
        .job()
        .token(token)
        .spawn(async move {
            t.cancelled().await;
            tokio::time::sleep(Duration::from_secs(1)).await; // cleanup takes a while
            c.fetch_add(1, SeqCst);
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    assert!(job.token().is_some());
    settle(10).await;
    let start = tokio::time::Instant::now();
    assert!(job.close().await.was_cancelled());
    assert_eq!(start.elapsed(), Duration::from_secs(1), "close waited for the cooperative stop");
    assert_eq!(cleaned.load(SeqCst), 1, "the job ran its cleanup");
    assert_eq!(job.outcome(), Some(Outcome::Cancelled));
    assert!(job.await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_job_ignoring_its_token_is_aborted_after_close_timeout() {
    let (s, _) = scheduler(Scheduler::builder().close_timeout(Duration::from_millis(300)));
    let token = CancellationToken::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    struct OnDrop(Arc<AtomicUsize>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let guard = OnDrop(dropped.clone());
    let job = s
        .job()
        .token(token.clone())
        .spawn(async move {
            let _guard = guard;
            std::future::pending::<Result<(), String>>().await
        })
        .await
        .unwrap();
    settle(10).await;
    let start = tokio::time::Instant::now();
    let close = job.close();
    assert!(token.is_cancelled());
    assert!(close.await.was_cancelled());
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    assert_eq!(dropped.load(SeqCst), 1, "the future was dropped (aborted)");
    assert_eq!(job.state(), JobState::Closed);
    assert_eq!(s.active_count(), 0);
}

#[tokio::test]
async fn the_spawn_location_is_the_callers() {
    let (s, rec) = scheduler(Scheduler::builder());
    let line = line!() + 1;
    drop(s.spawn(async { Err::<(), _>("e1") }).await.unwrap());
    let line2 = line!() + 1;
    drop(s.job().name("n").try_spawn(async { Err::<(), _>("e2") }).unwrap());
    s.idle().await;
    let lines: Vec<_> = rec.seen().iter().map(|s| s.line).collect();
    assert_eq!(lines, [line, line2]);
    assert_eq!(s.jobs().len(), 0);
    let info_line = line!() + 1;
    let j = s.spawn(forever()).await.unwrap();
    assert_eq!(j.info().location.line(), info_line);
    assert!(j.info().location.file().ends_with("spawning.rs"));
}
