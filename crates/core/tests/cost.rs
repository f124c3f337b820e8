//! Cost model: a stack of core layers costs at most one task per job, whatever its depth,
//! and no layer starts an OS thread.
//!
//! Everything is in one test function: the thread count of the process is only meaningful
//! while no other test of this binary runs.
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use common::{Gate, MyErr};
use more_executors_core::prelude::*;
use more_executors_test_support::thread_count;

const N: usize = 200;

#[test]
fn cost_model() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let metrics = rt.handle().metrics();
    rt.block_on(async {
        let threads_before = thread_count();
        let tasks_before = metrics.num_alive_tasks();

        // A deep stack of every core layer over the async executor.
        let gate = Gate::new();
        let exec = AsyncExecutor::new()
            .with_map(|n: usize| n + 1)
            .with_map_err(|e: MyErr| e)
            .with_concurrency_limit(N / 2)
            .unwrap()
            .with_cancel_on_shutdown()
            .with_flat_map(|n: usize| async move { Ok::<_, MyErr>(n * 2) })
            .with_dynamic_concurrency_limit(|| 1_000)
            .unwrap()
            .with_map(|n: usize| n - 1)
            .with_cancel_on_shutdown()
            .with_map_err(|e: MyErr| e)
            .with_concurrency_limit(N * 2)
            .unwrap();
        assert_eq!(thread_count(), threads_before, "building layers started no thread");

        let handles: Vec<_> = (0..N)
            .map(|i| {
                let gate = gate.clone();
                exec.submit(move || async move {
                    gate.wait().await;
                    Ok::<_, MyErr>(i)
                })
            })
            .collect();
        // Let every job reach its await point (or its queue).
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        let alive = metrics.num_alive_tasks() - tasks_before;
        assert_eq!(alive, N, "one task per job, whatever the depth of the stack (half of them queued)");
        assert_eq!(exec.runtime().task_count(), N);
        assert_eq!(thread_count(), threads_before, "no layer started a thread");

        gate.open();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await, Ok((i + 1) * 2 - 1));
        }
        exec.shutdown();
        exec.runtime().wait_shutdown().await;
        assert_eq!(exec.runtime().task_count(), 0, "every driver task ended");
        settle(&metrics, tasks_before).await;
        assert_eq!(metrics.num_alive_tasks(), tasks_before, "no task of the library is left alive");
        assert_eq!(thread_count(), threads_before);

        // A stack over a blocking pool: the pool's own threads, plus nothing per layer or job.
        let pool = BlockingPool::new(3).unwrap();
        let with_pool = thread_count();
        assert_eq!(with_pool, threads_before + 3, "the pool starts exactly its threads");
        let exec = pool.with_concurrency_limit(2).unwrap().with_map(|n: usize| n).with_cancel_on_shutdown();
        let handles: Vec<_> = (0..N).map(|i| exec.submit(move || Ok::<_, MyErr>(i))).collect();
        assert!(metrics.num_alive_tasks() - tasks_before <= N, "at most one task per job");
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await, Ok(i));
        }
        assert_eq!(thread_count(), with_pool);
        // The pool stack's driver tasks may still be on their way out: wait until they are
        // gone, so the count below sees only what the inline stack adds.
        settle(&metrics, tasks_before).await;

        // A stack over the inline executor resolves ready jobs without any task.
        let exec = InlineExecutor::new().with_map(|n: usize| n).with_cancel_on_shutdown();
        let before = metrics.num_alive_tasks();
        assert_eq!(before, tasks_before, "the pool stack's tasks all ended");
        let handles: Vec<_> = (0..N).map(|i| exec.submit(move || Ok::<_, MyErr>(i))).collect();
        assert_eq!(metrics.num_alive_tasks(), before, "inline jobs need no task");
        assert!(handles.iter().all(|h| h.is_done()));
    });
}

/// Waits until the runtime counts `target` alive tasks again.
///
/// The runtime releases a finished task on the worker that ran it, shortly after its output
/// was handed over, and offers no notification for it: poll the counter (for at most a few
/// seconds; only on a loaded machine does this loop more than once).
async fn settle(metrics: &tokio::runtime::RuntimeMetrics, target: usize) {
    for _ in 0..5_000 {
        if metrics.num_alive_tasks() == target {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
