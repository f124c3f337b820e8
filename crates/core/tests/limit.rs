//! Concurrency limit: never exceeded, FIFO, cancel of queued jobs, dynamic limits,
//! backpressure, bad configuration.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Counter, Gate, Latch, MyErr};
use more_executors_core::limit::{ConcurrencyLimit, ConcurrencyLimitLayer};
use more_executors_core::prelude::*;
use more_executors_test_support::{Concurrency, settle};

/// Checks FIFO start order for a limit of `limit`: when job `j` starts, every earlier job
/// has been given its slot; at most `limit - 1` of those may not have started yet (they
/// hold the other slots and their driver tasks were not polled yet).
fn assert_fifo(starts: &[usize], limit: usize) {
    let n = starts.len();
    let mut started = vec![false; n];
    let mut not_started_below = 0usize; // earlier jobs (< max seen) not yet started
    let mut max_seen = 0usize;
    for &j in starts {
        assert!(!started[j], "job {j} started twice");
        if j >= max_seen {
            not_started_below += j - max_seen;
            max_seen = j + 1;
        } else {
            not_started_below -= 1;
        }
        started[j] = true;
        assert!(
            not_started_below < limit,
            "job {j} started while {not_started_below} earlier jobs had not (limit {limit})"
        );
    }
    assert!(started.iter().all(|s| *s));
}

async fn limit_never_exceeded_and_fifo(limit: usize) {
    const N: usize = 1_000;
    let exec = AsyncExecutor::new().with_concurrency_limit(limit).unwrap();
    let conc = Concurrency::new();
    let starts = Arc::new(Mutex::new(Vec::with_capacity(N)));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let (conc, starts) = (conc.clone(), starts.clone());
            exec.submit(move || {
                // The job closure is called when the job takes its slot.
                starts.lock().unwrap().push(i);
                async move {
                    let _running = conc.enter();
                    for _ in 0..(i % 4) {
                        tokio::task::yield_now().await;
                    }
                    Ok::<_, MyErr>(i)
                }
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await, Ok(i));
    }
    assert!(conc.peak() <= limit, "peak {} exceeded limit {limit}", conc.peak());
    assert!(conc.peak() >= 1);
    let starts = starts.lock().unwrap();
    if limit == 1 {
        assert_eq!(*starts, (0..N).collect::<Vec<_>>(), "strict FIFO with one slot");
    }
    assert_fifo(&starts, limit);
    assert_eq!(exec.in_flight(), 0);
    assert_eq!(exec.queued(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_1_fifo_multi_thread() {
    limit_never_exceeded_and_fifo(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_4_fifo_multi_thread() {
    limit_never_exceeded_and_fifo(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_7_fifo_multi_thread() {
    limit_never_exceeded_and_fifo(7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_over_blocking_pool_never_exceeded() {
    // More threads than the limit: the limit, not the pool, must bound concurrency.
    let exec = BlockingPool::new(6).unwrap().with_concurrency_limit(3).unwrap();
    let conc = Concurrency::new();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..300usize)
        .map(|i| {
            let (conc, starts) = (conc.clone(), starts.clone());
            exec.submit(move || {
                let _running = conc.enter();
                starts.lock().unwrap().push(i);
                std::thread::yield_now();
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await, Ok(i));
    }
    assert!(conc.peak() <= 3, "peak {}", conc.peak());
    assert_fifo(&starts.lock().unwrap(), 3);
}

#[tokio::test]
async fn cancelling_a_queued_job_starts_nothing_else() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let gate = Gate::new();
    let started = Arc::new(Mutex::new(Vec::new()));
    let submit = |i: u32| {
        let (gate, started) = (gate.clone(), started.clone());
        exec.submit(move || {
            started.lock().unwrap().push(i);
            async move {
                gate.wait().await;
                Ok::<_, MyErr>(i)
            }
        })
    };
    let a = submit(0);
    let b = submit(1);
    let c = submit(2);
    tokio::task::yield_now().await;
    assert_eq!(*started.lock().unwrap(), [0]);
    assert_eq!((exec.in_flight(), exec.queued()), (1, 2));

    assert!(b.cancel(), "cancel of a queued job succeeds at once");
    assert!(b.is_done() && b.is_cancelled());
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(*started.lock().unwrap(), [0], "the cancel freed no slot and started nothing");
    assert_eq!((exec.in_flight(), exec.queued()), (1, 1));

    gate.open();
    assert_eq!(a.await, Ok(0));
    assert_eq!(c.await, Ok(2));
    assert_eq!(b.await, Err(Error::Cancelled));
    assert_eq!(*started.lock().unwrap(), [0, 2]);
}

#[tokio::test]
async fn cancelling_a_running_job_frees_its_slot() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let a = exec.submit(std::future::pending::<Result<u32, MyErr>>);
    let b = exec.submit(|| async { Ok::<u32, MyErr>(2) });
    tokio::task::yield_now().await;
    assert_eq!(exec.queued(), 1);
    assert!(a.cancel());
    assert_eq!(b.await, Ok(2), "the cancelled job's slot went to the next one");
    assert_eq!(a.await, Err(Error::Cancelled));
    assert_eq!(exec.in_flight(), 0);
}

#[tokio::test]
async fn dynamic_limit_raised_and_lowered() {
    let wanted = Arc::new(AtomicUsize::new(1));
    let w = wanted.clone();
    let exec = AsyncExecutor::new().with_dynamic_concurrency_limit(move || w.load(SeqCst)).unwrap();
    assert_eq!(exec.limit(), 1);
    let conc = Concurrency::new();
    let gates: Vec<Gate> = (0..8).map(|_| Gate::new()).collect();
    let started = Counter::new();
    let submit = |i: usize| {
        let (conc, gate, started) = (conc.clone(), gates[i].clone(), started.clone());
        exec.submit(move || async move {
            started.inc();
            let _running = conc.enter();
            gate.wait().await;
            Ok::<_, MyErr>(i)
        })
    };
    let mut handles: Vec<_> = (0..6).map(submit).collect();
    settle(20).await;
    assert_eq!(started.get(), 1);

    // Raised: consulted when the next job asks for a slot, queued jobs start at once.
    wanted.store(3, SeqCst);
    handles.push(submit(6));
    settle(20).await;
    assert_eq!(started.get(), 3, "raising the limit started queued jobs");
    assert_eq!(exec.limit(), 3);
    assert_eq!(conc.now(), 3);

    // Lowered to 1: running jobs are not interrupted; no new job starts until only one
    // would be running.
    wanted.store(1, SeqCst);
    gates[0].open();
    settle(20).await;
    assert_eq!(started.get(), 3, "a freed slot is retired while above the new limit");
    gates[1].open();
    settle(20).await;
    assert_eq!(started.get(), 3);
    assert_eq!(conc.now(), 1);
    gates[2].open();
    settle(20).await;
    assert_eq!(started.get(), 4, "back under the limit: the next job starts");
    assert_eq!(conc.now(), 1);
    assert!(conc.peak() <= 3);
    for g in &gates {
        g.open();
    }
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await, Ok(i));
    }
    assert_eq!(conc.peak(), 3);
}

#[tokio::test]
async fn dynamic_limit_of_zero_is_treated_as_one() {
    let exec = AsyncExecutor::new().with_dynamic_concurrency_limit(|| 0).unwrap();
    assert_eq!(exec.limit(), 1);
    let conc = Concurrency::new();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let conc = conc.clone();
            exec.submit(move || async move {
                let _r = conc.enter();
                tokio::task::yield_now().await;
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await, Ok(i), "the queue never stalls");
    }
    assert_eq!(conc.peak(), 1);
}

#[tokio::test]
async fn dynamic_limit_beyond_the_semaphore_bound_is_capped_not_a_panic() {
    let wanted = Arc::new(AtomicUsize::new(2));
    let w = wanted.clone();
    let exec = AsyncExecutor::new().with_dynamic_concurrency_limit(move || w.load(SeqCst)).unwrap();
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>(1) }).await, Ok(1));
    // "No limit, really": more slots than any semaphore holds.
    wanted.store(usize::MAX, SeqCst);
    let handles: Vec<_> = (0..10).map(|i| exec.submit(move || async move { Ok::<_, MyErr>(i) })).collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await, Ok(i));
    }
    assert!(exec.limit() >= 1 << 60, "capped at the largest limit there is: {}", exec.limit());
    wanted.store(1, SeqCst);
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>(2) }).await, Ok(2), "and lowered again");
    assert_eq!(exec.limit(), 1);

    // Read at construction too.
    let exec = AsyncExecutor::new().with_dynamic_concurrency_limit(|| usize::MAX).unwrap();
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>(3) }).await, Ok(3));
}

#[tokio::test(start_paused = true)]
async fn submit_ready_applies_backpressure() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let gate = Gate::new();
    let g = gate.clone();
    let first = exec.submit(move || async move {
        g.wait().await;
        Ok::<_, MyErr>(1)
    });
    let ran = Counter::new();
    let r = ran.clone();
    let ready = exec.submit_ready(move || async move {
        r.inc();
        Ok::<_, MyErr>(2)
    });
    tokio::pin!(ready);
    // The slot is taken: the submitter waits, whatever time passes.
    assert!(tokio::time::timeout(Duration::from_secs(3600), &mut ready).await.is_err());
    assert_eq!(ran.get(), 0);
    assert_eq!(exec.queued(), 0, "backpressure does not queue the job");
    gate.open();
    let h = ready.await;
    assert_eq!(h.await, Ok(2));
    assert_eq!(first.await, Ok(1));

    // Dropping a waiting submit_ready submits nothing.
    let g2 = Gate::new();
    let g = g2.clone();
    let blocker = exec.submit(move || async move {
        g.wait().await;
        Ok::<_, MyErr>(0)
    });
    let r = ran.clone();
    let waiting = exec.submit_ready(move || async move {
        r.inc();
        Ok::<_, MyErr>(3)
    });
    assert!(tokio::time::timeout(Duration::from_secs(1), waiting).await.is_err());
    g2.open();
    assert_eq!(blocker.await, Ok(0));
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>(4) }).await, Ok(4));
    assert_eq!(ran.get(), 1, "the dropped submit_ready never ran its job");
    assert_eq!(exec.in_flight(), 0);
}

#[test]
fn limit_zero_rejected() {
    assert_eq!(ConcurrencyLimit::new(InlineExecutor::new(), 0).unwrap_err().setting(), "concurrency limit");
    assert!(ConcurrencyLimitLayer::new(0).is_err());
    assert!(ExecutorBuilder::new().concurrency_limit(0).is_err());
    assert!(AsyncExecutor::new().with_concurrency_limit(0).is_err());
    assert_eq!(ConcurrencyLimit::new(InlineExecutor::new(), 3).unwrap().limit(), 3);
}

#[test]
fn limit_beyond_the_semaphore_bound_rejected() {
    let err = ConcurrencyLimit::new(InlineExecutor::new(), usize::MAX).unwrap_err();
    assert_eq!(err.setting(), "concurrency limit");
    assert!(err.to_string().contains("leave the limit out"), "{err}");
    assert!(ConcurrencyLimitLayer::new(usize::MAX).is_err());
    assert!(AsyncExecutor::new().with_concurrency_limit(usize::MAX).is_err());
    assert!(ConcurrencyLimit::new(InlineExecutor::new(), 1 << 40).is_ok());
}

#[test]
fn limit_in_sync_code_with_blocking_pool() {
    let exec = BlockingPool::new(4).unwrap().with_concurrency_limit(2).unwrap();
    let conc = Concurrency::new();
    let latch = Latch::new();
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let (conc, latch) = (conc.clone(), latch.clone());
            exec.submit(move || {
                let _r = conc.enter();
                if i == 0 {
                    latch.wait();
                }
                Ok::<_, MyErr>(i)
            })
        })
        .collect();
    latch.open();
    let out: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, (0..10).collect::<Vec<_>>());
    assert!(conc.peak() <= 2);
}

#[tokio::test]
async fn limit_over_inline_executor_queues_and_runs_later() {
    let inner = InlineExecutor::new();
    let exec = inner.with_concurrency_limit(1).unwrap();
    let slot_holder = exec.submit_ready(|| Ok::<u32, MyErr>(0)).await;
    assert_eq!(slot_holder.await, Ok(0));
    let a = exec.submit(|| Ok::<u32, MyErr>(1));
    assert!(a.is_done(), "a free slot runs the inline job at once");
    assert_eq!(a.await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn raising_a_dynamic_limit_starts_queued_jobs_without_new_submissions() {
    let wanted = Arc::new(AtomicUsize::new(1));
    let w = wanted.clone();
    let exec = AsyncExecutor::new().with_dynamic_concurrency_limit(move || w.load(SeqCst)).unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let _handles: Vec<_> = (0..3)
        .map(|_| {
            let started = started.clone();
            exec.submit(move || async move {
                started.fetch_add(1, SeqCst);
                std::future::pending::<Result<(), ()>>().await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(started.load(SeqCst), 1, "limit 1: one job runs, two wait");
    wanted.store(2, SeqCst);
    tokio::time::sleep(more_executors_core::limit::DYNAMIC_RECHECK * 2).await;
    assert_eq!(started.load(SeqCst), 2, "the raised limit started a queued job with nothing else happening");
    assert_eq!(exec.queued(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_submitter_waiting_for_a_slot_is_released_at_shutdown() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let _forever = exec.submit(std::future::pending::<Result<(), ()>>);
    let waiting = exec.clone();
    let waiter = tokio::spawn(async move { waiting.submit_ready(|| async { Ok::<(), ()>(()) }).await.await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiter.is_finished(), "no free slot: the submitter waits");
    exec.shutdown();
    let out =
        tokio::time::timeout(Duration::from_secs(60), waiter).await.expect("released at shutdown").unwrap();
    assert_eq!(out, Err(Error::ShutDown));
    assert_eq!(exec.submit_ready(|| async { Ok::<(), ()>(()) }).await.await, Err(Error::ShutDown));
}

#[test]
fn a_dynamic_limit_that_panics_when_first_read_is_rejected() {
    let err = InlineExecutor::new()
        .with_dynamic_concurrency_limit(|| -> usize { panic!("no limit yet") })
        .unwrap_err();
    assert_eq!(err.setting(), "dynamic concurrency limit");
    assert!(err.to_string().contains("no limit yet"), "{err}");
    assert!(ConcurrencyLimitLayer::dynamic(|| -> usize { panic!("no") }).is_err());
}
