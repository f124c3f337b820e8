//! Shutdown with work pending in every stage of a stack (queued in a limit, running,
//! waiting to retry, in the poll set, waiting on a timeout): every handle resolves and none
//! stays pending; and the jobs scheduler's close aborts a job that ignores cancellation
//! after the close timeout, reports it, and leaves nothing running once `close()` returns.

mod reliability_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use more_executors::jobs::{CancellationToken, Scheduler};
use more_executors::poll::{PollBuilderExt, PollDescriptor, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::{Attempt, RetryBuilderExt, RetryDecision};
use more_executors::timeout::TimeoutBuilderExt;
use more_executors::{Error, Lifecycle};
use more_executors_test_support::{settle, this_thread};
use reliability_common::{alive_tasks, drain_tasks, ms};

type Out = Result<u64, Error<u64>>;

/// Retries every error after an hour: a failed job waits between attempts.
fn retry_in_an_hour(a: &Attempt, r: &Out) -> RetryDecision {
    if r.is_err() && a.number < 3 {
        RetryDecision::RetryAfter(Duration::from_secs(3600))
    } else {
        RetryDecision::Done
    }
}

/// Resolves inputs below 100 at once; inputs from 100 up stay in the poll set.
fn poll_below_100() -> PollLayer<u64, u64, u64> {
    PollLayer::new(|ds: &mut [PollDescriptor<u64, u64, u64>]| {
        for d in ds.iter_mut().filter(|d| *d.input() < 100) {
            let v = *d.input();
            d.yield_result(v);
        }
        Ok(Some(ms(10)))
    })
    .first_poll_delay(Duration::ZERO)
}

/// The stages of one stack, outermost first: [cancel on shutdown] → retry → timeout →
/// poll → limit(2) → async executor. Returns the handles of:
/// (waiting to retry, in the poll set, running ×2, queued in the limit).
macro_rules! every_stage {
    ($exec:expr, $running:expr) => {{
        let exec = &$exec;
        let retrying = exec.submit(|| async { Err::<u64, u64>(7) });
        let polled = exec.submit(|| async { Ok::<u64, u64>(150) });
        settle(50).await;
        let run1 = exec.submit($running);
        let run2 = exec.submit($running);
        let queued = exec.submit(|| async { Ok::<u64, u64>(1) });
        settle(50).await;
        (retrying, polled, run1, run2, queued)
    }};
}

#[tokio::test(start_paused = true)]
async fn shutdown_resolves_work_pending_in_every_stage_at_once() {
    let baseline = alive_tasks();
    let started = Arc::new(AtomicUsize::new(0));
    let exec = ExecutorBuilder::new()
        .cancel_on_shutdown()
        .retry(retry_in_an_hour)
        .timeout(Duration::from_secs(3600))
        .unwrap()
        .poll(poll_below_100())
        .concurrency_limit(2)
        .unwrap()
        .build(AsyncExecutor::new());
    let s = started.clone();
    let forever = move || {
        let s = s.clone();
        async move {
            s.fetch_add(1, SeqCst);
            std::future::pending::<Result<u64, u64>>().await
        }
    };
    let (retrying, polled, run1, run2, queued) = every_stage!(exec, forever.clone());
    assert_eq!(started.load(SeqCst), 2, "two jobs hold the limit's slots");
    for h in [&retrying, &polled, &run1, &run2, &queued] {
        assert!(!h.is_done(), "{h:?} is pending in its stage before shutdown");
    }

    let t0 = tokio::time::Instant::now();
    exec.shutdown();
    let all = futures::future::join_all([retrying, polled, run1, run2, queued]);
    // The clock does not move: nothing is resolved by a timer, everything by the shutdown.
    let results = tokio::select! {
        biased;
        r = all => r,
        _ = tokio::time::sleep(ms(1)) => panic!("a handle stayed pending after shutdown"),
    };
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert_eq!(results, vec![Err(Error::Cancelled); 5], "cancel on shutdown cancels every stage");
    assert_eq!(started.load(SeqCst), 2, "the queued job never started");
    assert!(exec.submit(forever).await.unwrap_err().is_shut_down());
    drop(exec);
    assert_eq!(drain_tasks(baseline, Duration::from_secs(1)).await, baseline, "every task ended");
}

#[tokio::test(start_paused = true)]
async fn a_refused_cancel_in_the_poll_set_still_resolves_at_shutdown() {
    let exec = ExecutorBuilder::new()
        .cancel_on_shutdown()
        .retry(retry_in_an_hour)
        .poll(poll_below_100().cancel_fn(|_: &u64| Ok(false)))
        .build(AsyncExecutor::new());
    let polled = exec.submit(|| async { Ok::<u64, u64>(150) });
    settle(50).await;
    assert!(!polled.cancel(), "the cancel function refuses");
    exec.shutdown();
    let out = tokio::select! {
        biased;
        r = polled => r,
        _ = tokio::time::sleep(ms(1)) => panic!("the polled handle stayed pending after shutdown"),
    };
    assert_eq!(out, Err(Error::ShutDown), "the poll layer resolves its set at shutdown");
}

#[tokio::test(start_paused = true)]
async fn without_cancel_on_shutdown_running_jobs_finish_and_everything_resolves() {
    let baseline = alive_tasks();
    let exec = ExecutorBuilder::new()
        .retry(retry_in_an_hour)
        .timeout(Duration::from_secs(3600))
        .unwrap()
        .poll(poll_below_100())
        .concurrency_limit(2)
        .unwrap()
        .build(AsyncExecutor::new());
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok::<u64, u64>(5)
    };
    let (retrying, polled, run1, run2, queued) = every_stage!(exec, slow);
    let t0 = tokio::time::Instant::now();
    exec.shutdown();
    settle(50).await;
    // Work that only a timer or the poll would finish is resolved by the shutdown at once.
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert!(retrying.is_done() && polled.is_done(), "retry wait and poll set end at shutdown");
    // Running jobs run to completion; the queued job then starts (it was accepted before the
    // shutdown) but no further poll can resolve it.
    let results = reliability_common::bounded(
        futures::future::join_all([retrying, polled, run1, run2, queued]),
        Duration::from_secs(3600),
        Duration::from_secs(5),
    )
    .await
    .expect("every handle resolves");
    assert_eq!(t0.elapsed(), Duration::from_secs(10), "resolved when the running jobs ended");
    assert_eq!(results[0], Err(Error::ShutDown), "no attempt starts after shutdown");
    assert_eq!(results[1], Err(Error::ShutDown), "the poll set is resolved at shutdown");
    // The running and queued jobs end, but their outputs reach a poll layer that is shut
    // down and will never poll again: resolved with the shut-down error, not lost.
    assert_eq!(&results[2..], [Err(Error::ShutDown), Err(Error::ShutDown), Err(Error::ShutDown)]);
    drop(exec);
    assert_eq!(drain_tasks(baseline, Duration::from_secs(1)).await, baseline, "every task ended");
}

// Real time: a paused clock would run ahead while the runtime waits for the pool thread.
#[tokio::test]
async fn blocking_pool_shutdown_lets_the_running_job_finish_and_cancels_the_rest() {
    let release = Arc::new(AtomicBool::new(false));
    let ran = Arc::new(AtomicUsize::new(0));
    let pool = BlockingPool::builder().threads(1).thread_name("rel-shut").build().unwrap();
    let exec = ExecutorBuilder::new()
        .cancel_on_shutdown()
        .retry(retry_in_an_hour)
        .timeout(Duration::from_secs(3600))
        .unwrap()
        .concurrency_limit(2)
        .unwrap()
        .build(pool);
    let thread = Arc::new(std::sync::Mutex::new(None));
    let job = |r: &Arc<AtomicBool>, n: &Arc<AtomicUsize>| {
        let (release, ran, thread) = (r.clone(), n.clone(), thread.clone());
        move || {
            *thread.lock().unwrap() = this_thread();
            ran.fetch_add(1, SeqCst);
            while !release.load(SeqCst) {
                std::thread::sleep(ms(1));
            }
            Ok::<u64, u64>(9)
        }
    };
    let running = exec.submit(job(&release, &ran));
    let in_pool_queue = exec.submit(job(&release, &ran));
    let in_limit_queue = exec.submit(job(&release, &ran));
    while ran.load(SeqCst) == 0 {
        std::thread::sleep(ms(1));
    }
    exec.shutdown();
    release.store(true, SeqCst);
    let all = futures::future::join_all([running, in_pool_queue, in_limit_queue]);
    let results = tokio::time::timeout(Duration::from_secs(10), all).await.expect("every handle resolves");
    assert_eq!(results, [Ok(9), Err(Error::Cancelled), Err(Error::Cancelled)]);
    assert_eq!(ran.load(SeqCst), 1, "cancelled jobs never ran");
    drop(exec);
    if let Some(thread) = thread.lock().unwrap().take() {
        // Generous: on a loaded machine the thread may wait for a CPU to exit.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while thread.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(ms(1));
        }
        assert!(!thread.exists(), "the pool's thread exits after shutdown");
    }
}

#[test]
fn shutdown_from_plain_synchronous_code_resolves_every_stage() {
    // No runtime: the library runs its own, and stops it with the executor.
    let exec = ExecutorBuilder::new()
        .cancel_on_shutdown()
        .retry(retry_in_an_hour)
        .timeout(Duration::from_secs(3600))
        .unwrap()
        .poll(poll_below_100())
        .concurrency_limit(1)
        .unwrap()
        .build(AsyncExecutor::new());
    let retrying = exec.submit(|| async { Err::<u64, u64>(7) });
    let polled = exec.submit(|| async { Ok::<u64, u64>(150) });
    let running = exec.submit(std::future::pending::<Result<u64, u64>>);
    let queued = exec.submit(|| async { Ok::<u64, u64>(1) });
    let rt = exec.runtime().clone();
    assert!(rt.is_owned());
    std::thread::sleep(ms(50));
    exec.shutdown();
    for (i, mut h) in [retrying, polled, running, queued].into_iter().enumerate() {
        let out =
            h.wait_timeout(Duration::from_secs(10)).unwrap_or_else(|| panic!("handle {i} stayed pending"));
        assert!(out.is_err_and(|e| e.is_cancelled()), "handle {i}");
    }
    rt.wait_shutdown_blocking();
    assert_eq!(rt.task_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn submit_after_shutdown_through_every_layer_fails_at_once() {
    let exec = ExecutorBuilder::new()
        .cancel_on_shutdown()
        .retry(retry_in_an_hour)
        .timeout(Duration::from_secs(1))
        .unwrap()
        .flat_map(|v: u64| async move { Ok::<_, Error<u64>>(v) })
        .poll(poll_below_100())
        .concurrency_limit(1)
        .unwrap()
        .map(|v: u64| v)
        .build(AsyncExecutor::new());
    exec.shutdown();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = exec.submit(move || async move {
        r.store(true, SeqCst);
        Ok::<u64, u64>(1)
    });
    assert!(h.is_done(), "already resolved");
    assert_eq!(h.await, Err(Error::ShutDown));
    assert!(!ran.load(SeqCst));
}

// ---------------------------------------------------------------------------------------
// The jobs scheduler
// ---------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn scheduler_close_aborts_a_job_ignoring_cancellation_and_nothing_runs_after() {
    let baseline = alive_tasks();
    let reported = Arc::new(AtomicUsize::new(0));
    let overruns = Arc::new(AtomicUsize::new(0));
    let (rep, over) = (reported.clone(), overruns.clone());
    let scheduler = Scheduler::builder()
        .limit(2)
        .close_timeout(ms(250))
        .error_handler(move |f| {
            if f.is_overrun() {
                over.fetch_add(1, SeqCst);
            } else {
                rep.fetch_add(1, SeqCst);
            }
        })
        .build()
        .unwrap();

    // A job given a token that it never looks at: it ticks forever.
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let stubborn = scheduler
        .job()
        .token(CancellationToken::new())
        .spawn(async move {
            loop {
                t.fetch_add(1, SeqCst);
                tokio::time::sleep(ms(10)).await;
            }
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        })
        .await
        .unwrap();
    // A job that stops when its token is cancelled.
    let token = CancellationToken::new();
    let tk = token.clone();
    let cooperative = scheduler
        .job()
        .token(token)
        .spawn(async move {
            tk.cancelled().await;
            Ok::<(), String>(())
        })
        .await
        .unwrap();
    // Queued behind the two.
    let queued = scheduler.spawn(async { Ok::<(), String>(()) }).await.unwrap();
    tokio::time::sleep(ms(100)).await;
    assert!(ticks.load(SeqCst) >= 10);

    let t0 = tokio::time::Instant::now();
    let report = scheduler.close().await;
    assert_eq!(t0.elapsed(), ms(250), "close waited exactly the close timeout for the stubborn job");
    assert_eq!((report.cancelled, report.aborted, report.never_started), (1, 1, 1), "{report}");

    // Nothing keeps running after close() returned.
    let after_close = ticks.load(SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(ticks.load(SeqCst), after_close, "the aborted job still ticks");
    assert_eq!(scheduler.len(), 0);
    assert!(scheduler.is_closed());
    for (name, job) in [("stubborn", stubborn), ("cooperative", cooperative), ("queued", queued)] {
        let out = job.await;
        assert!(out.as_ref().is_err_and(|e| e.is_cancelled()), "{name}: {out:?}");
    }
    assert_eq!(reported.load(SeqCst), 0, "a cancel is not an error for the handler");
    assert_eq!(overruns.load(SeqCst), 1, "the abort of the stubborn job is reported, once");
    drop(scheduler);
    assert_eq!(drain_tasks(baseline, Duration::from_secs(1)).await, baseline, "every task ended");
}

#[tokio::test(start_paused = true)]
async fn scheduler_close_ends_every_job_and_refuses_new_ones() {
    let baseline = alive_tasks();
    let scheduler = Scheduler::builder().limit(3).pending_limit(100).close_timeout(ms(100)).build().unwrap();
    let mut jobs = Vec::new();
    for i in 0..20u64 {
        let job = scheduler
            .spawn(async move {
                if i % 2 == 0 {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_secs(i)).await;
                Ok::<u64, String>(i)
            })
            .await
            .unwrap();
        jobs.push(job);
    }
    tokio::time::sleep(ms(1500)).await;
    let report = scheduler.close().await;
    assert_eq!(
        report.total()
            + jobs
                .iter()
                .filter(|j| j.outcome().is_some_and(|o| o != more_executors::jobs::Outcome::Cancelled))
                .count(),
        20
    );
    assert!(scheduler.spawn(async { Ok::<(), String>(()) }).await.is_err(), "closed");
    for (i, job) in jobs.into_iter().enumerate() {
        let out = reliability_common::bounded(job, Duration::from_secs(3600), Duration::from_secs(1))
            .await
            .unwrap_or_else(|| panic!("job {i} stayed pending after close"));
        if i == 1 {
            assert_eq!(out, Ok(1));
        } else {
            assert!(out.as_ref().is_err_and(|e| e.is_cancelled()), "job {i}: {out:?}");
        }
    }
    drop(scheduler);
    assert_eq!(drain_tasks(baseline, Duration::from_secs(1)).await, baseline, "every task ended");
}
