//! Handle: waiting from synchronous code, the blocking-wait guard, cancel rules, state
//! transitions, detaching on drop, CancelHandle and cancel_async.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use common::{Counter, DropFlag, Gate, Latch, MyErr};
use more_executors_core::prelude::*;
use more_executors_test_support::quiet_expected_panics;

// ---------------------------------------------------------------------------------------
// wait / wait_timeout
// ---------------------------------------------------------------------------------------

#[test]
fn wait_and_wait_timeout_from_sync_code() {
    let pool = BlockingPool::new(1).unwrap();
    let latch = Latch::new();
    let l = latch.clone();
    let mut h = pool.submit(move || {
        l.wait();
        Ok::<_, MyErr>("done")
    });
    // The job is held by the latch: a short wait must give up and leave the handle usable.
    assert_eq!(h.wait_timeout(Duration::from_millis(20)), None);
    assert!(!h.is_done());
    latch.open();
    assert_eq!(h.wait_timeout(Duration::from_secs(60)), Some(Ok("done")));

    let exec = AsyncExecutor::new();
    let h = exec.submit(|| async { Err::<(), _>(MyErr::Code(3)) });
    assert_eq!(h.wait(), Err(Error::Job(MyErr::Code(3))));

    // A zero timeout on a ready handle still returns its value.
    let mut h: Handle<u8, MyErr> = Handle::ready(4);
    assert_eq!(h.wait_timeout(Duration::ZERO), Some(Ok(4)));
}

#[test]
fn wait_timeout_then_await_and_cancel() {
    let exec = AsyncExecutor::new();
    let mut h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    assert_eq!(h.wait_timeout(Duration::from_millis(5)), None);
    assert!(h.cancel(), "the handle stays cancellable after a timed-out wait");
    assert_eq!(h.wait_timeout(Duration::from_secs(60)), Some(Err(Error::Cancelled)));
}

#[test]
fn wait_from_blocking_pool_job_and_spawn_blocking_is_fine() {
    let outer = BlockingPool::new(1).unwrap();
    let inner = AsyncExecutor::new();
    let h = outer.submit(move || {
        // Waiting on another handle from a pool thread does not trip the guard.
        inner.submit(|| async { Ok::<_, MyErr>(2) }).wait().map(|v| v * 10)
    });
    assert_eq!(h.wait(), Ok(20));

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let v = rt.block_on(async {
        let exec = AsyncExecutor::new();
        let h = exec.submit(|| async { Ok::<_, MyErr>(5) });
        tokio::task::spawn_blocking(move || h.wait()).await.unwrap()
    });
    assert_eq!(v, Ok(5));
}

#[tokio::test(flavor = "current_thread")]
#[should_panic(expected = "blocking here would deadlock")]
async fn wait_inside_current_thread_runtime_panics() {
    let exec = AsyncExecutor::new();
    let h = exec.submit(|| async { Ok::<_, MyErr>(1) });
    let _ = h.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "spawn_blocking")]
async fn wait_inside_multi_thread_runtime_panics() {
    let exec = AsyncExecutor::new();
    // Never resolves: a deadlock would hang the test instead of panicking.
    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    let _ = h.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_inside_a_task_fails_that_task_with_the_message() {
    quiet_expected_panics();
    let exec = AsyncExecutor::new();
    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    let c = h.canceller();
    let err = tokio::spawn(async move {
        let mut h = h;
        h.wait_timeout(Duration::from_secs(3600))
    })
    .await
    .unwrap_err();
    let msg = err.into_panic();
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("`.await`"), "the message names the fix: {msg}");
    assert!(c.cancel(), "the job itself is unaffected by the refused wait");
}

// ---------------------------------------------------------------------------------------
// Cancel rules
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_queued_in_limit_never_runs() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let gate = Gate::new();
    let ran = Counter::new();
    let g = gate.clone();
    let first = exec.submit(move || async move {
        g.wait().await;
        Ok::<_, MyErr>(1)
    });
    let r = ran.clone();
    let queued = exec.submit(move || async move {
        r.inc();
        Ok::<_, MyErr>(2)
    });
    assert_eq!(exec.queued(), 1);
    assert!(!queued.is_done());
    assert!(queued.cancel(), "a queued job can always be cancelled");
    assert!(queued.is_done() && queued.is_cancelled());
    assert!(queued.cancel(), "idempotent");
    gate.open();
    assert_eq!(first.await, Ok(1));
    assert_eq!(queued.await, Err(Error::Cancelled));
    // Another job goes through the slot, proving the cancelled one is not still queued.
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>(3) }).await, Ok(3));
    assert_eq!(ran.get(), 0, "the cancelled job never ran");
    assert_eq!(exec.queued(), 0);
}

/// A pool of one thread, busy with a job (resolving to 1) that runs until `release` opens;
/// `started` opens once that job runs.
fn busy_pool() -> (BlockingPool, Handle<i32, MyErr>, Latch, Latch) {
    let pool = BlockingPool::new(1).unwrap();
    let (release, started) = (Latch::new(), Latch::new());
    let (l, s) = (release.clone(), started.clone());
    let first = pool.submit(move || {
        s.open();
        l.wait();
        Ok::<_, MyErr>(1)
    });
    (pool, first, release, started)
}

#[test]
fn cancel_queued_in_blocking_pool_never_runs() {
    let (pool, first, latch, started) = busy_pool();
    started.wait();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = pool.submit(move || {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(2)
    });
    assert!(queued.cancel(), "a job waiting in the pool's queue can be cancelled");
    assert!(queued.is_cancelled());
    // A later job runs after the cancelled one's place in the FIFO queue.
    let third = pool.submit(|| Ok::<_, MyErr>(3));
    latch.open();
    assert_eq!(first.wait(), Ok(1));
    assert_eq!(third.wait(), Ok(3));
    assert_eq!(queued.wait(), Err(Error::Cancelled));
    assert!(!ran.load(SeqCst), "the cancelled job never ran");
}

/// A job queued in a busy pool, awaited elsewhere, resolves as cancelled as soon as its
/// cancel is accepted: it does not wait for a thread to reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_queued_pool_job_wakes_its_waiter_while_the_pool_is_busy() {
    let (pool, first, latch, started) = busy_pool();
    tokio::task::spawn_blocking(move || started.wait()).await.unwrap();
    let queued = pool.submit(|| Ok::<_, MyErr>(2));
    let canceller = queued.canceller();
    let waiter = tokio::spawn(queued);
    tokio::task::yield_now().await;
    assert!(canceller.cancel());
    // A bound so a broken build fails instead of hanging; the pool's thread stays busy
    // until after this.
    let out = tokio::time::timeout(Duration::from_secs(60), waiter).await.expect("woken by the cancel");
    assert_eq!(out.unwrap(), Err(Error::Cancelled));
    latch.open();
    assert_eq!(first.await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn cancel_running_async_drops_its_future() {
    let exec = AsyncExecutor::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let started = Gate::new();
    let (d, s) = (dropped.clone(), started.clone());
    let h = exec.submit(move || async move {
        let _flag = DropFlag(d);
        s.open();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok::<_, MyErr>(())
    });
    started.wait().await;
    assert!(!h.is_done());
    assert!(h.cancel());
    assert!(h.is_done() && h.is_cancelled());
    assert_eq!(h.await, Err(Error::Cancelled));
    assert!(dropped.load(SeqCst), "the job's future is dropped by the cancel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_running_blocking_is_refused_and_job_finishes() {
    let (_pool, h, release) = blocking_job_running(42).await;
    assert!(!h.cancel(), "a running blocking job refuses cancel");
    assert!(!h.canceller().cancel());
    assert!(!h.is_cancelled());
    assert!(!h.is_done());
    release.open();
    assert_eq!(h.await, Ok(42), "the refused cancel left the job untouched");
}

/// A blocking job that has already returned must not be reported cancelled, even when
/// the driver task has not yet picked its result up (here: a current-thread runtime that
/// is busy with this test).
#[tokio::test(flavor = "current_thread")]
async fn cancel_after_blocking_job_returned_is_refused() {
    let pool = BlockingPool::new(1).unwrap();
    let ran = Counter::new();
    let r = ran.clone();
    let h = pool.submit(move || {
        r.inc();
        Ok::<_, MyErr>(1)
    });
    // When the second job starts, the first one has fully returned on the only thread.
    let second_started = Latch::new();
    let hold = Latch::new();
    let (s, ho) = (second_started.clone(), hold.clone());
    let h2 = pool.submit(move || {
        s.open();
        ho.wait();
        Ok::<_, MyErr>(2)
    });
    second_started.wait(); // blocks this runtime's only thread: no driver task can run
    assert_eq!(ran.get(), 1);
    assert!(!h.cancel(), "the job already ran: cancel must be refused");
    assert!(!h.is_cancelled());
    hold.open();
    assert_eq!(h.await, Ok(1), "the handle reports the job's value");
    assert_eq!(h2.await, Ok(2));
}

#[tokio::test]
async fn cancel_finished_returns_false() {
    let exec = AsyncExecutor::new();
    let h = exec.submit(|| async { Ok::<_, MyErr>(1) });
    for _ in 0..100 {
        if h.is_done() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(h.is_done());
    assert!(!h.cancel());
    assert!(!h.is_cancelled());
    assert_eq!(h.await, Ok(1));

    let inline = InlineExecutor::new();
    let h = inline.submit(|| Err::<(), _>(MyErr::NotFound));
    assert!(h.is_done());
    assert!(!h.cancel(), "a finished (failed) job cannot be cancelled");
    assert_eq!(h.await, Err(Error::Job(MyErr::NotFound)));

    let h: Handle<u8, MyErr> = Handle::ready(1);
    assert!(!h.cancel());
    let h: Handle<u8, MyErr> = Handle::failed(MyErr::NotFound);
    assert!(!h.cancel());
}

#[tokio::test]
async fn cancel_is_idempotent() {
    let exec = AsyncExecutor::new();
    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    let c = h.canceller();
    assert!(h.cancel());
    assert!(h.cancel());
    assert!(c.cancel());
    assert!(c.cancel_async().await);
    assert!(h.cancel_async().await);
    assert_eq!(h.await, Err(Error::Cancelled));

    let h: Handle<u8, MyErr> = Handle::cancelled();
    assert!(h.is_cancelled() && h.is_done());
    assert!(h.cancel() && h.cancel());
    assert!(h.canceller().cancel());
    assert!(h.canceller().is_cancelled());
}

#[tokio::test]
async fn done_and_cancelled_transitions() {
    let exec = AsyncExecutor::new();
    let gate = Gate::new();
    let g = gate.clone();
    let h = exec.submit(move || async move {
        g.wait().await;
        Ok::<_, MyErr>(1)
    });
    assert!(h.id().is_some());
    assert!(!h.is_done() && !h.is_cancelled());
    assert!(format!("{h:?}").contains("pending"));
    gate.open();
    let c = h.canceller();
    assert_eq!(h.await, Ok(1));
    assert!(!c.is_cancelled());
    assert!(!c.cancel(), "finished");

    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    let c = h.canceller();
    assert!(!c.is_cancelled());
    assert!(c.cancel());
    assert!(h.is_done() && h.is_cancelled() && c.is_cancelled());
    assert!(format!("{h:?}").contains("cancelled"));

    let ready: Handle<u8, MyErr> = Handle::ready(1);
    assert!(ready.is_done() && !ready.is_cancelled() && ready.id().is_none());
}

#[tokio::test]
async fn dropping_a_handle_does_not_cancel() {
    let exec = AsyncExecutor::new();
    let gate = Gate::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let g = gate.clone();
    let h = exec.submit(move || async move {
        g.wait().await;
        let _ = tx.send("job ran to the end");
        Ok::<_, MyErr>(())
    });
    drop(h);
    gate.open();
    assert_eq!(rx.await, Ok("job ran to the end"));

    let pool = BlockingPool::new(1).unwrap();
    let latch = Latch::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let l = latch.clone();
    drop(pool.submit(move || {
        l.wait();
        tx.send(7).unwrap();
        Ok::<_, MyErr>(())
    }));
    latch.open();
    assert_eq!(tokio::task::spawn_blocking(move || rx.recv()).await.unwrap(), Ok(7));
}

#[tokio::test(start_paused = true)]
async fn cancel_handle_from_another_task() {
    let exec = AsyncExecutor::new();
    let h = exec.submit(|| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok::<_, MyErr>(())
    });
    let c = h.canceller();
    let canceller_task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        c.cancel()
    });
    let t0 = tokio::time::Instant::now();
    assert_eq!(h.await, Err(Error::Cancelled));
    assert_eq!(t0.elapsed(), Duration::from_secs(1), "resolved by the cancel, not the job");
    assert!(canceller_task.await.unwrap());
}

#[tokio::test]
async fn cancel_async_rules() {
    let exec = AsyncExecutor::new();
    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    assert!(h.cancel_async().await);
    assert_eq!(h.await, Err(Error::Cancelled));

    let h = InlineExecutor::new().submit(|| Ok::<_, MyErr>(1));
    assert!(!h.cancel_async().await);
    assert!(!h.canceller().cancel_async().await);

    let (_pool, h, release) = blocking_job_running(3).await;
    assert!(!h.cancel_async().await, "a running blocking job refuses");
    release.open();
    assert_eq!(h.await, Ok(3));
}

#[test]
fn handle_is_unpin_send_and_sync_where_expected() {
    fn send<T: Send>() {}
    fn unpin<T: Unpin>() {}
    fn clone_send_sync<T: Clone + Send + Sync>() {}
    send::<Handle<String, MyErr>>();
    unpin::<Handle<String, MyErr>>();
    clone_send_sync::<more_executors_core::CancelHandle>();
}

#[tokio::test]
async fn ready_constructors() {
    assert_eq!(Handle::<u8, MyErr>::ready(1).await, Ok(1));
    assert_eq!(Handle::<u8, MyErr>::failed(MyErr::NotFound).await, Err(Error::Job(MyErr::NotFound)));
    assert_eq!(Handle::<u8, MyErr>::from_error(Error::ShutDown).await, Err(Error::ShutDown));
    assert_eq!(Handle::<u8, MyErr>::cancelled().await, Err(Error::Cancelled));
}

/// A handle polled to completion by reference (`select!`, `&mut h`, `wait_timeout`) keeps
/// answering for its outcome: a cancelled one stays cancelled, a finished one refuses.
#[tokio::test]
async fn handle_state_after_being_polled_by_reference() {
    let exec = AsyncExecutor::new();
    let mut h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    assert!(h.cancel());
    assert_eq!((&mut h).await, Err(Error::Cancelled));
    assert!(h.is_done());
    assert!(h.is_cancelled(), "a handle that resolved cancelled stays cancelled");
    assert!(h.cancel(), "cancel of a cancelled handle keeps answering true");
    assert!(h.canceller().is_cancelled());

    let mut h = exec.submit(|| async { Ok::<_, MyErr>(1) });
    tokio::select! {
        r = &mut h => assert_eq!(r, Ok(1)),
    }
    assert!(h.is_done() && !h.is_cancelled());
    assert!(!h.cancel(), "a finished handle refuses");
    assert!(h.id().is_some(), "the job's id survives");

    let mut h = Handle::<u8, MyErr>::cancelled();
    assert_eq!((&mut h).await, Err(Error::Cancelled));
    assert!(h.is_cancelled() && h.cancel());

    let mut h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    let c = h.canceller();
    let waited = tokio::task::spawn_blocking(move || {
        c.cancel();
        let r = h.wait_timeout(Duration::from_secs(60));
        (r, h.is_cancelled(), h.cancel())
    })
    .await
    .unwrap();
    assert_eq!(waited, (Some(Err(Error::Cancelled)), true, true));
}

/// Submits to a one-thread pool a job that returns `value` once `release` opens, and
/// returns when the job is running: the pool (keep it alive), the handle, and `release`.
async fn blocking_job_running<T: Send + 'static>(value: T) -> (BlockingPool, Handle<T, MyErr>, Latch) {
    let pool = BlockingPool::new(1).unwrap();
    let started = Latch::new();
    let release = Latch::new();
    let (s, r) = (started.clone(), release.clone());
    let h = pool.submit(move || {
        s.open();
        r.wait();
        Ok::<_, MyErr>(value)
    });
    tokio::task::spawn_blocking(move || started.wait()).await.unwrap();
    (pool, h, release)
}

/// A handle of a small output fits in four words, whatever resolves it (a driver task or a
/// pool thread): a million outstanding handles are part of what a program pays per job.
#[test]
fn a_handle_of_a_small_output_is_four_words() {
    assert!(std::mem::size_of::<Handle<u64, ()>>() <= 32, "{}", std::mem::size_of::<Handle<u64, ()>>());
}
