//! The background runtime an executor owns when built outside any runtime stops once the
//! executor is shut down or dropped and its last job finished: no thread is left behind.
//!
//! One test function: it counts the threads of the process.
#![cfg(not(loom))]

mod common;

use std::time::{Duration, Instant};

use common::MyErr;
use more_executors_core::prelude::*;

/// Threads of the background runtimes (named `more-executors`).
fn runtime_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("Linux /proc is needed for this test")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "more-executors")
        .count()
}

/// Runtime threads start and exit asynchronously (a thread names itself once running),
/// with no way to be notified: poll for a bounded time.
fn wait_for_runtime_threads(ok: impl Fn(usize) -> bool) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = runtime_threads();
        if ok(n) || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn owned_runtimes_stop_and_leave_no_thread() {
    assert_eq!(runtime_threads(), 0);

    // Dropped with a job still running: the job finishes, then the runtime stops.
    for i in 0..10u32 {
        let exec = AsyncExecutor::new().with_map(|n: u32| n + 1);
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let h = exec.submit(move || async move { rx.await.map_err(|_| MyErr::NotFound) });
        drop(exec);
        tx.send(i).unwrap();
        assert_eq!(h.wait(), Ok(i + 1));
    }
    assert_eq!(wait_for_runtime_threads(|n| n == 0), 0, "dropped executors left runtime threads behind");

    // Shut down, then dropped.
    for _ in 0..10 {
        let pool = BlockingPool::new(1).unwrap();
        let h = pool.submit(|| Ok::<_, MyErr>(1));
        pool.shutdown();
        assert_eq!(h.wait(), Ok(1));
        pool.runtime().wait_shutdown_blocking();
    }
    assert_eq!(wait_for_runtime_threads(|n| n == 0), 0, "shut-down executors left runtime threads behind");

    // Inline executors and executors never used.
    for _ in 0..10 {
        let exec = InlineExecutor::new();
        assert_eq!(exec.submit(|| Ok::<_, MyErr>(2)).wait(), Ok(2));
        drop(AsyncExecutor::new());
    }
    assert_eq!(wait_for_runtime_threads(|n| n == 0), 0, "unused executors left runtime threads behind");

    // Still alive while any clone is: a clone keeps the runtime running.
    let exec = AsyncExecutor::new();
    assert_eq!(wait_for_runtime_threads(|n| n == 2), 2, "the background runtime has two threads");
    let clone = exec.clone();
    drop(exec);
    assert_eq!(clone.submit(|| async { Ok::<_, MyErr>(3) }).wait(), Ok(3));
    drop(clone);
    assert_eq!(wait_for_runtime_threads(|n| n == 0), 0);
}

#[test]
fn a_runtime_without_timers_is_refused_at_construction_with_a_clear_message() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let err = Runtime::try_from_handle(rt.handle().clone()).unwrap_err();
    assert!(err.to_string().contains("enable_time()"), "{err}");
    // An executor built inside such a runtime says why, instead of hanging or failing later.
    let _enter = rt.enter();
    let panic = std::panic::catch_unwind(AsyncExecutor::new).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("has no timers"), "{message}");
}
