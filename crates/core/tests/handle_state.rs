//! Running state and done callbacks of handles.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{Gate, Latch};
use more_executors_core::prelude::*;
use more_executors_test_support::quiet_expected_panics;

#[tokio::test(start_paused = true)]
async fn an_async_job_runs_from_its_first_poll_until_it_resolves() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let (g1, g2) = (Gate::new(), Gate::new());
    let (w1, w2) = (g1.clone(), g2.clone());
    let first = exec.submit(move || async move {
        w1.wait().await;
        Ok::<_, ()>(1)
    });
    let second = exec.submit(move || async move {
        w2.wait().await;
        Ok::<_, ()>(2)
    });
    let (c1, c2) = (first.canceller(), second.canceller());
    tokio::task::yield_now().await;
    assert!(first.is_running() && c1.is_running());
    assert!(!second.is_running() && !c2.is_running(), "queued in the limit: not running");
    g1.open();
    assert_eq!(first.await, Ok(1));
    assert!(!c1.is_running() && c1.is_done());
    tokio::task::yield_now().await;
    assert!(second.is_running());
    assert!(second.cancel());
    assert!(!second.is_running(), "a cancelled job is not running");
    assert!(c2.is_done() && c2.is_cancelled());
    g2.open();
}

#[test]
fn a_blocking_job_runs_while_a_pool_thread_runs_it() {
    let pool = BlockingPool::new(1).unwrap();
    let (started, release) = (Latch::new(), Latch::new());
    let (s, r) = (started.clone(), release.clone());
    let first = pool.submit(move || {
        s.open();
        r.wait();
        Ok::<_, ()>(1)
    });
    let queued = pool.submit(|| Ok::<_, ()>(2));
    started.wait();
    assert!(first.is_running());
    assert!(!queued.is_running(), "waiting for a free thread: not running");
    release.open();
    let watch = first.canceller();
    assert_eq!(first.wait(), Ok(1));
    assert!(!watch.is_running() && watch.is_done());
    assert_eq!(queued.wait(), Ok(2));
}

#[test]
fn ready_and_inline_handles_are_never_running() {
    let h: Handle<u8, ()> = Handle::ready(1);
    assert!(!h.is_running() && !h.canceller().is_running() && h.canceller().is_done());
    let inline = InlineExecutor::new().submit(|| Ok::<_, ()>(1));
    assert!(!inline.is_running() && inline.is_done());
}

#[tokio::test]
async fn a_callback_runs_once_with_the_value_before_the_handle_yields_it() {
    let exec = AsyncExecutor::new();
    let gate = Gate::new();
    let g = gate.clone();
    let mut h = exec.submit(move || async move {
        g.wait().await;
        Ok::<_, String>(5)
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    for tag in 0..3 {
        let seen = seen.clone();
        h.on_done(move |r| seen.lock().unwrap().push((tag, r.clone())));
    }
    assert!(seen.lock().unwrap().is_empty(), "not before the job resolves");
    gate.open();
    assert_eq!(h.await, Ok(5));
    assert_eq!(*seen.lock().unwrap(), [(0, Ok(5)), (1, Ok(5)), (2, Ok(5))], "once each, in order");
}

#[test]
fn a_callback_on_a_resolved_handle_runs_at_once_without_a_runtime() {
    let mut h: Handle<u8, &str> = Handle::failed("no");
    let (tx, rx) = mpsc::channel();
    h.on_done(move |r| tx.send(r.clone()).unwrap());
    assert_eq!(rx.try_recv().unwrap(), Err(Error::Job("no")), "called during on_done");
    assert_eq!(h.wait(), Err(Error::Job("no")));
}

#[test]
fn a_callback_registered_after_completion_still_sees_the_value() {
    let pool = BlockingPool::new(1).unwrap();
    let mut h = pool.submit(|| Ok::<_, ()>(9));
    while !h.is_done() {
        std::thread::yield_now();
    }
    let (tx, rx) = mpsc::channel();
    h.on_done(move |r| tx.send(r.clone()).unwrap());
    assert_eq!(rx.try_recv().unwrap(), Ok(9));
    assert_eq!(h.wait(), Ok(9), "the handle still yields its result");
}

#[tokio::test]
async fn a_cancel_runs_the_callbacks_with_cancelled() {
    let exec = AsyncExecutor::new();
    let mut h = exec.submit(std::future::pending::<Result<(), ()>>);
    let (tx, rx) = mpsc::channel();
    h.on_done(move |r| tx.send(r.clone()).unwrap());
    assert!(h.cancel());
    assert_eq!(rx.try_recv().unwrap(), Err(Error::Cancelled), "run by the accepted cancel");
    assert!(h.await.unwrap_err().is_cancelled());
    assert!(rx.try_recv().is_err(), "exactly once");
}

#[test]
fn a_runtime_shutting_down_runs_the_callbacks_with_shut_down() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let exec = AsyncExecutor::builder().runtime(Runtime::from_handle(rt.handle().clone())).build();
    let mut h = exec.submit(std::future::pending::<Result<(), ()>>);
    let (tx, rx) = mpsc::channel();
    h.on_done(move |r| tx.send(r.clone()).unwrap());
    drop(rt);
    assert_eq!(rx.try_recv().unwrap(), Err(Error::ShutDown));
    assert!(h.is_done());
}

/// The original's broken-callback test: 1,000 handles, each with a callback that panics;
/// every callback is called exactly once and the handles resolve normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_callbacks_are_contained_and_each_runs_exactly_once() {
    quiet_expected_panics();
    let exec = AsyncExecutor::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let after = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..1_000u32 {
        let mut h = exec.submit(move || async move {
            tokio::task::yield_now().await;
            Ok::<_, ()>(i)
        });
        let c = calls.clone();
        h.on_done(move |_| {
            c.fetch_add(1, SeqCst);
            panic!("boom: a broken callback");
        });
        let a = after.clone();
        h.on_done(move |_| {
            a.fetch_add(1, SeqCst);
        });
        handles.push(h);
    }
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await, Ok(i as u32));
    }
    assert_eq!(calls.load(SeqCst), 1_000);
    assert_eq!(after.load(SeqCst), 1_000, "a panicking callback does not stop the next one");
}

/// Registration racing the job's end: never lost, never twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_while_the_job_finishes_calls_exactly_once() {
    let exec = AsyncExecutor::new();
    for _ in 0..500 {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut h = exec.submit(|| async { Ok::<_, ()>(1) });
        let c = calls.clone();
        h.on_done(move |r| {
            assert_eq!(*r, Ok(1));
            c.fetch_add(1, SeqCst);
        });
        let watch = h.canceller();
        assert_eq!(h.await, Ok(1));
        assert!(watch.is_done());
        assert_eq!(calls.load(SeqCst), 1);
    }
}

/// Spends the current task's cooperative budget: tokio's own futures (a join handle among
/// them) then report `Pending` until the task yields.
fn spend_coop_budget() {
    let mut cx = std::task::Context::from_waker(futures::task::noop_waker_ref());
    while tokio::task::coop::has_budget_remaining() {
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        tx.send(()).unwrap();
        assert!(std::pin::Pin::new(&mut rx).poll(&mut cx).is_ready());
    }
}

/// `on_done` in the moment between the outcome being recorded and the job's task ending,
/// called from a task that has spent its cooperative budget: the callback runs with the
/// outcome (the finished task's output is read outside the budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_done_from_a_task_out_of_budget_while_the_job_ends() {
    let exec = AsyncExecutor::new();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let mut h = exec.submit(move || async move {
        released.await.unwrap();
        Ok::<_, ()>(1)
    });
    // The first callback holds the job's driver between recording the outcome and ending.
    let (entered_tx, entered) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    h.on_done(move |_| {
        entered_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    release.send(()).unwrap();
    entered.recv().unwrap();
    spend_coop_budget();
    go.send(()).unwrap();
    let (tx, rx) = mpsc::channel();
    h.on_done(move |r| tx.send(r.clone()).unwrap());
    assert_eq!(rx.try_recv(), Ok(Ok(1)), "called at once with the outcome");
    assert_eq!(h.await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_wait_keeps_callbacks_registered() {
    let exec = AsyncExecutor::new();
    let mut h = exec.submit(|| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, ()>(3)
    });
    let (tx, rx) = mpsc::channel();
    h.on_done(move |r| tx.send(r.clone()).unwrap());
    assert!(tokio::time::timeout(Duration::from_secs(1), &mut h).await.is_err());
    assert!(rx.try_recv().is_err());
    assert_eq!(h.await, Ok(3));
    assert_eq!(rx.try_recv().unwrap(), Ok(3));
}
