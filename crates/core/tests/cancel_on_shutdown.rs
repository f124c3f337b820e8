//! Cancel on shutdown: shutdown cancels every pending handle under the usual cancel rules
//! and reports how many.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use common::{Counter, DropFlag, Latch, MyErr};
use more_executors_core::prelude::*;

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_queued_and_running_async_jobs() {
    let exec = AsyncExecutor::new().with_concurrency_limit(2).unwrap().with_cancel_on_shutdown();
    let dropped = Arc::new(AtomicBool::new(false));
    let started = Counter::new();
    let handles: Vec<_> = (0..5u32)
        .map(|i| {
            let (dropped, started) = (dropped.clone(), started.clone());
            exec.submit(move || async move {
                started.inc();
                let _flag = DropFlag(dropped);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    tokio::task::yield_now().await;
    assert_eq!(started.get(), 2);
    assert_eq!(exec.pending(), 5);
    let t0 = tokio::time::Instant::now();
    exec.shutdown();
    assert!(exec.is_shut_down());
    assert_eq!(exec.pending(), 0);
    for h in handles {
        assert!(h.is_cancelled());
        assert!(h.cancel(), "a cancelled handle keeps answering true");
        assert_eq!(h.await, Err(Error::Cancelled));
    }
    assert_eq!(t0.elapsed(), Duration::ZERO, "resolved by the shutdown, not by the jobs");
    assert!(dropped.load(SeqCst), "running jobs' futures were dropped");
    assert_eq!(started.get(), 2, "queued jobs never started");
    exec.runtime().wait_shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_blocking_job_refuses_and_completes() {
    let pool = BlockingPool::new(1).unwrap();
    let exec = pool.with_concurrency_limit(1).unwrap().with_cancel_on_shutdown();
    let started = Latch::new();
    let release = Latch::new();
    let (s, r) = (started.clone(), release.clone());
    let running = exec.submit(move || {
        s.open();
        r.wait();
        Ok::<_, MyErr>("finished anyway")
    });
    let ran = Arc::new(AtomicBool::new(false));
    let rn = ran.clone();
    let queued = exec.submit(move || {
        rn.store(true, SeqCst);
        Ok::<_, MyErr>("never")
    });
    tokio::task::spawn_blocking(move || started.wait()).await.unwrap();

    assert_eq!(exec.cancel_pending(), 1, "only the queued job accepts the cancel");
    assert!(queued.is_cancelled());
    assert!(!running.is_cancelled());
    exec.shutdown();
    release.open();
    assert_eq!(running.await, Ok("finished anyway"));
    assert_eq!(queued.await, Err(Error::Cancelled));
    assert!(!ran.load(SeqCst));
}

#[tokio::test]
async fn cancel_pending_counts_and_leaves_finished_jobs_alone() {
    let exec = AsyncExecutor::new().with_cancel_on_shutdown();
    let done = exec.submit(|| async { Ok::<_, MyErr>(1) });
    assert_eq!(done.await, Ok(1));
    let pending: Vec<_> = (0..3).map(|_| exec.submit(std::future::pending::<Result<u8, MyErr>>)).collect();
    // One is cancelled by its owner first: it is not counted again, even while its
    // driver task has not yet dropped its registration.
    assert!(pending[0].cancel());
    assert_eq!(exec.cancel_pending(), 2);
    assert_eq!(exec.cancel_pending(), 0, "nothing left to cancel");
    for h in pending {
        assert_eq!(h.await, Err(Error::Cancelled));
    }
    // cancel_pending alone does not shut the executor down.
    assert!(!exec.is_shut_down());
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>(2) }).await, Ok(2));
}

#[tokio::test]
async fn shutdown_cancels_through_outer_layers() {
    // The cancel-on-shutdown layer sits inside a map: the handle still resolves cancelled.
    let exec = AsyncExecutor::new().with_cancel_on_shutdown().with_map(|n: u32| n + 1);
    let h = exec.submit(std::future::pending::<Result<u32, MyErr>>);
    let ok = exec.submit(|| async { Ok::<u32, MyErr>(1) });
    assert_eq!(ok.await, Ok(2));
    exec.shutdown();
    assert!(h.is_cancelled());
    assert_eq!(h.await, Err(Error::Cancelled));
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(1) }).await, Err(Error::ShutDown));
}

#[test]
fn shutdown_cancels_in_sync_code() {
    let pool = BlockingPool::new(1).unwrap();
    let exec = pool.with_cancel_on_shutdown();
    let started = Latch::new();
    let release = Latch::new();
    let (s, r) = (started.clone(), release.clone());
    let running = exec.submit(move || {
        s.open();
        r.wait();
        Ok::<_, MyErr>(1)
    });
    started.wait();
    let queued: Vec<_> = (0..3).map(|i| exec.submit(move || Ok::<_, MyErr>(i))).collect();
    exec.shutdown();
    release.open();
    assert_eq!(running.wait(), Ok(1));
    for h in queued {
        assert_eq!(h.wait(), Err(Error::Cancelled));
    }
    exec.runtime().wait_shutdown_blocking();
}

#[tokio::test]
async fn flat_map_second_step_is_cancelled_on_shutdown() {
    let other = AsyncExecutor::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let exec = AsyncExecutor::new()
        .with_flat_map(move |n: u32| {
            let h = other.submit(std::future::pending::<Result<u32, MyErr>>);
            tx.send((n, h.canceller())).unwrap();
            h
        })
        .with_cancel_on_shutdown();
    let h = exec.submit(|| async { Ok::<u32, MyErr>(5) });
    let (n, inner) = rx.recv().await.unwrap();
    assert_eq!(n, 5);
    assert_eq!(exec.cancel_pending(), 1);
    assert_eq!(h.await, Err(Error::Cancelled));
    assert!(inner.is_cancelled(), "the cancel reached the inner handle");
}
