//! Cost model across every crate: a stack of every layer (cancel on shutdown, concurrency
//! limit, retry, timeout, flat_map, poll, map) costs one driver task per job plus one poll
//! task for the whole poll executor, and no layer starts an OS thread, with jobs pending in
//! every stage at once (running, waiting to retry, in the poll set, queued in the limit).
//!
//! One test in this binary: the process's thread count is only meaningful while no other
//! test runs.

mod reliability_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use more_executors::Error;
use more_executors::poll::{PollBuilderExt, PollDescriptor, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::{Attempt, RetryBuilderExt, RetryDecision};
use more_executors::timeout::TimeoutBuilderExt;
use more_executors_test_support::thread_count;
use reliability_common::{alive_tasks, ms};

const N: usize = 400;

#[test]
fn every_layer_together_costs_one_task_per_job_and_no_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let threads_before = thread_count();
        let tasks_before = alive_tasks();
        let release = Arc::new(AtomicBool::new(false));
        let rel = release.clone();
        let retry_later = |a: &Attempt, r: &Result<usize, Error<usize>>| match r {
            Err(Error::Job(_)) if a.number < 2 => RetryDecision::RetryAfter(Duration::from_secs(3600)),
            _ => RetryDecision::Done,
        };
        let exec = ExecutorBuilder::new()
            .cancel_on_shutdown()
            .concurrency_limit(N / 2)
            .unwrap()
            .retry(retry_later)
            .timeout(Duration::from_secs(3600))
            .unwrap()
            .flat_map(|n: usize| async move { Ok::<_, Error<usize>>(n + 1) })
            .poll(
                PollLayer::new(move |ds: &mut [PollDescriptor<usize, usize, usize>]| {
                    if rel.load(SeqCst) {
                        for d in ds.iter_mut() {
                            let n = *d.input();
                            d.yield_result(n);
                        }
                    }
                    Ok(Some(ms(5)))
                })
                .first_poll_delay(Duration::ZERO),
            )
            .map(|n: usize| n * 2)
            .build(AsyncExecutor::new());

        // The first N/2 jobs take the limit's slots (the limit is outermost, so they keep
        // them): a quarter wait to retry, a quarter sit in the poll set, half run forever.
        // The other N/2 queue in the limit.
        let mut handles = Vec::new();
        for i in 0..N {
            handles.push(exec.submit(move || async move {
                match i % 4 {
                    0 => Err(i),
                    1 => Ok(i),
                    _ => std::future::pending().await,
                }
            }));
            if i == N / 2 {
                tokio::time::sleep(ms(50)).await; // the first half reaches its stages
            }
        }
        tokio::time::sleep(ms(50)).await;
        assert!(handles.iter().all(|h| !h.is_done()), "every job is pending in some stage");

        assert_eq!(thread_count(), threads_before, "no layer started a thread");
        assert_eq!(alive_tasks() - tasks_before, N + 1, "one driver task per job, one poll task");

        exec.shutdown();
        release.store(true, SeqCst);
        for h in handles {
            let out =
                tokio::time::timeout(Duration::from_secs(10), h).await.expect("resolved by the shutdown");
            assert!(out.is_err_and(|e| e.is_cancelled()));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while alive_tasks() > tasks_before && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(ms(1)).await;
        }
        assert_eq!(alive_tasks(), tasks_before, "every task ended after shutdown");
        assert_eq!(thread_count(), threads_before);
    });
}
