//! Errors go somewhere, exactly once: the waiter or the error handler.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{gated, scheduler};
use more_executors_core::Error;
use more_executors_jobs::{JobFailure, Scheduler};
use more_executors_test_support::settle;

#[tokio::test(start_paused = true)]
async fn an_unobserved_error_goes_to_the_handler() {
    let (s, rec) = scheduler(Scheduler::builder());
    let (fut, tx) = gated::<()>();
    let job = s.job().name("sync").spawn(fut).await.unwrap();
    let id = job.id();
    drop(job);
    tx.send(Err("upstream 502".into())).unwrap();
    s.idle().await;
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, id);
    assert_eq!(seen[0].name, "sync");
    assert_eq!(seen[0].message, "upstream 502");
    assert!(!seen[0].panic && !seen[0].late);
}

#[tokio::test(start_paused = true)]
async fn an_unobserved_panic_goes_to_the_handler() {
    let (s, rec) = scheduler(Scheduler::builder());
    drop(s.spawn(async { panic!("index out of range") as Result<(), String> }).await.unwrap());
    s.idle().await;
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].panic);
    assert_eq!(seen[0].message, "index out of range");
    // The scheduler is unharmed.
    assert_eq!(s.spawn(async { Ok::<_, String>(1) }).await.unwrap().await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_gets_the_error_and_the_handler_does_not() {
    let (s, rec) = scheduler(Scheduler::builder());
    let (fut, tx) = gated::<()>();
    let job = s.spawn(fut).await.unwrap();
    let waiter = tokio::spawn(job);
    settle(10).await;
    tx.send(Err("denied".into())).unwrap();
    assert_eq!(waiter.await.unwrap(), Err(Error::Job("denied".to_string())));
    s.idle().await;
    assert!(rec.seen().is_empty());
    let (fut, tx) = gated::<()>();
    let job = s.spawn(fut).await.unwrap();
    let waiter = tokio::spawn(job.wait(Duration::from_secs(60)));
    settle(10).await;
    tx.send(Err("denied again".into())).unwrap();
    assert!(waiter.await.unwrap().is_err());
    assert!(rec.seen().is_empty(), "wait() counts as waiting too");
}

/// aiojobs lost the error of a job whose waiter had gone away before it failed.
#[tokio::test(start_paused = true)]
async fn regression_waiter_gone_before_failure_goes_to_the_handler() {
    let (s, rec) = scheduler(Scheduler::builder());
    let (fut, tx) = gated::<()>();
    let job = s.spawn(fut).await.unwrap();
    // The caller waits, then is cancelled (timeout around the await, like a web request).
    let caller = tokio::time::timeout(Duration::from_secs(1), job).await;
    assert!(caller.is_err(), "the caller gave up");
    tx.send(Err("late failure".into())).unwrap();
    s.idle().await;
    assert_eq!(rec.messages(), ["late failure"]);
    // Same with wait(): the waiting future is dropped before the job fails.
    let (fut, tx) = gated::<()>();
    let job = s.spawn(fut).await.unwrap();
    let w = job.wait(Duration::from_secs(60));
    assert!(tokio::time::timeout(Duration::from_secs(1), w).await.is_err());
    tx.send(Err("second".into())).unwrap();
    s.idle().await;
    assert_eq!(rec.messages(), ["late failure", "second"]);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_dropped_after_the_failure_but_before_taking_it_hands_it_to_the_handler() {
    let (s, rec) = scheduler(Scheduler::builder());
    let (fut, tx) = gated::<()>();
    let mut job = s.spawn(fut).await.unwrap();
    assert!(futures::FutureExt::now_or_never(&mut job).is_none(), "now waiting");
    tx.send(Err("unread".into())).unwrap();
    s.idle().await;
    assert!(rec.seen().is_empty(), "delivered to the waiter, not yet read");
    drop(job);
    assert_eq!(rec.messages(), ["unread"], "the waiter left without reading it");
}

#[tokio::test(start_paused = true)]
async fn exactly_once_per_error_for_many_jobs() {
    let (s, rec) = scheduler(Scheduler::builder().limit(3));
    let mut awaited = Vec::new();
    for i in 0..20u32 {
        let job = s
            .spawn(async move {
                tokio::time::sleep(Duration::from_millis(1 + u64::from(i % 7))).await;
                Err::<(), _>(format!("e{i}"))
            })
            .await
            .unwrap();
        if i % 2 == 0 {
            awaited.push(tokio::spawn(job));
        } else {
            drop(job);
        }
    }
    let mut to_callers = 0;
    for w in awaited {
        assert!(w.await.unwrap().unwrap_err().is_job());
        to_callers += 1;
    }
    s.idle().await;
    let mut handled = rec.messages();
    handled.sort();
    let mut expected: Vec<_> = (0..20).filter(|i| i % 2 == 1).map(|i| format!("e{i}")).collect();
    expected.sort();
    assert_eq!(handled, expected);
    assert_eq!(to_callers + handled.len(), 20);
}

#[tokio::test(start_paused = true)]
async fn a_late_await_still_returns_the_reported_error() {
    let (s, rec) = scheduler(Scheduler::builder());
    let job = s.spawn(async { Err::<(), _>("nobody watched") }).await.unwrap();
    s.idle().await;
    assert_eq!(rec.messages(), ["nobody watched"]);
    assert_eq!(job.await, Err(Error::Job("nobody watched")));
    assert_eq!(rec.seen().len(), 1, "not reported twice");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_error_handler_is_contained() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let s = Scheduler::builder()
        .limit(1)
        .error_handler(move |_f: &JobFailure<'_>| {
            c.fetch_add(1, SeqCst);
            panic!("handler bug");
        })
        .build()
        .unwrap();
    for _ in 0..3 {
        drop(s.spawn(async { Err::<(), _>("x") }).await.unwrap());
    }
    s.idle().await;
    assert_eq!(calls.load(SeqCst), 3, "every failure reached the handler despite its panics");
    assert_eq!(s.active_count(), 0);
    assert_eq!(s.spawn(async { Ok::<_, String>(2) }).await.unwrap().await, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn failure_during_a_cooperative_stop_is_reported_late() {
    let (s, rec) = scheduler(Scheduler::builder());
    let token = more_executors_jobs::CancellationToken::new();
    let t = token.clone();
    let job = s
        .job()
        .token(token)
        .spawn(async move {
            t.cancelled().await;
            Err::<(), _>("flush failed while stopping")
        })
        .await
        .unwrap();
    settle(10).await;
    assert!(job.close().await.was_cancelled());
    assert_eq!(job.await, Err(Error::Cancelled), "the caller sees the cancel");
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].late);
    assert_eq!(seen[0].message, "flush failed while stopping");
}

#[tokio::test]
async fn job_failure_downcasts_and_displays() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s2 = seen.clone();
    let s = Scheduler::builder()
        .error_handler(move |f: &JobFailure<'_>| {
            let kind = f.downcast_ref::<std::io::Error>().map(|e| e.kind());
            *s2.lock().unwrap() = Some((kind, f.to_string(), format!("{f:?}")));
        })
        .build()
        .unwrap();
    drop(s.job().name("io").spawn(async { Err::<(), _>(std::io::Error::other("disk")) }).await.unwrap());
    s.idle().await;
    let (kind, display, debug) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(kind, Some(std::io::ErrorKind::Other));
    assert!(display.starts_with("job 1 (io) spawned at"), "{display}");
    assert!(display.ends_with("failed: disk"), "{display}");
    assert!(debug.contains("JobFailure"), "{debug}");
}
