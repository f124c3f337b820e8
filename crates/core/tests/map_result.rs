//! The fallible and recovering layers (and_then, or_else, map_result) and bound submission.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use common::{Gate, MyErr};
use more_executors_core::map_result::{AndThenLayer, MapResultLayer, OrElseLayer};
use more_executors_core::prelude::*;
use more_executors_test_support::quiet_expected_panics;

#[test]
fn and_then_may_fail_and_or_else_recovers() {
    let exec = InlineExecutor::new()
        .with_and_then(|n: i32| if n >= 0 { Ok(n as u32) } else { Err(MyErr::Code(n.unsigned_abs())) })
        .with_or_else(|e: Error<MyErr>| match e {
            Error::Job(MyErr::NotFound) => Ok(0),
            other => Err(other.into_job_error().unwrap_or(MyErr::Code(0))),
        });
    assert_eq!(exec.submit(|| Ok(5)).wait(), Ok(5));
    assert_eq!(exec.submit(|| Ok(-2)).wait(), Err(Error::Job(MyErr::Code(2))), "and_then's failure");
    assert_eq!(exec.submit(|| Err(MyErr::NotFound)).wait(), Ok(0), "recovered");
}

#[test]
fn map_result_sees_every_outcome_but_a_cancel() {
    quiet_expected_panics();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let exec = ExecutorBuilder::new()
        .map_result(move |r: Result<u8, Error<MyErr>>| {
            s.fetch_add(1, SeqCst);
            match r {
                Ok(v) => Ok(u32::from(v)),
                Err(Error::Panicked(_)) => Err("panicked"),
                Err(_) => Err("failed"),
            }
        })
        .build(InlineExecutor::new());
    assert_eq!(exec.submit(|| Ok(1)).wait(), Ok(1));
    assert_eq!(exec.submit(|| Err(MyErr::NotFound)).wait(), Err(Error::Job("failed")));
    assert_eq!(exec.submit(|| -> Result<u8, MyErr> { panic!("boom") }).wait(), Err(Error::Job("panicked")));
    assert_eq!(seen.load(SeqCst), 3);
}

#[tokio::test]
async fn a_cancel_is_not_transformed_and_reaches_the_inner_stage() {
    let called = Arc::new(AtomicUsize::new(0));
    let c = called.clone();
    let exec = AsyncExecutor::new().with_or_else(move |_e: Error<MyErr>| {
        c.fetch_add(1, SeqCst);
        Ok(0u8)
    });
    let gate = Gate::new();
    let g = gate.clone();
    let h = exec.submit(move || async move {
        g.wait().await;
        Ok(1u8)
    });
    assert!(h.cancel());
    assert!(h.await.unwrap_err().is_cancelled());
    assert_eq!(called.load(SeqCst), 0);
}

#[test]
fn a_panicking_transform_fails_only_its_handle() {
    quiet_expected_panics();
    let exec =
        InlineExecutor::new().with_and_then(|n: u8| if n == 0 { panic!("boom") } else { Ok::<_, MyErr>(n) });
    assert!(exec.submit(|| Ok(0)).wait().unwrap_err().is_panicked());
    assert_eq!(exec.submit(|| Ok(3)).wait(), Ok(3));
}

#[test]
fn the_layers_stack_with_tower() {
    let exec = tower::ServiceBuilder::new()
        .layer(MapResultLayer::new(|r: Result<u32, Error<MyErr>>| {
            r.map(|v| v + 1).map_err(|_| MyErr::NotFound)
        }))
        .layer(OrElseLayer::new(|_e: Error<MyErr>| Ok::<u32, MyErr>(10)))
        .layer(AndThenLayer::new(|v: u32| if v > 5 { Err(MyErr::Code(v)) } else { Ok(v) }))
        .service(InlineExecutor::new());
    assert_eq!(exec.submit(|| Ok(2)).wait(), Ok(3));
    assert_eq!(
        exec.submit(|| Ok(9)).wait(),
        Ok(11),
        "and_then failed, or_else recovered, map_result added one"
    );
}

#[tokio::test]
async fn bind_submits_once_per_call() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let exec = AsyncExecutor::new().with_concurrency_limit(2).unwrap();
    let double = exec.clone().bind(move |n: u32| {
        let r = r.clone();
        move || async move {
            r.fetch_add(1, SeqCst);
            Ok::<_, MyErr>(n * 2)
        }
    });
    let handles: Vec<_> = (0..5).map(&double).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    assert_eq!(out, [0, 2, 4, 6, 8]);
    assert_eq!(runs.load(SeqCst), 5);
}

#[test]
fn bind_works_on_a_blocking_pool_from_synchronous_code() {
    let pool = BlockingPool::new(2).unwrap();
    let len = pool.bind(|s: &'static str| move || Ok::<_, MyErr>(s.len()));
    assert_eq!(len("four").wait(), Ok(4));
}

#[tokio::test]
async fn flat_bind_flattens_and_forwards_cancel_to_the_inner_handle() {
    let inner_exec = AsyncExecutor::new();
    let exec = AsyncExecutor::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let ie = inner_exec.clone();
    let slow = exec.clone().flat_bind(move |n: u32| {
        let ie = ie.clone();
        let tx = tx.lock().unwrap().clone();
        move || async move {
            let inner = ie.submit(move || async move {
                std::future::pending::<()>().await;
                Ok::<_, MyErr>(n)
            });
            tx.send(inner.canceller()).unwrap();
            Ok::<_, MyErr>(inner)
        }
    });
    let h = slow(1);
    let inner = tokio::task::spawn_blocking(move || rx.recv().unwrap()).await.unwrap();
    assert!(h.cancel());
    assert!(inner.is_cancelled(), "the cancel reached the inner handle");
    assert!(h.await.unwrap_err().is_cancelled());

    let ie = inner_exec.clone();
    let fast = exec.flat_bind(move |n: u32| {
        let ie = ie.clone();
        move || async move { Ok::<_, MyErr>(ie.submit(move || async move { Ok::<_, MyErr>(n + 1) })) }
    });
    assert_eq!(fast(1).await, Ok(2));
}
