//! The worker pool: N workers, a bounded queue, core handles, scheduler shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use futures::FutureExt;
use more_executors_core::prelude::*;
use more_executors_jobs::{JobState, WorkerPool};
use more_executors_test_support::settle;

fn slow_pool(
    workers: usize,
    queue: usize,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    order: Arc<std::sync::Mutex<Vec<u32>>>,
) -> WorkerPool<
    impl Fn(u32) -> futures::future::BoxFuture<'static, Result<u32, String>> + Send + Sync + 'static,
> {
    WorkerPool::new(workers, queue, move |item: u32| {
        let (running, peak, order) = (running.clone(), peak.clone(), order.clone());
        async move {
            order.lock().unwrap().push(item);
            let now = running.fetch_add(1, SeqCst) + 1;
            peak.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            running.fetch_sub(1, SeqCst);
            Ok(item * 10)
        }
        .boxed()
    })
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn n_workers_process_items_in_order_and_return_core_handles() {
    let (running, peak, order) = Default::default();
    let pool = slow_pool(3, 100, running, Arc::clone(&peak), Arc::clone(&order));
    let handles: Vec<Handle<u32, String>> = (0..10).map(|i| pool.submit(i)).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    assert_eq!(out, (0..10).map(|i| i * 10).collect::<Vec<_>>());
    assert_eq!(peak.load(SeqCst), 3, "exactly N workers busy at the peak");
    assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>(), "FIFO");
}

#[tokio::test(start_paused = true)]
async fn it_is_the_scheduler_with_limit_n_underneath() {
    let (running, peak, order) = Default::default();
    let pool = slow_pool(2, 100, running, peak, order);
    assert_eq!(pool.scheduler().limit(), Some(2));
    assert_eq!(pool.scheduler().pending_limit(), 100);
    let _hs: Vec<_> = (0..5).map(|i| pool.submit(i)).collect();
    settle(10).await;
    let jobs = pool.scheduler().jobs();
    assert_eq!(jobs.len(), 5, "each item is one job of the scheduler");
    assert_eq!(jobs.iter().filter(|j| j.state == JobState::Active).count(), 2);
    assert_eq!(pool.kind(), "pool");
    assert_eq!(pool.name(), "pool");
}

#[tokio::test(start_paused = true)]
async fn the_queue_is_bounded() {
    let pool = WorkerPool::new(1, 2, |_: u32| std::future::pending::<Result<(), String>>()).unwrap();
    let _a = pool.submit_ready(0).await;
    let _b = pool.submit_ready(1).await;
    let _c = pool.submit_ready(2).await;
    assert_eq!((pool.scheduler().active_count(), pool.scheduler().pending_count()), (1, 2));
    let mut d = Box::pin(pool.submit_ready(3));
    assert!((&mut d).now_or_never().is_none(), "submit_ready waits while the queue is full");
    // Executor::submit never blocks: the item waits for room in its driver task.
    let e = pool.submit(4);
    settle(10).await;
    assert!(!e.is_done());
    assert_eq!(pool.scheduler().pending_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_handle_closes_its_job() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let pool = WorkerPool::new(1, 10, move |secs: u64| {
        let r = r.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            r.fetch_add(1, SeqCst);
            Ok::<_, String>(secs)
        }
    })
    .unwrap();
    let running = pool.submit(100);
    let queued = pool.submit(1);
    settle(10).await;
    assert_eq!(pool.scheduler().pending_count(), 1);
    assert!(queued.cancel());
    settle(10).await;
    assert_eq!(pool.scheduler().pending_count(), 0, "the queued item was removed");
    assert!(running.cancel());
    settle(10).await;
    assert_eq!(pool.scheduler().active_count(), 0, "the running item was cancelled");
    assert!(running.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_eq!(ran.load(SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn close_has_the_schedulers_semantics() {
    let pool = WorkerPool::new(1, 10, |_: u32| std::future::pending::<Result<(), String>>()).unwrap();
    let a = pool.submit(0);
    let b = pool.submit(1);
    settle(10).await;
    let report = pool.close().await;
    assert_eq!((report.cancelled, report.aborted, report.never_started), (1, 0, 1));
    assert!(a.await.unwrap_err().is_cancelled());
    assert!(b.await.unwrap_err().is_cancelled());
    assert!(pool.is_shut_down());
    assert!(pool.submit(2).await.unwrap_err().is_shut_down());
    assert!(pool.submit_ready(3).await.await.unwrap_err().is_shut_down());
}

#[tokio::test(start_paused = true)]
async fn lifecycle_shutdown_closes_and_wait_and_close_finishes_work() {
    let pool = WorkerPool::new(2, 10, |n: u64| async move {
        tokio::time::sleep(Duration::from_secs(n)).await;
        Ok::<_, String>(n)
    })
    .unwrap();
    let hs: Vec<_> = (1..=4).map(|n| pool.submit(n)).collect();
    let report = pool.wait_and_close(None).await;
    assert_eq!(report.total(), 0);
    for (n, h) in (1..=4).zip(hs) {
        assert_eq!(h.await, Ok(n));
    }
    let pool2 = WorkerPool::new(1, 1, |_: u8| std::future::pending::<Result<(), String>>()).unwrap();
    let h = pool2.submit(0);
    settle(10).await;
    pool2.shutdown();
    assert!(pool2.is_shut_down());
    assert!(h.await.unwrap_err().is_cancelled());
}

#[tokio::test]
async fn worker_errors_and_panics_reach_the_handle() {
    let pool = WorkerPool::new(2, 10, |n: i32| async move {
        if n < 0 {
            panic!("negative");
        }
        if n == 0 { Err("zero".to_string()) } else { Ok(n) }
    })
    .unwrap();
    assert_eq!(pool.submit(1).await, Ok(1));
    assert_eq!(pool.submit(0).await, Err(Error::Job("zero".to_string())));
    assert_eq!(pool.submit(-1).await, Err(Error::Panicked("negative".into())));
}

#[tokio::test]
async fn the_pool_composes_with_core_layers() {
    let pool = WorkerPool::new(2, 10, |s: String| async move { Ok::<_, String>(s.len()) }).unwrap();
    let exec = pool.clone().with_map(|n: usize| n * 2);
    assert_eq!(exec.submit("abc".to_string()).await, Ok(6));
    assert!(WorkerPool::new(0, 1, |_: u8| async { Ok::<_, String>(()) }).is_err());
}

/// An item that finds the queue full takes its place at submit time: a later item that
/// finds room after the limit was raised does not jump ahead of it.
#[tokio::test(start_paused = true)]
async fn an_overflowing_item_keeps_its_place_in_submission_order() {
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (o, g) = (order.clone(), gate.clone());
    let pool = WorkerPool::new(1, 1, move |item: u32| {
        let (o, g) = (o.clone(), g.clone());
        async move {
            o.lock().unwrap().push(item);
            let _permit = g.acquire().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(item)
        }
    })
    .unwrap();
    let mut handles: Vec<Handle<u32, String>> = (0..3).map(|i| pool.submit(i)).collect();
    pool.scheduler().set_limit(2).unwrap();
    handles.push(pool.submit(3));
    gate.add_permits(10);
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await, Ok(i as u32));
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3], "items start in submission order");
}
