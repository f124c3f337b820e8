//! A panic in user code (a job, a map function, a flat_map function, a dynamic limit)
//! fails only that handle, with the panic message, and the executor keeps serving jobs.
//! (Panics of map functions over the async executor and the pool: `map.rs`.) A value or
//! future whose `Drop` panics after the outcome is known leaves that outcome intact: the done
//! callbacks and the await see the same one, and no thread or submitter unwinds.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use common::{Gate, MyErr, assert_panicked as panicked};
use more_executors_core::prelude::*;
use more_executors_test_support::quiet_expected_panics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_panics_fail_only_that_handle() {
    quiet_expected_panics();
    let a = AsyncExecutor::new();
    let gate = Gate::new();
    let g = gate.clone();
    let neighbour = a.submit(move || async move {
        g.wait().await;
        Ok::<_, MyErr>("neighbour")
    });
    let r: Result<(), Error<MyErr>> = a.submit(|| async { panic!("boom in async job") }).await;
    panicked(r, "boom in async job");
    // A panic while building the future (in the job closure itself).
    let h = a.submit(|| -> std::future::Ready<Result<(), MyErr>> { panic!("boom before the future") });
    panicked(h.await, "boom before the future");
    gate.open();
    assert_eq!(neighbour.await, Ok("neighbour"));
    assert_eq!(a.submit(|| async { Ok::<_, MyErr>(1) }).await, Ok(1));

    let b = BlockingPool::new(1).unwrap();
    panicked(b.submit(|| -> Result<(), MyErr> { panic!("boom in blocking job") }).await, "boom in blocking");
    // The single pool thread survived the panic.
    assert_eq!(b.submit(|| Ok::<_, MyErr>(2)).await, Ok(2));

    let i = InlineExecutor::new();
    panicked(i.submit(|| -> Result<(), MyErr> { panic!("boom inline") }).await, "boom inline");
    assert_eq!(i.submit(|| Ok::<_, MyErr>(3)).await, Ok(3));
}

#[test]
fn map_panic_with_inline_executor_does_not_panic_the_submitter() {
    quiet_expected_panics();
    let exec = InlineExecutor::new().with_map(|_: u32| -> u32 { panic!("boom: inline map") });
    let h = exec.submit(|| Ok::<u32, MyErr>(1)); // must not unwind into the caller
    assert!(h.is_done());
    assert!(!h.cancel());
    panicked(h.wait(), "boom: inline map");

    let exec = InlineExecutor::new().with_flat_map(|_: u32| -> std::future::Ready<Result<u32, MyErr>> {
        panic!("boom: inline flat_map")
    });
    let h = exec.submit(|| Ok::<u32, MyErr>(1));
    panicked(h.wait(), "boom: inline flat_map");
    assert_eq!(
        InlineExecutor::new().with_map(|n: u32| n + 1).submit(|| Ok::<u32, MyErr>(1)).wait(),
        Ok(2),
        "the executor keeps serving"
    );
}

#[tokio::test]
async fn flat_map_function_panic_fails_only_that_handle() {
    quiet_expected_panics();
    let other = AsyncExecutor::new();
    let exec = AsyncExecutor::new().with_flat_map(move |n: u32| {
        if n == 0 {
            panic!("boom: flat_map of zero");
        }
        other.submit(move || async move { Ok::<u32, MyErr>(n + 100) })
    });
    let good = exec.submit(|| async { Ok::<u32, MyErr>(1) });
    panicked(exec.submit(|| async { Ok::<u32, MyErr>(0) }).await, "boom: flat_map of zero");
    assert_eq!(good.await, Ok(101));
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(2) }).await, Ok(102));

    // A panic inside the future the function returns.
    let exec = BlockingPool::new(1).unwrap().with_flat_map(|_: u32| async move {
        if true { panic!("boom: in the second step") } else { Ok::<u32, MyErr>(0) }
    });
    panicked(exec.submit(|| Ok::<u32, MyErr>(1)).await, "boom: in the second step");
}

#[tokio::test]
async fn dynamic_limit_panic_fails_only_that_handle() {
    quiet_expected_panics();
    let explode = Arc::new(AtomicBool::new(false));
    let e = explode.clone();
    let exec = AsyncExecutor::new()
        .with_dynamic_concurrency_limit(move || {
            if e.load(SeqCst) {
                panic!("boom: limit function");
            }
            2
        })
        .unwrap();
    let gate = Gate::new();
    let g = gate.clone();
    let running = exec.submit(move || async move {
        g.wait().await;
        Ok::<_, MyErr>(1)
    });
    explode.store(true, SeqCst);
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = exec.submit(move || async move {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(2)
    });
    panicked(h.await, "boom: limit function");
    assert!(!ran.load(SeqCst), "the job whose slot could not be decided did not run");
    // The panic at release keeps the previous limit; the running job is unaffected.
    gate.open();
    assert_eq!(running.await, Ok(1));
    explode.store(false, SeqCst);
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>(3) }).await, Ok(3));
    assert_eq!(exec.limit(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_panics_do_not_take_the_executor_down() {
    quiet_expected_panics();
    let limit = AsyncExecutor::new().with_concurrency_limit(4).unwrap();
    let exec = limit.clone().with_map(|n: u32| if n % 3 == 0 { panic!("boom {n}") } else { n });
    let served = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..300u32)
        .map(|i| {
            let s = served.clone();
            exec.submit(move || async move {
                s.fetch_add(1, SeqCst);
                if i % 5 == 0 {
                    panic!("boom in job {i}");
                }
                Ok::<u32, MyErr>(i)
            })
        })
        .collect();
    for (i, h) in (0..300u32).zip(handles) {
        match h.await {
            Ok(v) => assert!(v == i && i % 5 != 0 && i % 3 != 0),
            Err(Error::Panicked(m)) if i % 5 == 0 => assert_eq!(m, format!("boom in job {i}")),
            Err(Error::Panicked(m)) if i % 3 == 0 => assert_eq!(m, format!("boom {i}")),
            other => panic!("job {i}: unexpected {other:?}"),
        }
    }
    assert_eq!(served.load(SeqCst), 300);
    assert_eq!(limit.in_flight(), 0, "slots were released by panicking jobs");
}

/// A job's output whose `Drop` panics.
#[derive(Debug)]
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("boom: output dropped");
    }
}

#[test]
fn pool_thread_survives_an_unclaimed_output_whose_drop_panics() {
    quiet_expected_panics();
    let pool = BlockingPool::new(1).unwrap();
    let latch = common::Latch::new();
    let l = latch.clone();
    // Nobody claims the output: the pool thread drops it.
    drop(pool.submit(move || {
        l.wait();
        Ok::<_, MyErr>(PanicOnDrop)
    }));
    latch.open();
    let mut next = pool.submit(|| Ok::<_, MyErr>(2));
    // A generous bound only to turn a hang into a failure.
    assert_eq!(
        next.wait_timeout(std::time::Duration::from_secs(10)),
        Some(Ok(2)),
        "the single thread survived"
    );
}

#[tokio::test]
async fn a_combinator_dropping_a_value_whose_drop_panics_resolves_once() {
    quiet_expected_panics();
    // The error decides the sequence; the value already collected is dropped, and panics.
    let inputs = vec![Handle::ready(PanicOnDrop), Handle::failed(MyErr::NotFound)];
    let mut seq = more_executors_core::combinators::sequence(inputs);
    let (tx, rx) = tokio::sync::oneshot::channel();
    seq.on_done(move |r| {
        let _ = tx.send(r.as_ref().err().map(|e| e.to_string()));
    });
    let awaited = tokio::time::timeout(std::time::Duration::from_secs(10), seq).await.expect("resolves");
    let seen = rx.await.expect("the callback ran");
    assert_eq!(
        seen,
        awaited.as_ref().err().map(|e| e.to_string()),
        "the callback and the await see one outcome"
    );
    panicked(awaited, "boom: output dropped");
}

/// A flat_map step whose future keeps a [`PanicOnDrop`] until it is dropped, after it
/// resolved.
struct GuardedStep(u32, #[allow(dead_code)] PanicOnDrop);

impl std::future::Future for GuardedStep {
    type Output = Result<u32, MyErr>;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(self.0))
    }
}

#[test]
fn an_inline_stage_future_whose_drop_panics_does_not_unwind_into_submit() {
    quiet_expected_panics();
    let exec = InlineExecutor::new().with_flat_map(|n: u32| GuardedStep(n + 1, PanicOnDrop));
    let submitted =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec.submit(|| Ok::<u32, MyErr>(1))));
    let h = submitted.expect("submit does not panic");
    assert_eq!(h.wait(), Ok(2), "the job's outcome was recorded before the step was dropped");
}

/// Awaits `h` and checks that its done callback saw the same outcome, `Ok(2)`.
async fn assert_one_outcome(mut h: Handle<u32, MyErr>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    h.on_done(move |r| {
        let _ = tx.send(r.clone());
    });
    let awaited = tokio::time::timeout(std::time::Duration::from_secs(10), h).await.expect("resolves");
    assert_eq!(rx.await.expect("the callback ran"), awaited, "the callback and the await see one outcome");
    assert_eq!(awaited, Ok(2));
}

#[tokio::test]
async fn a_stage_future_whose_drop_panics_resolves_the_handle_once() {
    quiet_expected_panics();
    let exec = AsyncExecutor::new().with_flat_map(|n: u32| GuardedStep(n + 1, PanicOnDrop));
    assert_one_outcome(exec.submit(|| async { Ok::<u32, MyErr>(1) })).await;
}

#[tokio::test]
async fn a_then_step_whose_drop_panics_resolves_the_handle_once() {
    quiet_expected_panics();
    assert_one_outcome(Handle::<u32, MyErr>::ready(1).then(|n| GuardedStep(n + 1, PanicOnDrop))).await;
}
