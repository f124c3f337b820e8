//! Panic containment: a panic in each user callback fails only the handle it concerns with
//! `Error::Panicked` (or, for a cancel function, refuses the cancel), and the executor keeps
//! serving new jobs. One test per callback: job (every base), map, flat_map, retry policy
//! (deciding and starting), poll function (sync and async), cancel function (sync and
//! async), dynamic limit, per-job timeout function, worker function, jobs scheduler job and
//! error handler. And a blocking `wait()` inside the async runtime panics with a message
//! naming the fix instead of deadlocking.

mod reliability_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use more_executors::Error;
use more_executors::jobs::{Scheduler, WorkerPool};
use more_executors::poll::{PollDescriptor, PollExt, PollLayer, Poller};
use more_executors::prelude::*;
use more_executors::retry::{Attempt, RetryDecision, RetryExt, RetryPolicy};
use more_executors::timeout::TimeoutExt;
use more_executors_test_support::quiet_expected_panics;
use reliability_common::ms;

type Out = Result<u64, Error<u64>>;

/// Calls `f` for the first `n` calls, then passes: a callback that panics `n` times.
fn panics_first(n: usize) -> impl Fn() -> bool + Clone + Send + Sync + 'static {
    let calls = Arc::new(AtomicUsize::new(0));
    move || calls.fetch_add(1, SeqCst) < n
}

fn assert_panicked(out: Out, what: &str) {
    match out {
        Err(Error::Panicked(m)) => assert!(m.contains("boom"), "{what}: panic message kept, got {m:?}"),
        other => panic!("{what}: expected Error::Panicked, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_job_fails_only_its_handle_on_every_base() {
    quiet_expected_panics();
    let asy = AsyncExecutor::new().with_timeout(Duration::from_secs(1)).unwrap();
    assert_panicked(asy.submit(|| async { panic!("boom async") }).await, "async job");
    assert_eq!(asy.submit(|| async { Ok::<u64, u64>(1) }).await, Ok(1));

    let pool = BlockingPool::new(1).unwrap().with_map(|v: u64| v);
    assert_panicked(pool.submit(|| -> Result<u64, u64> { panic!("boom blocking") }).await, "blocking job");
    assert_eq!(pool.submit(|| Ok::<u64, u64>(2)).await, Ok(2), "the only pool thread survived");

    let inline = InlineExecutor::new().with_concurrency_limit(1).unwrap();
    let h = inline.submit(|| -> Result<u64, u64> { panic!("boom inline") });
    assert_panicked(h.await, "inline job (the submitter did not unwind)");
    assert_eq!(inline.submit(|| Ok::<u64, u64>(3)).await, Ok(3));

    // A job that panics while building its future (before the first poll).
    let h = asy.submit(|| -> std::future::Ready<Result<u64, u64>> { panic!("boom building") });
    assert_panicked(h.await, "async job building its future");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_map_function_fails_only_its_handle() {
    quiet_expected_panics();
    let exec = AsyncExecutor::new()
        .with_map(|v: u64| if v == 0 { panic!("boom map") } else { v * 10 })
        .with_retry(|_: &Attempt, _: &Out| RetryDecision::Done)
        .with_timeout(Duration::from_secs(1))
        .unwrap();
    let bad = exec.submit(|| async { Ok::<u64, u64>(0) });
    let good = exec.submit(|| async { Ok::<u64, u64>(4) });
    assert_panicked(bad.await, "map");
    assert_eq!(good.await, Ok(40));
    assert_eq!(exec.submit(|| async { Ok::<u64, u64>(5) }).await, Ok(50));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_flat_map_function_fails_only_its_handle() {
    quiet_expected_panics();
    let exec = AsyncExecutor::new()
        .with_flat_map(|v: u64| {
            if v == 0 {
                panic!("boom flat_map");
            }
            async move { Ok::<u64, Error<u64>>(v + 1) }
        })
        .with_concurrency_limit(1)
        .unwrap();
    let bad = exec.submit(|| async { Ok::<u64, u64>(0) });
    let good = exec.submit(|| async { Ok::<u64, u64>(4) });
    assert_panicked(bad.await, "flat_map");
    assert_eq!(good.await, Ok(5), "the limit's slot was freed");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_retry_policy_fails_only_its_handle() {
    quiet_expected_panics();
    let runs = Arc::new(AtomicUsize::new(0));
    let policy = |a: &Attempt, r: &Out| match r {
        Ok(13) => panic!("boom policy"),
        Err(_) if a.number < 3 => RetryDecision::RetryAfter(ms(1)),
        _ => RetryDecision::Done,
    };
    let exec = AsyncExecutor::new().with_retry(policy);
    let r = runs.clone();
    let bad = exec.submit(move || {
        r.fetch_add(1, SeqCst);
        async { Ok::<u64, u64>(13) }
    });
    assert_panicked(bad.await, "retry policy deciding");
    assert_eq!(runs.load(SeqCst), 1, "no retry after the policy panicked");
    assert_eq!(exec.submit(|| async { Ok::<u64, u64>(1) }).await, Ok(1));
    assert_eq!(exec.submit(|| async { Err::<u64, u64>(2) }).await, Err(Error::Job(2)), "retries go on");
}

#[tokio::test(start_paused = true)]
async fn a_retry_policy_panicking_when_a_job_starts_fails_only_that_handle() {
    quiet_expected_panics();
    struct PanicsAtStart(Arc<dyn Fn() -> bool + Send + Sync>);
    impl RetryPolicy<u64, u64> for PanicsAtStart {
        type State = ();
        fn start(&self) {
            if (self.0)() {
                panic!("boom policy start");
            }
        }
        fn decide(&self, _: &mut (), _: &Attempt, _: &Out) -> RetryDecision {
            RetryDecision::Done
        }
    }
    let exec = AsyncExecutor::new().with_retry(PanicsAtStart(Arc::new(panics_first(1))));
    assert_panicked(exec.submit(|| async { Ok::<u64, u64>(1) }).await, "retry policy starting");
    assert_eq!(exec.submit(|| async { Ok::<u64, u64>(2) }).await, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_poll_function_fails_the_futures_of_that_call_and_polling_goes_on() {
    quiet_expected_panics();
    let boom = panics_first(1);
    let layer = PollLayer::new(move |ds: &mut [PollDescriptor<u64, u64, u64>]| {
        if boom() {
            panic!("boom poll");
        }
        for d in ds.iter_mut() {
            let v = *d.input();
            d.yield_result(v);
        }
        Ok(Some(ms(10)))
    })
    .first_poll_delay(Duration::ZERO)
    .default_interval(ms(10))
    .unwrap();
    let exec = AsyncExecutor::new().with_poll(layer);
    let (a, b) = (exec.submit(|| async { Ok::<u64, u64>(1) }), exec.submit(|| async { Ok::<u64, u64>(2) }));
    assert_panicked(a.await, "poll function");
    assert_panicked(b.await, "poll function (same call)");
    assert_eq!(exec.submit(|| async { Ok::<u64, u64>(3) }).await, Ok(3), "the next poll serves new jobs");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_async_poller_fails_the_futures_of_that_call_and_polling_goes_on() {
    quiet_expected_panics();
    struct Flaky(Arc<dyn Fn() -> bool + Send + Sync>);
    #[more_executors::poll::async_trait]
    impl Poller<u64, u64, u64> for Flaky {
        async fn poll(&self, ds: &mut [PollDescriptor<u64, u64, u64>]) -> Result<Option<Duration>, u64> {
            tokio::task::yield_now().await;
            if (self.0)() {
                panic!("boom poller");
            }
            for d in ds.iter_mut() {
                let v = *d.input();
                d.yield_result(v);
            }
            Ok(Some(ms(10)))
        }
    }
    let layer = PollLayer::with_poller(Flaky(Arc::new(panics_first(1))))
        .first_poll_delay(Duration::ZERO)
        .default_interval(ms(10))
        .unwrap();
    let exec = AsyncExecutor::new().with_poll(layer);
    assert_panicked(exec.submit(|| async { Ok::<u64, u64>(1) }).await, "async poller");
    assert_eq!(exec.submit(|| async { Ok::<u64, u64>(3) }).await, Ok(3));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_cancel_function_refuses_the_cancel() {
    quiet_expected_panics();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rel = released.clone();
    let layer = PollLayer::new(move |ds: &mut [PollDescriptor<u64, u64, u64>]| {
        if rel.load(SeqCst) {
            for d in ds.iter_mut() {
                let v = *d.input();
                d.yield_result(v);
            }
        }
        Ok(Some(ms(10)))
    })
    .first_poll_delay(Duration::ZERO)
    .cancel_fn(|input: &u64| if *input == 0 { panic!("boom cancel") } else { Ok(true) });
    let exec = AsyncExecutor::new().with_poll(layer);
    let h = exec.submit(|| async { Ok::<u64, u64>(0) });
    tokio::time::sleep(ms(5)).await; // in the poll set now
    assert!(!h.cancel(), "a panicking cancel function refuses");
    assert!(!h.is_done() && !h.is_cancelled(), "the future is untouched");
    let other = exec.submit(|| async { Ok::<u64, u64>(7) });
    tokio::time::sleep(ms(5)).await;
    assert!(other.cancel(), "the cancel function still serves other futures");
    released.store(true, SeqCst);
    assert_eq!(h.await, Ok(0), "the refused future is resolved by the poll");
    assert_eq!(other.await, Err(Error::Cancelled));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_async_cancel_function_refuses_the_cancel() {
    quiet_expected_panics();
    let layer = PollLayer::new(|_: &mut [PollDescriptor<u64, u64, u64>]| Ok(Some(ms(10))))
        .first_poll_delay(Duration::ZERO)
        .async_cancel_fn(|input: &u64| {
            let v = *input;
            async move {
                tokio::task::yield_now().await;
                if v == 0 {
                    panic!("boom async cancel");
                }
                Ok(true)
            }
        });
    let exec = AsyncExecutor::new().with_poll(layer.clone());
    let h = exec.submit(|| async { Ok::<u64, u64>(0) });
    let other = exec.submit(|| async { Ok::<u64, u64>(1) });
    tokio::time::sleep(ms(5)).await;
    assert!(!h.cancel_async().await, "a panicking async cancel function refuses");
    assert!(!h.is_done());
    assert!(other.cancel_async().await, "the cancel function still serves other futures");
    exec.shutdown();
    assert_eq!(h.await, Err(Error::ShutDown));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_dynamic_limit_fails_only_the_job_that_asked() {
    quiet_expected_panics();
    // Call 0 is at construction; call 1 decides the first job's slot.
    let calls = AtomicUsize::new(0);
    let exec = AsyncExecutor::new()
        .with_dynamic_concurrency_limit(move || {
            if calls.fetch_add(1, SeqCst) == 1 {
                panic!("boom limit");
            }
            2
        })
        .unwrap();
    assert_panicked(exec.submit(|| async { Ok::<u64, u64>(1) }).await, "dynamic limit");
    let hs: Vec<_> = (0..5u64).map(|i| exec.submit(move || async move { Ok::<u64, u64>(i) })).collect();
    for (i, h) in (0..).zip(hs) {
        assert_eq!(h.await, Ok(i));
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_per_job_timeout_function_fails_only_that_job_without_running_it() {
    quiet_expected_panics();
    let ran = Arc::new(AtomicUsize::new(0));
    type Job = (u64, Arc<AtomicUsize>);
    struct Run(Runtime);
    impl Lifecycle for Run {
        fn name(&self) -> &str {
            "run"
        }
        fn kind(&self) -> &'static str {
            "run"
        }
        fn runtime(&self) -> &Runtime {
            &self.0
        }
        fn shutdown(&self) {}
    }
    impl Executor<Job> for Run {
        type Future = std::future::Ready<Out>;
        fn call(&self, (v, ran): Job, _: &more_executors::stage::JobContext) -> Self::Future {
            ran.fetch_add(1, SeqCst);
            std::future::ready(Ok(v))
        }
    }
    let exec = Run(Runtime::current_or_owned())
        .with_timeout_per_job(|(v, _): &Job| if *v == 0 { panic!("boom timeout fn") } else { ms(*v) });
    assert_panicked(exec.submit((0, ran.clone())).await, "per-job timeout function");
    assert_eq!(ran.load(SeqCst), 0, "the job did not run");
    assert_eq!(exec.submit((5, ran.clone())).await, Ok(5));
    assert_eq!(ran.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_worker_function_fails_only_that_item() {
    quiet_expected_panics();
    let pool = WorkerPool::new(1, 10, |item: u64| {
        if item == 0 {
            panic!("boom worker");
        }
        async move { Ok::<u64, String>(item * 2) }
    })
    .unwrap();
    let bad = pool.submit(0);
    let good = pool.submit(4);
    match bad.await {
        Err(Error::Panicked(m)) => assert!(m.contains("boom worker"), "{m}"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(good.await, Ok(8), "the single worker keeps serving");
    pool.close().await;
}

fn boom_job(msg: &str) -> Result<u64, String> {
    panic!("{msg}")
}

#[tokio::test(start_paused = true)]
async fn a_panicking_scheduler_job_fails_only_its_job() {
    quiet_expected_panics();
    let failures = Arc::new(AtomicUsize::new(0));
    let f = failures.clone();
    let scheduler = Scheduler::builder()
        .limit(1)
        .error_handler(move |_| {
            f.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    let bad = scheduler.spawn(async { boom_job("boom job") }).await.unwrap();
    let good = scheduler.spawn(async { Ok::<u64, String>(1) }).await.unwrap();
    match bad.await {
        Err(Error::Panicked(m)) => assert!(m.contains("boom job")),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(good.await, Ok(1), "the slot was freed");
    // A detached job's panic goes to the handler, once.
    drop(scheduler.spawn(async { boom_job("boom detached") }).await.unwrap());
    scheduler.idle().await;
    assert_eq!(failures.load(SeqCst), 1);
    scheduler.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_error_handler_is_contained() {
    quiet_expected_panics();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let scheduler = Scheduler::builder()
        .limit(2)
        .error_handler(move |f| {
            if c.fetch_add(1, SeqCst) == 0 {
                panic!("boom handler for {}", f.message());
            }
        })
        .build()
        .unwrap();
    drop(scheduler.spawn(async { Err::<(), String>("first".into()) }).await.unwrap());
    scheduler.idle().await;
    drop(scheduler.spawn(async { Err::<(), String>("second".into()) }).await.unwrap());
    scheduler.idle().await;
    assert_eq!(calls.load(SeqCst), 2, "the handler is still called after it panicked");
    let job = scheduler.spawn(async { Ok::<u64, String>(5) }).await.unwrap();
    assert_eq!(job.await, Ok(5), "the scheduler keeps serving");
    let report = scheduler.close().await;
    assert_eq!(report.total(), 0);
}

// ---------------------------------------------------------------------------------------
// Blocking waits inside the runtime
// ---------------------------------------------------------------------------------------

/// Runs `f` (which must panic) and returns its panic message.
fn panic_message(f: impl FnOnce()) -> String {
    more_executors::stage::catch_panic(f).expect_err("must panic, not block").message().to_string()
}

fn assert_names_the_fix(msg: &str) {
    assert!(msg.contains("deadlock"), "says why: {msg}");
    assert!(msg.contains(".await"), "names the async fix: {msg}");
    assert!(msg.contains("spawn_blocking"), "names the blocking fix: {msg}");
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_wait_inside_a_current_thread_runtime_panics_naming_the_fix() {
    let exec = AsyncExecutor::new().with_retry(|_: &Attempt, _: &Out| RetryDecision::Done);
    let h = exec.submit(std::future::pending::<Result<u64, u64>>);
    let c = h.canceller();
    assert_names_the_fix(&panic_message(|| drop(h.wait())));
    let mut h2 = exec.submit(std::future::pending::<Result<u64, u64>>);
    assert_names_the_fix(&panic_message(|| drop(h2.wait_timeout(ms(10)))));
    assert_names_the_fix(&panic_message(|| exec.runtime().wait_shutdown_blocking()));
    // The executor still works, and the handles can be cancelled.
    assert!(c.cancel() && h2.cancel());
    assert_eq!(exec.submit(|| async { Ok::<u64, u64>(1) }).await, Ok(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_wait_inside_a_multi_thread_runtime_panics_naming_the_fix() {
    let exec = AsyncExecutor::new();
    let h = exec.submit(|| async { Ok::<u64, u64>(1) });
    assert_names_the_fix(&panic_message(|| drop(h.wait())));
    // Inside a spawned task too: that task fails with the message, the runtime goes on.
    let h = exec.submit(std::future::pending::<Result<u64, u64>>);
    let task = tokio::spawn(async move { h.wait() });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    let msg = err.into_panic();
    assert_names_the_fix(msg.downcast_ref::<String>().map(String::as_str).unwrap_or_default());
    // The right way: move the blocking wait to a blocking thread.
    let h = exec.submit(|| async { Ok::<u64, u64>(2) });
    assert_eq!(tokio::task::spawn_blocking(move || h.wait()).await.unwrap(), Ok(2));
}

#[tokio::test(flavor = "current_thread")]
async fn a_blocking_cancel_with_an_async_cancel_function_inside_the_runtime_panics_naming_the_fix() {
    let layer = PollLayer::new(|_: &mut [PollDescriptor<u64, u64, u64>]| Ok(Some(ms(10))))
        .first_poll_delay(Duration::ZERO)
        .async_cancel_fn(|_: &u64| async { Ok(true) });
    let exec = AsyncExecutor::new().with_poll(layer);
    let h = exec.submit(|| async { Ok::<u64, u64>(0) });
    tokio::time::sleep(ms(5)).await;
    assert_names_the_fix(&panic_message(|| {
        h.cancel();
    }));
    assert!(h.cancel_async().await, "the async way works");
}

/// Regression: two cancel requests decided asynchronously at the same time. The first
/// approved decision cancels the job; the second must agree (it answered false before the
/// fix, while the handle resolved `Cancelled`). The same holds for a request whose
/// requester stopped waiting (a dropped `cancel_async()`, a blocking `cancel()` that
/// panicked): the approved decision still cancels, and later requests say so.
#[tokio::test(start_paused = true)]
async fn concurrent_async_cancels_of_one_job_agree() {
    let layer = PollLayer::new(|_: &mut [PollDescriptor<u64, u64, u64>]| Ok(Some(ms(10))))
        .first_poll_delay(Duration::ZERO)
        .async_cancel_fn(|_: &u64| async {
            tokio::time::sleep(ms(10)).await;
            Ok(true)
        });
    let exec = AsyncExecutor::new().with_poll(layer);
    let h = exec.submit(|| async { Ok::<u64, u64>(0) });
    tokio::time::sleep(ms(5)).await;
    let (a, b) = tokio::join!(h.cancel_async(), h.cancel_async());
    assert!(a && b, "concurrent cancels disagree: {a} {b}");
    assert!(h.cancel());
    assert_eq!(h.await, Err(Error::Cancelled));

    // A requester that gives up: the approved decision still cancels the job.
    let h = exec.submit(|| async { Ok::<u64, u64>(1) });
    tokio::time::sleep(ms(5)).await;
    tokio::select! {
        biased;
        _ = h.cancel_async() => panic!("the decision takes 10 ms"),
        _ = tokio::time::sleep(ms(1)) => {}
    }
    tokio::time::sleep(ms(20)).await;
    assert!(h.cancel_async().await, "a later cancel agrees: the job is cancelled");
    assert_eq!(h.await, Err(Error::Cancelled));
}
