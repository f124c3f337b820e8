//! flat_map and cancel propagation between an outer handle and the inner handle its
//! function returned.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{DropFlag, Gate, Latch, MyErr};
use more_executors_core::prelude::*;
use more_executors_core::stage::StageFuture;
use more_executors_core::{CancelHandle, Handle};
use tokio::sync::mpsc;

type ReadyJob = fn() -> std::future::Ready<Result<u32, MyErr>>;

/// An executor whose flat_map function submits a never-ending job to `other` (setting
/// `dropped` when that job's future is dropped) and reports the inner handle's canceller
/// through the returned channel.
fn outer_over(
    other: AsyncExecutor,
    dropped: Arc<AtomicBool>,
) -> (
    impl Executor<ReadyJob, Future: StageFuture<Ok = u32, Err = MyErr>>,
    mpsc::UnboundedReceiver<CancelHandle>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let exec = AsyncExecutor::new().with_flat_map(move |n: u32| -> Handle<u32, MyErr> {
        let dropped = dropped.clone();
        let h = other.submit(move || async move {
            let _flag = DropFlag(dropped);
            std::future::pending::<()>().await;
            Ok::<u32, MyErr>(n)
        });
        tx.send(h.canceller()).unwrap();
        h
    });
    (exec, rx)
}

#[tokio::test]
async fn inner_handle_cancelled_by_someone_else_resolves_outer() {
    let dropped = Arc::new(AtomicBool::new(false));
    let (exec, mut rx) = outer_over(AsyncExecutor::new(), dropped.clone());
    let outer = exec.submit(|| std::future::ready(Ok(1)));
    let inner = rx.recv().await.unwrap();
    assert!(!outer.is_done());
    assert!(inner.cancel(), "someone else cancels the inner handle");
    assert_eq!(outer.await, Err(Error::Cancelled), "the outer handle resolves, cancelled");
    tokio::task::yield_now().await;
    assert!(dropped.load(SeqCst));
}

#[tokio::test]
async fn inner_cancel_marks_outer_cancelled_and_outer_cancel_answers_true() {
    let (exec, mut rx) = outer_over(AsyncExecutor::new(), Arc::default());
    let outer = exec.submit(|| std::future::ready(Ok(1)));
    let inner = rx.recv().await.unwrap();
    let c = outer.canceller();
    assert!(inner.cancel());
    // Once the outer has observed the inner cancel it is itself cancelled.
    assert_eq!(outer.await, Err(Error::Cancelled));
    assert!(c.is_cancelled());
    assert!(c.cancel());
}

#[tokio::test]
async fn cancelling_outer_in_second_step_cancels_inner() {
    let dropped = Arc::new(AtomicBool::new(false));
    let (exec, mut rx) = outer_over(AsyncExecutor::new(), dropped.clone());
    let outer = exec.submit(|| std::future::ready(Ok(1)));
    let inner = rx.recv().await.unwrap();
    assert!(outer.cancel());
    assert!(inner.is_cancelled(), "the cancel went through to the inner handle");
    assert_eq!(outer.await, Err(Error::Cancelled));
    tokio::task::yield_now().await;
    assert!(dropped.load(SeqCst), "the inner job's future was dropped");
}

#[tokio::test]
async fn cancelling_outer_in_first_step_never_calls_the_function() {
    let called = Arc::new(AtomicBool::new(false));
    let c = called.clone();
    let exec = AsyncExecutor::new().with_flat_map(move |n: u32| {
        c.store(true, SeqCst);
        async move { Ok::<u32, MyErr>(n) }
    });
    let h = exec.submit(std::future::pending::<Result<u32, MyErr>>);
    assert!(h.cancel());
    assert_eq!(h.await, Err(Error::Cancelled));
    assert!(!called.load(SeqCst));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outer_cancel_refused_while_inner_blocking_job_runs() {
    let pool = BlockingPool::new(1).unwrap();
    let started = Latch::new();
    let release = Latch::new();
    let (s, r) = (started.clone(), release.clone());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let exec = AsyncExecutor::new().with_flat_map(move |n: u32| {
        let (s, r) = (s.clone(), r.clone());
        let h = pool.submit(move || {
            s.open();
            r.wait();
            Ok::<u32, MyErr>(n * 2)
        });
        tx.send(h.canceller()).unwrap();
        h
    });
    let outer = exec.submit(|| async { Ok::<u32, MyErr>(21) });
    let inner = rx.recv().await.unwrap();
    tokio::task::spawn_blocking(move || started.wait()).await.unwrap();
    assert!(!outer.cancel(), "the inner stage refuses, so the outer refuses");
    assert!(!inner.is_cancelled());
    assert!(!outer.is_cancelled());
    release.open();
    assert_eq!(outer.await, Ok(42));
}

#[tokio::test]
async fn flat_map_with_plain_future_and_handles_from_another_executor() {
    let other = BlockingPool::new(2).unwrap();
    let exec = InlineExecutor::new()
        .with_flat_map(move |n: u32| other.submit(move || Ok::<u32, MyErr>(n + 1)))
        .with_flat_map(|n: u32| async move { Ok::<u32, MyErr>(n * 10) });
    let handles: Vec<_> = (0..50u32).map(|i| exec.submit(move || Ok::<u32, MyErr>(i))).collect();
    for (i, h) in (0..50u32).zip(handles) {
        assert_eq!(h.await, Ok((i + 1) * 10));
    }
}

#[tokio::test]
async fn cancelling_outer_drops_a_plain_future_second_step() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let gate = Gate::new();
    let g = gate.clone();
    let exec = AsyncExecutor::new().with_flat_map(move |_: u32| {
        let (d, g) = (d.clone(), g.clone());
        async move {
            let _flag = DropFlag(d);
            g.open();
            std::future::pending::<()>().await;
            Ok::<u32, MyErr>(0)
        }
    });
    let h = exec.submit(|| async { Ok::<u32, MyErr>(1) });
    gate.wait().await;
    assert!(h.cancel());
    assert_eq!(h.await, Err(Error::Cancelled));
    assert!(dropped.load(SeqCst));
}

/// A blocking first step followed by a handle-returning second step: however the pool
/// thread and the driver task interleave, an accepted cancel of the outer handle reaches
/// the inner handle, and a refused one (while the function runs) leaves both untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_first_step_then_inner_handle_cancel_reaches_inner() {
    let pool = BlockingPool::new(2).unwrap();
    let other = AsyncExecutor::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let exec = pool.with_flat_map(move |n: u32| {
        let h = other.submit(std::future::pending::<Result<u32, MyErr>>);
        tx.send((n, h.canceller())).unwrap();
        h
    });
    for i in 0..500u32 {
        let outer = exec.submit(move || Ok::<u32, MyErr>(i));
        let (n, inner) = rx.recv().await.unwrap();
        assert_eq!(n, i);
        // The function has run but its handle's hook may not be installed yet: a cancel
        // in that instant is refused and must leave both handles untouched.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !outer.cancel() {
            assert!(
                !inner.is_cancelled() && !outer.is_cancelled(),
                "iteration {i}: refused cancel had effects"
            );
            // The refusal lasts only while the driver task runs the function; on a loaded
            // machine that thread may be descheduled for a while.
            assert!(Instant::now() < deadline, "iteration {i}: the cancel is never accepted");
            tokio::task::yield_now().await;
        }
        assert!(inner.is_cancelled(), "iteration {i}: the outer cancel did not reach the inner handle");
        assert_eq!(outer.await, Err(Error::Cancelled));
    }
}

/// An inner handle whose stage decides cancels asynchronously (like the poll layer's async
/// cancel function): cancelling the outer handle, from async code or from a plain thread,
/// waits for that decision instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outer_cancel_waits_for_an_async_inner_decision() {
    use more_executors_core::stage::{CancelDecision, CancelGate, submit_stage};

    let other = AsyncExecutor::new();
    let asked = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = asked.clone();
    let exec = AsyncExecutor::new().with_flat_map(move |n: u32| {
        let a = a.clone();
        let h: Handle<u32, MyErr> = submit_stage(&other, move |ctx| {
            let gate = ctx.set_gate(CancelGate::Hook(Arc::new(move || {
                let a = a.clone();
                CancelDecision::Later(Box::pin(async move {
                    tokio::task::yield_now().await;
                    a.store(true, SeqCst);
                    true
                }))
            })));
            async move {
                let _gate = gate;
                std::future::pending::<()>().await;
                Ok(n)
            }
        });
        tx.send(h.canceller()).unwrap();
        h
    });

    let outer = exec.submit(|| async { Ok::<u32, MyErr>(1) });
    let inner = rx.recv().await.unwrap();
    let mut accepted = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        // Refused only in the instant the flat_map function runs.
        if outer.cancel_async().await {
            accepted = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(accepted, "the inner stage approves: the outer cancel must be accepted");
    assert!(asked.load(SeqCst), "the inner stage's asynchronous decision was awaited");
    assert!(inner.is_cancelled());
    assert_eq!(outer.await, Err(Error::Cancelled));

    // The same from a plain thread with the blocking cancel.
    asked.store(false, SeqCst);
    let outer = exec.submit(|| async { Ok::<u32, MyErr>(2) });
    let inner = rx.recv().await.unwrap();
    let c = outer.canceller();
    let accepted = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if c.cancel() {
                return true;
            }
            std::thread::yield_now();
        }
        false
    })
    .await
    .unwrap();
    assert!(accepted);
    assert!(asked.load(SeqCst));
    assert!(inner.is_cancelled());
    assert_eq!(outer.await, Err(Error::Cancelled));
}
