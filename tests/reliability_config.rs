//! Bad configuration is rejected when an executor, layer or policy is built, with a
//! `ConfigError` naming the setting and saying what to use instead: never a panic, a hang
//! or a busy loop later. One table lists every case with its exact message; the values
//! whose meaning is documented instead of rejected (a dynamic limit of 0, a pending limit
//! of 0, a per-submission timeout of 0) are checked to behave as documented.

mod reliability_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use more_executors::combinators::traverse;
use more_executors::config::secs_f64;
use more_executors::jobs::{Scheduler, WorkerPool};
use more_executors::limit::{ConcurrencyLimit, ConcurrencyLimitLayer};
use more_executors::poll::{PollDescriptor, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryBudget};
use more_executors::timeout::{Timeout, TimeoutExt, TimeoutLayer};
use reliability_common::ms;

type Poll = PollLayer<u64, u64, u64>;

fn poll_layer() -> Poll {
    PollLayer::new(|_: &mut [PollDescriptor<u64, u64, u64>]| Ok(None))
}

/// Keeps only the error of a constructor's result.
fn err<T>(r: Result<T, ConfigError>) -> Option<ConfigError> {
    r.err()
}

const NEVER_RUN: &str = "0 would never let anything run; use at least 1";
const BUSY_LOOP: &str = "a zero interval would busy-loop; use a positive duration";
const ZERO_ELAPSED: &str =
    "a zero limit would never allow a retry; use a positive duration, or max_attempts(1) for no retries";
const NAN: &str = "NaN is not a duration; give a number of seconds >= 0";

/// (case, outcome, setting, problem)
fn table() -> Vec<(&'static str, Option<ConfigError>, &'static str, String)> {
    let never_run = NEVER_RUN.to_string();
    vec![
        // Concurrency limits, every way of building one.
        (
            "limit 0 (ConcurrencyLimit::new)",
            err(ConcurrencyLimit::new(AsyncExecutor::new(), 0)),
            "concurrency limit",
            never_run.clone(),
        ),
        ("limit 0 (layer)", err(ConcurrencyLimitLayer::new(0)), "concurrency limit", never_run.clone()),
        (
            "limit 0 (builder)",
            err(ExecutorBuilder::new().concurrency_limit(0)),
            "concurrency limit",
            never_run.clone(),
        ),
        (
            "limit 0 (with_)",
            err(AsyncExecutor::new().with_concurrency_limit(0)),
            "concurrency limit",
            never_run.clone(),
        ),
        (
            "traverse concurrency 0",
            err(traverse(0..3u64, 0, Handle::<u64, ()>::ready)),
            "traverse concurrency",
            never_run.clone(),
        ),
        // Threads.
        ("thread count 0", err(BlockingPool::new(0)), "thread count", never_run.clone()),
        (
            "thread count 0 (builder)",
            err(BlockingPool::builder().threads(0).build()),
            "thread count",
            never_run.clone(),
        ),
        // Durations from floats.
        ("NaN seconds", err(secs_f64("poll interval", f64::NAN)), "poll interval", NAN.into()),
        (
            "negative seconds",
            err(secs_f64("poll interval", -1.5)),
            "poll interval",
            "-1.5 s is negative; give a number of seconds >= 0".into(),
        ),
        (
            "infinite seconds",
            err(secs_f64("poll interval", f64::INFINITY)),
            "poll interval",
            "inf s is too large to be a duration".into(),
        ),
        // Poll.
        (
            "poll interval 0",
            err(poll_layer().default_interval(Duration::ZERO)),
            "poll interval",
            BUSY_LOOP.into(),
        ),
        (
            "poll interval 0.0 s",
            err(poll_layer().default_interval_secs(0.0)),
            "poll interval",
            BUSY_LOOP.into(),
        ),
        (
            "poll interval NaN s",
            err(poll_layer().default_interval_secs(f64::NAN)),
            "poll interval",
            NAN.into(),
        ),
        (
            "poll interval -1 s",
            err(poll_layer().default_interval_secs(-1.0)),
            "poll interval",
            "-1 s is negative; give a number of seconds >= 0".into(),
        ),
        // Retry policy.
        (
            "max attempts 0",
            err(ExponentialBackoff::builder().max_attempts(0).build()),
            "retry max attempts",
            "0 would never run the job; use at least 1 (1 means no retries)".into(),
        ),
        (
            "exponent 0.5",
            err(ExponentialBackoff::builder().exponent(0.5).build()),
            "retry exponent",
            "0.5 would not grow the delays; use a finite number >= 1.0".into(),
        ),
        (
            "exponent NaN",
            err(ExponentialBackoff::builder().exponent(f64::NAN).build()),
            "retry exponent",
            "NaN would not grow the delays; use a finite number >= 1.0".into(),
        ),
        (
            "exponent inf",
            err(ExponentialBackoff::builder().exponent(f64::INFINITY).build()),
            "retry exponent",
            "inf would not grow the delays; use a finite number >= 1.0".into(),
        ),
        (
            "retry sleep -1 s",
            err(ExponentialBackoff::builder().sleep_secs(-1.0).build()),
            "retry sleep",
            "-1 s is negative; give a number of seconds >= 0".into(),
        ),
        (
            "retry sleep NaN s",
            err(ExponentialBackoff::builder().sleep_secs(f64::NAN).build()),
            "retry sleep",
            NAN.into(),
        ),
        (
            "retry max sleep NaN s",
            err(ExponentialBackoff::builder().max_sleep_secs(f64::NAN).build()),
            "retry max sleep",
            NAN.into(),
        ),
        (
            "retry max elapsed 0",
            err(ExponentialBackoff::builder().max_elapsed(Duration::ZERO).build()),
            "retry max elapsed",
            ZERO_ELAPSED.into(),
        ),
        (
            "retry max elapsed 0.0 s",
            err(ExponentialBackoff::builder().max_elapsed_secs(0.0).build()),
            "retry max elapsed",
            ZERO_ELAPSED.into(),
        ),
        (
            "retry max elapsed -1 s",
            err(ExponentialBackoff::builder().max_elapsed_secs(-1.0).build()),
            "retry max elapsed",
            "-1 s is negative; give a number of seconds >= 0".into(),
        ),
        (
            "jitter 1.5",
            err(ExponentialBackoff::builder().jitter(1.5).build()),
            "retry jitter",
            "1.5 is not a fraction; use a number from 0.0 (no jitter) to 1.0".into(),
        ),
        (
            "jitter -0.1",
            err(ExponentialBackoff::builder().jitter(-0.1).build()),
            "retry jitter",
            "-0.1 is not a fraction; use a number from 0.0 (no jitter) to 1.0".into(),
        ),
        (
            "budget ratio NaN",
            err(RetryBudget::builder().ratio(f64::NAN).build()),
            "retry budget ratio",
            "NaN is not a ratio of retries to jobs; use a number from 0.0 to 1000.0".into(),
        ),
        (
            "budget ratio -1",
            err(RetryBudget::builder().ratio(-1.0).build()),
            "retry budget ratio",
            "-1 is not a ratio of retries to jobs; use a number from 0.0 to 1000.0".into(),
        ),
        (
            "budget window 0",
            err(RetryBudget::builder().window(Duration::ZERO).build()),
            "retry budget window",
            "a zero window would remember no jobs to allow retries for; use a positive duration".into(),
        ),
        // Timeout.
        (
            "timeout 0 (layer)",
            err(TimeoutLayer::new(Duration::ZERO)),
            "timeout",
            "a zero timeout would fail every job; use a positive duration".into(),
        ),
        (
            "timeout 0 (Timeout::new)",
            err(Timeout::new(AsyncExecutor::new(), Duration::ZERO)),
            "timeout",
            "a zero timeout would fail every job; use a positive duration".into(),
        ),
        (
            "timeout 0 (with_)",
            err(AsyncExecutor::new().with_timeout(Duration::ZERO)),
            "timeout",
            "a zero timeout would fail every job; use a positive duration".into(),
        ),
        (
            "timeout 0.0 s",
            err(TimeoutLayer::from_secs_f64(0.0)),
            "timeout",
            "a zero timeout would fail every job; use a positive duration".into(),
        ),
        ("timeout NaN s", err(TimeoutLayer::from_secs_f64(f64::NAN)), "timeout", NAN.into()),
        (
            "timeout -2 s",
            err(TimeoutLayer::from_secs_f64(-2.0)),
            "timeout",
            "-2 s is negative; give a number of seconds >= 0".into(),
        ),
        // Jobs.
        (
            "scheduler limit 0",
            err(Scheduler::builder().limit(0).build()),
            "scheduler limit",
            never_run.clone(),
        ),
        (
            "scheduler set_limit(0)",
            err(Scheduler::builder().build().unwrap().set_limit(0)),
            "scheduler limit",
            never_run.clone(),
        ),
        (
            "worker pool of 0 workers",
            err(WorkerPool::new(0, 10, |i: u64| async move { Ok::<_, String>(i) })),
            "worker count",
            never_run,
        ),
    ]
}

#[tokio::test]
async fn every_bad_configuration_is_rejected_at_construction_with_its_message() {
    let table = table();
    let mut report = String::new();
    for (case, got, setting, problem) in &table {
        let e = got.as_ref().unwrap_or_else(|| panic!("{case}: accepted, must be rejected"));
        report.push_str(&format!("{case:<34} {e}\n"));
        assert_eq!(e.setting(), *setting, "{case}");
        assert_eq!(e.problem(), problem, "{case}");
        assert_eq!(e.to_string(), format!("invalid {setting}: {problem}"), "{case}");
    }
    eprintln!("{report}");
    assert!(table.len() >= 30);
}

#[tokio::test]
async fn good_values_next_to_the_bad_ones_are_accepted() {
    assert!(ConcurrencyLimit::new(AsyncExecutor::new(), 1).is_ok());
    assert!(BlockingPool::new(1).is_ok());
    assert!(poll_layer().default_interval(Duration::from_nanos(1)).is_ok());
    assert!(poll_layer().default_interval_secs(0.001).is_ok());
    assert!(
        ExponentialBackoff::builder()
            .max_attempts(1)
            .exponent(1.0)
            .jitter(1.0)
            .sleep_secs(0.0)
            .build()
            .is_ok()
    );
    assert!(RetryBudget::builder().ratio(0.0).build().is_ok());
    assert!(TimeoutLayer::from_secs_f64(1e-9).is_ok());
    assert!(Scheduler::builder().limit(1).build().is_ok());
    assert!(Scheduler::builder().unlimited().build().is_ok());
}

// ---------------------------------------------------------------------------------------
// Values with a documented meaning instead of an error
// ---------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_dynamic_limit_of_zero_is_treated_as_one_and_never_stalls() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let exec = AsyncExecutor::new().with_dynamic_concurrency_limit(|| 0).unwrap();
    let handles: Vec<_> = (0..5u64)
        .map(|i| {
            let (running, peak) = (running.clone(), peak.clone());
            exec.submit(move || async move {
                peak.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                tokio::time::sleep(ms(10)).await;
                running.fetch_sub(1, SeqCst);
                Ok::<u64, ()>(i)
            })
        })
        .collect();
    for (i, h) in (0..).zip(handles) {
        assert_eq!(h.await, Ok(i));
    }
    assert_eq!(peak.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_pending_limit_of_zero_means_no_queue_spawners_wait_for_a_slot() {
    let scheduler = Scheduler::builder().limit(1).pending_limit(0).build().unwrap();
    let first = scheduler
        .spawn(async {
            tokio::time::sleep(ms(100)).await;
            Ok::<u64, String>(1)
        })
        .await
        .unwrap();
    let t0 = tokio::time::Instant::now();
    let second = scheduler.spawn(async { Ok::<u64, String>(2) }).await.unwrap();
    assert_eq!(t0.elapsed(), ms(100), "the spawner waited for the slot instead of queueing");
    assert_eq!((first.await, second.await), (Ok(1), Ok(2)));
    scheduler.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_zero_per_submission_timeout_gives_the_job_no_time() {
    let exec = AsyncExecutor::new().with_timeout(Duration::from_secs(1)).unwrap();
    let ready = exec.submit_with_timeout(|| async { Ok::<u64, ()>(1) }, Duration::ZERO);
    assert_eq!(ready.await, Ok(1), "finished at its first poll");
    let slow = exec.submit_with_timeout(
        || async {
            tokio::task::yield_now().await;
            Ok::<u64, ()>(2)
        },
        Duration::ZERO,
    );
    assert_eq!(slow.await, Err(more_executors::Error::TimedOut(Duration::ZERO)));
}
