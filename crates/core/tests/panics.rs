//! A panic in user code (a job, a map function, a flat_map function, a dynamic limit)
//! fails only that handle, with the panic message, and the executor keeps serving jobs.
//! (Panics of map functions over the async executor and the pool: `map.rs`.)
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
