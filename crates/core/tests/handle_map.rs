//! Combinators over one handle: map, and_then, or_else, map_result, map_err, then.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use common::{Gate, Latch, MyErr};
use more_executors_core::prelude::*;
use more_executors_test_support::quiet_expected_panics;

fn gated(exec: &AsyncExecutor, gate: &Gate, value: u32) -> Handle<u32, MyErr> {
    let g = gate.clone();
    exec.submit(move || async move {
        g.wait().await;
        Ok(value)
    })
}

#[tokio::test]
async fn the_fallible_and_recovering_forms_map_values_and_errors() {
    let exec = AsyncExecutor::new();
    let gate = Gate::new();
    let doubled = gated(&exec, &gate, 4).map(|v| v * 2);
    let checked = gated(&exec, &gate, 4).and_then(|v| if v > 3 { Err(MyErr::Code(v)) } else { Ok(v) });
    let failing: Handle<u32, MyErr> = exec.submit(|| async { Err(MyErr::NotFound) });
    let recovered = failing.or_else(|e| match e {
        Error::Job(MyErr::NotFound) => Ok(0),
        other => Err(other.job_error().cloned().unwrap_or(MyErr::Code(500))),
    });
    let described = gated(&exec, &gate, 1).map_result(|r| match r {
        Ok(v) => Err(format!("got {v}")),
        Err(e) => Ok(e.to_string()),
    });
    let renamed = exec.submit(|| async { Err::<(), _>(MyErr::Code(7)) }).map_err(|e| e.to_string());
    gate.open();
    assert_eq!(doubled.await, Ok(8));
    assert_eq!(checked.await, Err(Error::Job(MyErr::Code(4))));
    assert_eq!(recovered.await, Ok(0));
    assert_eq!(described.await, Err(Error::Job("got 1".to_string())));
    assert_eq!(renamed.await, Err(Error::Job("code 7".to_string())));
}

#[tokio::test]
async fn cancelling_the_result_cancels_the_source() {
    let exec = AsyncExecutor::new();
    let gate = Gate::new();
    for make in [
        (|h: Handle<u32, MyErr>| h.map(|v| v + 1)) as fn(Handle<u32, MyErr>) -> Handle<u32, MyErr>,
        |h| h.and_then(Ok),
        |h| h.or_else(|_| Ok(0)),
        |h| h.map_result(|r| r.map_err(|_| MyErr::NotFound)),
        |h| h.then(|v| async move { Ok::<_, MyErr>(v) }),
    ] {
        let source = gated(&exec, &gate, 1);
        let watch = source.canceller();
        let mapped = make(source);
        assert!(mapped.cancel(), "forwarded to the pending source, which accepts");
        assert!(watch.is_cancelled(), "the source was cancelled");
        assert!(mapped.await.unwrap_err().is_cancelled());
    }
}

#[tokio::test]
async fn a_cancelled_source_cancels_the_result_without_calling_the_function() {
    let exec = AsyncExecutor::new();
    let called = Arc::new(AtomicBool::new(false));
    let source: Handle<u32, MyErr> = exec.submit(std::future::pending);
    let source_cancel = source.canceller();
    let c = called.clone();
    let recovered = source.or_else(move |_| {
        c.store(true, SeqCst);
        Ok(0)
    });
    assert!(source_cancel.cancel());
    assert!(recovered.await.unwrap_err().is_cancelled());
    assert!(!called.load(SeqCst), "a cancel is not an error to recover from");
}

#[test]
fn a_refused_cancel_of_the_source_is_refused_for_the_result() {
    let pool = BlockingPool::new(1).unwrap();
    let (started, release) = (Latch::new(), Latch::new());
    let (s, r) = (started.clone(), release.clone());
    let source = pool.submit(move || {
        s.open();
        r.wait();
        Ok::<_, MyErr>(2)
    });
    started.wait();
    let mapped = source.map(|v| v * 10);
    assert!(!mapped.cancel(), "the running blocking job refuses");
    release.open();
    assert_eq!(mapped.wait(), Ok(20));
}

#[tokio::test]
async fn a_panic_in_the_function_fails_only_the_result() {
    quiet_expected_panics();
    let h: Handle<u32, MyErr> = Handle::ready(1);
    let mapped = h.map(|_| -> u32 { panic!("boom in map") });
    assert!(matches!(mapped.await, Err(Error::Panicked(m)) if m.contains("boom")));
    let exec = AsyncExecutor::new();
    let mapped =
        exec.submit(|| async { Ok::<_, MyErr>(1) }).and_then(|_| -> Result<u32, MyErr> { panic!("boom") });
    assert!(mapped.await.unwrap_err().is_panicked());
}

#[test]
fn a_resolved_source_is_mapped_without_a_runtime() {
    let h: Handle<u32, MyErr> = Handle::ready(2);
    let mapped = h.map(|v| v + 1);
    assert!(mapped.is_done(), "mapped on the spot");
    assert_eq!(mapped.wait(), Ok(3));
}

#[tokio::test]
async fn then_chains_a_handle_and_forwards_cancel_to_it() {
    let exec = AsyncExecutor::new();
    let inner_cancelled = Arc::new(AtomicBool::new(false));
    let flag = inner_cancelled.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let exec2 = exec.clone();
    let chained = exec.submit(|| async { Ok::<_, MyErr>(3u32) }).then(move |v| {
        let inner = exec2.submit(move || async move {
            let _flag = common::DropFlag(flag);
            std::future::pending::<()>().await;
            Ok::<_, MyErr>(v)
        });
        tx.send(inner.canceller()).ok();
        inner
    });
    let inner = rx.await.unwrap();
    assert!(chained.cancel());
    assert!(inner.is_cancelled(), "the cancel reached the handle the function returned");
    assert!(chained.await.unwrap_err().is_cancelled());
    tokio::task::yield_now().await;
    assert!(inner_cancelled.load(SeqCst));

    let ok = exec.submit(|| async { Ok::<_, MyErr>(3u32) }).then(|v| async move { Ok::<_, MyErr>(v * 3) });
    assert_eq!(ok.await, Ok(9));
    let err =
        exec.submit(|| async { Err::<u32, _>(MyErr::NotFound) }).then(|v| async move { Ok::<_, MyErr>(v) });
    assert_eq!(err.await, Err(Error::Job(MyErr::NotFound)));
}

#[tokio::test]
async fn a_shared_view_watches_a_handle_moved_into_a_combinator() {
    use more_executors_core::combinators::zip;
    let exec = AsyncExecutor::new();
    let gate = Gate::new();
    let shared = gated(&exec, &gate, 2).shared();
    let other = gated(&exec, &gate, 3);
    let both = zip((shared.to_handle(), other));
    tokio::task::yield_now().await;
    assert!(!shared.is_done());
    assert!(shared.is_running());
    gate.open();
    assert_eq!(both.await, Ok((2, 3)));
    assert!(shared.is_done() && !shared.is_running());
    let (a, b) = (shared.clone(), shared.clone());
    assert_eq!((a.await, b.await), (Ok(2), Ok(2)), "every clone gets the result");
    assert_eq!(shared.to_handle().await, Ok(2));
}

#[tokio::test]
async fn cancelling_a_handle_made_from_a_shared_view_cancels_the_job() {
    let exec = AsyncExecutor::new();
    let gate = Gate::new();
    let shared = gated(&exec, &gate, 1).shared();
    let follower = shared.to_handle();
    assert!(follower.cancel());
    assert!(shared.is_cancelled() && shared.is_done());
    assert!(shared.clone().await.unwrap_err().is_cancelled());
    assert!(follower.await.unwrap_err().is_cancelled());
}
