//! Base executors: ordering of results, runtime handling (borrowed or owned), shutdown and
//! drop behaviour, blocking pool configuration.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Gate, Latch, MyErr};
use more_executors_core::prelude::*;

const N: u32 = 1_000;

// ---------------------------------------------------------------------------------------
// Results in submission order, for each executor, in each kind of runtime and without one.
// ---------------------------------------------------------------------------------------

/// Submits N async jobs that finish in scrambled order and checks the handles still map
/// one-to-one to their jobs.
async fn async_in_order(exec: &AsyncExecutor) {
    let handles: Vec<_> = (0..N)
        .map(|i| {
            exec.submit(move || async move {
                // Scramble completion order: later jobs often finish first.
                for _ in 0..(N - i) % 7 {
                    tokio::task::yield_now().await;
                }
                Ok::<_, MyErr>(i * 3)
            })
        })
        .collect();
    let mut out = Vec::with_capacity(N as usize);
    for h in handles {
        out.push(h.await.unwrap());
    }
    assert_eq!(out, (0..N).map(|i| i * 3).collect::<Vec<_>>());
}

async fn blocking_in_order(pool: &BlockingPool) {
    let handles: Vec<_> = (0..N).map(|i| pool.submit(move || Ok::<_, MyErr>(i + 1))).collect();
    let mut out = Vec::with_capacity(N as usize);
    for h in handles {
        out.push(h.await.unwrap());
    }
    assert_eq!(out, (1..=N).collect::<Vec<_>>());
}

async fn inline_in_order(exec: &InlineExecutor) {
    let caller = std::thread::current().id();
    let handles: Vec<_> =
        (0..N).map(|i| exec.submit(move || Ok::<_, MyErr>((i, std::thread::current().id())))).collect();
    assert!(handles.iter().all(|h| h.is_done()), "inline jobs are resolved by submit");
    let mut out = Vec::new();
    for h in handles {
        let (i, thread) = h.await.unwrap();
        assert_eq!(thread, caller, "inline jobs run on the submitting thread");
        out.push(i);
    }
    assert_eq!(out, (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn async_order_current_thread() {
    let exec = AsyncExecutor::new();
    assert!(!exec.runtime().is_owned(), "built inside a runtime, the executor borrows it");
    async_in_order(&exec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_order_multi_thread() {
    async_in_order(&AsyncExecutor::new()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_order_current_thread() {
    blocking_in_order(&BlockingPool::new(4).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_order_multi_thread() {
    blocking_in_order(&BlockingPool::new(4).unwrap()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn inline_order_current_thread() {
    inline_in_order(&InlineExecutor::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_order_multi_thread() {
    inline_in_order(&InlineExecutor::new()).await;
}

#[test]
fn async_order_without_runtime() {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let exec = AsyncExecutor::new();
    assert!(exec.runtime().is_owned(), "outside a runtime the executor owns one");
    let handles: Vec<_> = (0..N)
        .map(|i| {
            exec.submit(move || async move {
                tokio::task::yield_now().await;
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    let out: Vec<u32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, (0..N).collect::<Vec<_>>());
}

#[test]
fn blocking_order_without_runtime() {
    let pool = BlockingPool::new(3).unwrap();
    assert!(pool.runtime().is_owned());
    let handles: Vec<_> = (0..N).map(|i| pool.submit(move || Ok::<_, MyErr>(i))).collect();
    let out: Vec<u32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, (0..N).collect::<Vec<_>>());
}

#[test]
fn inline_order_without_runtime() {
    let exec = InlineExecutor::new();
    let handles: Vec<_> = (0..N).map(|i| exec.submit(move || Ok::<_, MyErr>(i))).collect();
    assert!(handles.iter().all(|h| h.is_done()));
    let out: Vec<u32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, (0..N).collect::<Vec<_>>());
}

#[test]
fn stack_without_runtime_uses_owned_runtime() {
    let exec = BlockingPool::new(2)
        .unwrap()
        .with_concurrency_limit(3)
        .unwrap()
        .with_map(|n: u32| n * 2)
        .with_cancel_on_shutdown();
    let handles: Vec<_> = (0..200u32).map(|i| exec.submit(move || Ok::<_, MyErr>(i))).collect();
    let out: Vec<u32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, (0..200).map(|i| i * 2).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------

fn assert_shut_down<T: std::fmt::Debug>(h: Handle<T, MyErr>) {
    assert!(h.is_done(), "a handle from a shut-down executor is already resolved");
    assert!(!h.is_cancelled());
    assert!(!h.cancel(), "an already failed handle cannot be cancelled");
    let err = h.wait().unwrap_err();
    assert!(err.is_shut_down(), "expected ShutDown, got {err:?}");
}

#[tokio::test]
async fn submit_after_shutdown_fails_at_once_in_runtime() {
    let ran = Arc::new(AtomicBool::new(false));

    let exec = AsyncExecutor::new();
    exec.shutdown();
    let r = ran.clone();
    let h = exec.submit(move || async move {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(1)
    });
    assert!(h.is_done());
    assert_eq!(h.await, Err(Error::ShutDown));

    let pool = BlockingPool::new(1).unwrap();
    pool.shutdown();
    let r = ran.clone();
    let h = pool.submit(move || {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(1)
    });
    assert!(h.is_done());
    assert_eq!(h.await, Err(Error::ShutDown));

    let inline = InlineExecutor::new();
    inline.shutdown();
    let r = ran.clone();
    let h = inline.submit(move || {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(1)
    });
    assert_eq!(h.await, Err(Error::ShutDown));

    assert!(!ran.load(SeqCst), "no job may run after shutdown");
}

#[test]
fn submit_after_shutdown_fails_at_once_without_runtime() {
    let ran = Arc::new(AtomicBool::new(false));
    let exec = AsyncExecutor::new();
    exec.shutdown();
    let r = ran.clone();
    assert_shut_down(exec.submit(move || async move {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(1)
    }));

    let pool = BlockingPool::new(2).unwrap();
    pool.shutdown();
    let r = ran.clone();
    assert_shut_down(pool.submit(move || {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(1)
    }));

    let inline = InlineExecutor::new();
    inline.shutdown();
    let r = ran.clone();
    assert_shut_down(inline.submit(move || {
        r.store(true, SeqCst);
        Ok::<_, MyErr>(1)
    }));
    assert!(!ran.load(SeqCst));
}

#[tokio::test]
async fn submit_after_shutdown_through_every_core_layer() {
    let exec = AsyncExecutor::new()
        .with_map(|n: u32| n + 1)
        .with_map_err(|e: MyErr| e)
        .with_flat_map(|n: u32| async move { Ok::<_, Error<MyErr>>(n) })
        .with_concurrency_limit(1)
        .unwrap()
        .with_cancel_on_shutdown();
    exec.shutdown();
    let h = exec.submit(|| async { Ok::<u32, MyErr>(1) });
    assert!(h.is_done());
    assert_eq!(h.await, Err(Error::ShutDown));

    let limited = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    limited.shutdown();
    let h = limited.submit_ready(|| async { Ok::<u32, MyErr>(1) }).await;
    assert_eq!(h.await, Err(Error::ShutDown));
}

#[tokio::test]
async fn shutdown_twice_is_fine() {
    let exec = AsyncExecutor::new().with_concurrency_limit(2).unwrap().with_cancel_on_shutdown();
    exec.shutdown();
    exec.shutdown();
    assert!(exec.is_shut_down());
    assert_eq!(exec.cancel_pending(), 0);
    exec.runtime().wait_shutdown().await;
    exec.shutdown();

    let pool = BlockingPool::new(1).unwrap();
    pool.shutdown();
    pool.shutdown();
    assert!(pool.is_shut_down());
}

#[tokio::test]
async fn shutdown_propagates_inward() {
    let base = AsyncExecutor::new();
    let stack = base
        .clone()
        .with_map(|n: u32| n)
        .with_concurrency_limit(2)
        .unwrap()
        .with_cancel_on_shutdown()
        .with_flat_map(|n: u32| async move { Ok::<_, Error<MyErr>>(n) });
    assert!(!base.is_shut_down());
    stack.shutdown();
    assert!(stack.is_shut_down());
    assert!(base.is_shut_down(), "shutting the outer layer down shuts the base down");
    assert_eq!(base.submit(|| async { Ok::<_, MyErr>(1) }).await, Err(Error::ShutDown));

    let pool = BlockingPool::new(1).unwrap();
    let stack = pool.clone().with_map(|n: u32| n).with_cancel_on_shutdown();
    stack.shutdown();
    assert!(pool.is_shut_down());
    assert_eq!(pool.submit(|| Ok::<_, MyErr>(1)).await, Err(Error::ShutDown));
}

#[tokio::test(start_paused = true)]
async fn jobs_submitted_before_shutdown_still_finish() {
    let exec = AsyncExecutor::new();
    let h = exec.submit(|| async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok::<_, MyErr>(7)
    });
    exec.shutdown();
    assert_eq!(h.await, Ok(7));
}

#[tokio::test(start_paused = true)]
async fn wait_shutdown_waits_for_running_jobs() {
    let exec = AsyncExecutor::new();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let start = tokio::time::Instant::now();
    let _detached = exec.submit(move || async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        f.store(true, SeqCst);
        Ok::<_, MyErr>(())
    });

    // Not shut down yet: waiting does not end even when time passes.
    assert!(
        tokio::time::timeout(Duration::from_secs(60), exec.runtime().wait_shutdown()).await.is_err(),
        "wait_shutdown must not resolve before shutdown"
    );
    assert!(finished.load(SeqCst));

    let exec = AsyncExecutor::new();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let _detached = exec.submit(move || async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        f.store(true, SeqCst);
        Ok::<_, MyErr>(())
    });
    let t0 = tokio::time::Instant::now();
    exec.shutdown();
    exec.runtime().wait_shutdown().await;
    assert!(finished.load(SeqCst), "wait_shutdown resolves only after the running job finished");
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
    assert_eq!(exec.runtime().task_count(), 0);
    assert!(start.elapsed() >= Duration::from_secs(70));
}

#[test]
fn wait_shutdown_blocking_from_sync_code() {
    let pool = BlockingPool::new(2).unwrap();
    let latch = Latch::new();
    let done = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (latch, done) = (latch.clone(), done.clone());
            pool.submit(move || {
                latch.wait();
                if i == 3 {
                    done.store(true, SeqCst);
                }
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    pool.shutdown();
    let waiter = {
        let rt = pool.runtime().clone();
        std::thread::spawn(move || rt.wait_shutdown_blocking())
    };
    latch.open();
    waiter.join().unwrap();
    assert!(done.load(SeqCst), "queued jobs ran before the pool finished shutting down");
    assert_eq!(pool.runtime().task_count(), 0);
    let out: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, [0, 1, 2, 3]);
}

#[tokio::test]
#[should_panic(expected = "would deadlock")]
async fn wait_shutdown_blocking_in_async_context_panics() {
    let exec = AsyncExecutor::new();
    exec.shutdown();
    exec.runtime().wait_shutdown_blocking();
}

// ---------------------------------------------------------------------------------------
// Dropping an executor while its jobs run
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn dropped_async_executor_jobs_finish() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap().with_map(|n: u32| n * 10);
    let gate = Gate::new();
    let handles: Vec<_> = (0..3u32)
        .map(|i| {
            let gate = gate.clone();
            exec.submit(move || async move {
                gate.wait().await;
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    drop(exec);
    gate.open();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    assert_eq!(out, [0, 10, 20], "running and queued jobs all finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_blocking_pool_jobs_finish() {
    let pool = BlockingPool::new(1).unwrap();
    let latch = Latch::new();
    let handles: Vec<_> = (0..3u32)
        .map(|i| {
            let latch = latch.clone();
            pool.submit(move || {
                latch.wait();
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    drop(pool);
    latch.open();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    assert_eq!(out, [0, 1, 2]);
}

#[test]
fn dropped_owned_runtime_executor_jobs_finish() {
    // Async executor with its own background runtime.
    let exec = AsyncExecutor::new();
    assert!(exec.runtime().is_owned());
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let h = exec.submit(move || async move { rx.await.map_err(|_| MyErr::NotFound) });
    drop(exec);
    tx.send(5).unwrap();
    assert_eq!(h.wait(), Ok(5));

    // Blocking pool with its own background runtime, a limit and queued jobs.
    let pool = BlockingPool::new(1).unwrap().with_concurrency_limit(1).unwrap();
    let latch = Latch::new();
    let handles: Vec<_> = (0..3u32)
        .map(|i| {
            let latch = latch.clone();
            pool.submit(move || {
                latch.wait();
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    drop(pool);
    latch.open();
    let out: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, [0, 1, 2]);
}

#[test]
fn shut_down_owned_runtime_still_finishes_submitted_jobs() {
    let exec = AsyncExecutor::new();
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let h = exec.submit(move || async move { rx.await.map_err(|_| MyErr::NotFound) });
    exec.shutdown();
    tx.send(9).unwrap();
    assert_eq!(h.wait(), Ok(9));
    exec.runtime().wait_shutdown_blocking();
    assert_eq!(exec.runtime().task_count(), 0);
}

// ---------------------------------------------------------------------------------------
// Blocking pool configuration
// ---------------------------------------------------------------------------------------

#[test]
fn blocking_pool_zero_threads_rejected() {
    let err = BlockingPool::new(0).unwrap_err();
    assert_eq!(err.setting(), "thread count");
    assert!(err.to_string().contains("at least 1"), "{err}");
    assert!(BlockingPool::builder().threads(0).build().is_err());
}

#[test]
fn blocking_pool_thread_names() {
    let names = |pool: &BlockingPool, jobs: usize| -> Vec<String> {
        let latch = Latch::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        // Hold every thread busy at once so each one reports its name.
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                let (latch, seen) = (latch.clone(), seen.clone());
                pool.submit(move || {
                    let name = std::thread::current().name().unwrap_or("").to_string();
                    let all_in = {
                        let mut s = seen.lock().unwrap();
                        s.push(name.clone());
                        s.len() == jobs
                    };
                    if all_in {
                        latch.open();
                    }
                    latch.wait();
                    Ok::<_, MyErr>(name)
                })
            })
            .collect();
        let mut out: Vec<String> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
        out.sort();
        out
    };

    let pool = BlockingPool::new(3).unwrap();
    assert_eq!(pool.threads(), 3);
    assert_eq!(
        names(&pool, 3),
        ["more-executors-blocking-0", "more-executors-blocking-1", "more-executors-blocking-2"]
    );

    let pool = BlockingPool::builder().threads(2).thread_name("uploader").name("uploads").build().unwrap();
    assert_eq!(pool.name(), "uploads");
    assert_eq!(pool.kind(), "blocking");
    assert_eq!(names(&pool, 2), ["uploader-0", "uploader-1"]);
}

#[test]
fn default_names_and_kinds() {
    let a = AsyncExecutor::new();
    assert_eq!((a.name(), a.kind()), ("default", "async"));
    let i = InlineExecutor::new();
    assert_eq!((i.name(), i.kind()), ("default", "inline"));
    assert!(i.runs_inline());
    assert!(!a.runs_inline());
    let named = InlineExecutor::builder().name("here").build();
    assert_eq!(named.name(), "here");
    let a = AsyncExecutor::builder().name("fetch").build();
    assert_eq!(a.name(), "fetch");
}

#[test]
fn executors_share_a_given_runtime() {
    let rt = Runtime::current_or_owned();
    let a = AsyncExecutor::builder().runtime(rt.clone()).build();
    let b = BlockingPool::builder().threads(1).runtime(rt.clone()).build().unwrap();
    let h1 = a.submit(|| async { Ok::<_, MyErr>(1) });
    let h2 = b.submit(|| Ok::<_, MyErr>(2));
    assert_eq!((h1.wait(), h2.wait()), (Ok(1), Ok(2)));
    // Shutting one down shuts the shared runtime down for both.
    a.shutdown();
    assert!(b.is_shut_down());
    assert_eq!(b.submit(|| Ok::<_, MyErr>(3)).wait(), Err(Error::ShutDown));
}

/// A job's driver task counts for its runtime (`task_count`, `wait_shutdown`) until it ends,
/// however it ends: an inline job that has to wait gets a counted task; a cancelled job's
/// count goes when its task is stopped; a finished one's when it finishes.
#[tokio::test(flavor = "current_thread")]
async fn the_runtime_counts_each_driver_task_until_it_ends() {
    let rt = Runtime::current_or_owned();

    // Inline, resolved at once: no task, nothing counted.
    let inline = InlineExecutor::builder().runtime(rt.clone()).build();
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let rx = Arc::new(Mutex::new(Some(rx)));
    let waits = inline.clone().with_flat_map(move |v: u32| {
        let rx = rx.lock().unwrap().take();
        async move {
            match rx {
                Some(rx) => rx.await.map(|w| v + w).map_err(|_| Error::Job(MyErr::NotFound)),
                None => Ok(v),
            }
        }
    });
    assert!(inline.submit(|| Ok::<_, MyErr>(1)).is_done());
    assert_eq!(rt.task_count(), 0);

    // Inline, its flat_map step pending: the task spawned for it is counted.
    let pending = waits.submit(|| Ok::<_, MyErr>(1));
    assert!(!pending.is_done());
    assert_eq!(rt.task_count(), 1);
    tx.send(2).unwrap();
    assert_eq!(pending.await, Ok(3));
    tokio::task::yield_now().await;
    assert_eq!(rt.task_count(), 0, "the finished task's count went with it");

    // Async: counted while it runs; a cancel stops the task and releases the count.
    let exec = AsyncExecutor::builder().runtime(rt.clone()).build();
    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    tokio::task::yield_now().await;
    assert_eq!(rt.task_count(), 1);
    assert!(h.cancel());
    assert!(h.await.unwrap_err().is_cancelled());
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(rt.task_count(), 0, "the cancelled task's count went when it was stopped");
    rt.shutdown();
    tokio::time::timeout(Duration::from_secs(5), rt.wait_shutdown()).await.expect("no task is left");
}
