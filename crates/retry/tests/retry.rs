//! Behaviour of the retry layer: delays, attempt counts, the error filter, cancel rules,
//! shutdown, the budget, and the two orders with a concurrency limit.

use std::collections::VecDeque;
use std::future::{Future, Ready};
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use more_executors_core::prelude::*;
use more_executors_core::stage::JobContext;
use more_executors_retry::{
    Attempt, ExponentialBackoff, RetryBudget, RetryBuilderExt, RetryDecision, RetryExt, RetryLayer,
    RetryPolicy, Schedule,
};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

/// A job that fails its first `fail_first` attempts (with the attempt number), then
/// succeeds with the attempt number; it records when each attempt started.
#[derive(Clone)]
struct Flaky {
    calls: Arc<AtomicU32>,
    starts: Arc<Mutex<Vec<Instant>>>,
    fail_first: u32,
    work: Duration,
}

impl Flaky {
    fn new(fail_first: u32) -> Self {
        Flaky { calls: Arc::default(), starts: Arc::default(), fail_first, work: Duration::ZERO }
    }

    fn working(mut self, work: Duration) -> Self {
        self.work = work;
        self
    }

    fn job(
        &self,
    ) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Result<u32, u32>> + Send>> + Clone + Send + 'static
    {
        let this = self.clone();
        move || {
            let n = this.calls.fetch_add(1, SeqCst) + 1;
            this.starts.lock().unwrap().push(Instant::now());
            let (fail, work) = (n <= this.fail_first, this.work);
            Box::pin(async move {
                if !work.is_zero() {
                    tokio::time::sleep(work).await;
                }
                if fail { Err(n) } else { Ok(n) }
            })
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(SeqCst)
    }

    /// Start times of the attempts relative to `t0`.
    fn offsets(&self, t0: Instant) -> Vec<Duration> {
        self.starts.lock().unwrap().iter().map(|t| *t - t0).collect()
    }
}

fn backoff(max_attempts: u32) -> ExponentialBackoff {
    ExponentialBackoff::builder().max_attempts(max_attempts).build().unwrap()
}

#[tokio::test(start_paused = true)]
async fn attempts_follow_the_exponential_schedule_exactly() {
    let exec = AsyncExecutor::new().with_retry(backoff(5));
    let flaky = Flaky::new(u32::MAX);
    let t0 = Instant::now();
    let out = exec.submit(flaky.job()).await;
    assert_eq!(out, Err(Error::Job(5)), "the last attempt's error");
    assert_eq!(flaky.offsets(t0), [S(0), S(1), S(3), S(7), S(15)]);
    assert_eq!(t0.elapsed(), S(15), "resolved as soon as the last attempt failed");
}

#[tokio::test(start_paused = true)]
async fn default_policy_makes_three_attempts_one_and_two_seconds_apart() {
    let exec = AsyncExecutor::new().with_retry(ExponentialBackoff::new());
    let flaky = Flaky::new(u32::MAX);
    let t0 = Instant::now();
    assert_eq!(exec.submit(flaky.job()).await, Err(Error::Job(3)));
    assert_eq!(flaky.offsets(t0), [S(0), S(1), S(3)]);
}

#[tokio::test(start_paused = true)]
async fn a_later_success_ends_the_job() {
    let exec = AsyncExecutor::new().with_retry(backoff(5));
    let flaky = Flaky::new(2);
    let t0 = Instant::now();
    assert_eq!(exec.submit(flaky.job()).await, Ok(3));
    assert_eq!(flaky.calls(), 3);
    assert_eq!(t0.elapsed(), S(3));
}

#[tokio::test(start_paused = true)]
async fn the_policy_sees_attempt_numbers_elapsed_times_and_outcomes() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let policy = move |a: &Attempt, r: &Result<u32, Error<u32>>| {
        s.lock().unwrap().push((a.number, a.elapsed(), r.clone()));
        if a.number < 3 { RetryDecision::RetryAfter(MS(250)) } else { RetryDecision::Done }
    };
    let exec = AsyncExecutor::new().with_retry(policy);
    let flaky = Flaky::new(1).working(MS(100));
    assert_eq!(exec.submit(flaky.job()).await, Ok(3), "a policy may retry successes too");
    assert_eq!(
        *seen.lock().unwrap(),
        [(1, MS(100), Err(Error::Job(1))), (2, MS(450), Ok(2)), (3, MS(800), Ok(3))]
    );
}

#[tokio::test(start_paused = true)]
async fn the_error_filter_decides_which_errors_are_retried() {
    let policy = ExponentialBackoff::builder()
        .max_attempts(5)
        .retry_if(|e: &Error<u32>| e.job_error().is_some_and(|n| n % 2 == 1))
        .build()
        .unwrap();
    let exec = AsyncExecutor::new().with_retry(policy);
    let flaky = Flaky::new(u32::MAX);
    // Attempt 1 fails with 1 (odd: retried), attempt 2 with 2 (even: final).
    assert_eq!(exec.submit(flaky.job()).await, Err(Error::Job(2)));
    assert_eq!(flaky.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_stops_retries_that_would_start_too_late() {
    let policy = ExponentialBackoff::builder().max_attempts(10).max_elapsed(S(5)).build().unwrap();
    let exec = AsyncExecutor::new().with_retry(policy);
    let flaky = Flaky::new(u32::MAX);
    let t0 = Instant::now();
    assert_eq!(exec.submit(flaky.job()).await, Err(Error::Job(3)));
    assert_eq!(flaky.offsets(t0), [S(0), S(1), S(3)], "a 4th attempt would start at 7 s > 5 s");
}

#[tokio::test(start_paused = true)]
async fn jittered_delays_stay_within_bounds() {
    let policy = ExponentialBackoff::builder().max_attempts(4).jitter(0.5).build().unwrap();
    let exec = AsyncExecutor::new().with_retry(policy);
    for _ in 0..20 {
        let flaky = Flaky::new(u32::MAX);
        let t0 = Instant::now();
        exec.submit(flaky.job()).await.unwrap_err();
        let at = flaky.offsets(t0);
        let gaps: Vec<_> = at.windows(2).map(|w| w[1] - w[0]).collect();
        for (gap, full) in gaps.iter().zip([S(1), S(2), S(4)]) {
            assert!(*gap >= full / 2 && *gap <= full, "{gap:?} not in [{:?}, {full:?}]", full / 2);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_iterator_schedule_and_a_backon_builder_give_the_delays() {
    let exec = AsyncExecutor::new().with_retry(Schedule::new(|| [S(1), S(5)]));
    let flaky = Flaky::new(u32::MAX);
    let t0 = Instant::now();
    assert_eq!(exec.submit(flaky.job()).await, Err(Error::Job(3)));
    assert_eq!(flaky.offsets(t0), [S(0), S(1), S(6)], "the iterator ran out after two delays");

    use backon::BackoffBuilder;
    let builder =
        backon::ExponentialBuilder::default().with_min_delay(MS(100)).with_factor(2.0).with_max_times(2);
    let exec = AsyncExecutor::new().with_retry(Schedule::new(move || builder.build()));
    let flaky = Flaky::new(u32::MAX);
    let t0 = Instant::now();
    exec.submit(flaky.job()).await.unwrap_err();
    let at = flaky.offsets(t0);
    assert_eq!(at.len(), 3, "two retries");
    assert_eq!(at[1], MS(100));
    // backon computes in floating point; tokio rounds a deadline up to the millisecond.
    assert!(at[2] - at[1] >= MS(200) && at[2] - at[1] <= MS(201), "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn each_job_gets_a_fresh_schedule() {
    let exec = AsyncExecutor::new().with_retry(Schedule::new(|| std::iter::once(S(1))));
    for _ in 0..3 {
        let flaky = Flaky::new(u32::MAX);
        assert_eq!(exec.submit(flaky.job()).await, Err(Error::Job(2)));
    }
}

type Outcome = Result<u32, Error<u32>>;

/// An executor whose attempts resolve to scripted outcomes (for outcomes a real job cannot
/// produce by itself, such as an attempt cancelled by someone else).
#[derive(Clone)]
struct Scripted {
    script: Arc<Mutex<VecDeque<Outcome>>>,
    calls: Arc<AtomicU32>,
    runtime: Runtime,
}

impl Scripted {
    fn new(script: impl IntoIterator<Item = Outcome>) -> Self {
        Scripted {
            script: Arc::new(Mutex::new(script.into_iter().collect())),
            calls: Arc::default(),
            runtime: Runtime::current_or_owned(),
        }
    }
}

impl Lifecycle for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn kind(&self) -> &'static str {
        "scripted"
    }
    fn runtime(&self) -> &Runtime {
        &self.runtime
    }
    fn shutdown(&self) {
        self.runtime.shutdown()
    }
}

impl Executor<()> for Scripted {
    type Future = Ready<Result<u32, Error<u32>>>;

    fn call(&self, _: (), _: &JobContext) -> Self::Future {
        self.calls.fetch_add(1, SeqCst);
        std::future::ready(self.script.lock().unwrap().pop_front().unwrap_or(Ok(0)))
    }
}

fn always_retry(_: &Attempt, _: &Result<u32, Error<u32>>) -> RetryDecision {
    RetryDecision::RetryAfter(S(1))
}

#[tokio::test(start_paused = true)]
async fn cancelled_and_shut_down_attempts_are_final_whatever_the_policy() {
    let inner = Scripted::new([Err(Error::Job(1)), Err(Error::Cancelled)]);
    let exec = inner.clone().with_retry(always_retry);
    let h = exec.submit(());
    assert_eq!(h.await, Err(Error::Cancelled), "an attempt cancelled by someone else cancels the job");
    assert_eq!(inner.calls.load(SeqCst), 2);

    let inner = Scripted::new([Err(Error::ShutDown)]);
    let exec = inner.clone().with_retry(always_retry);
    assert_eq!(exec.submit(()).await, Err(Error::ShutDown));
    assert_eq!(inner.calls.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_cancelled_by_someone_else_leaves_the_handle_cancelled() {
    let inner = Scripted::new([Err(Error::Cancelled)]);
    let exec = inner.with_retry(always_retry);
    let h = exec.submit(());
    let c = h.canceller();
    assert!(h.await.unwrap_err().is_cancelled());
    assert!(c.is_cancelled(), "the handle reports cancelled, not failed");
}

#[tokio::test(start_paused = true)]
async fn panics_timeouts_and_job_errors_are_retried_by_default() {
    let inner = Scripted::new([
        Err(Error::Panicked("boom".into())),
        Err(Error::TimedOut(S(1))),
        Err(Error::Job(7)),
        Ok(9),
    ]);
    let exec = inner.clone().with_retry(backoff(4));
    assert_eq!(exec.submit(()).await, Ok(9));
    assert_eq!(inner.calls.load(SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_policy_fails_the_job() {
    let policy = |_: &Attempt, _: &Result<u32, Error<u32>>| -> RetryDecision { panic!("policy bug") };
    let exec = AsyncExecutor::new().with_retry(policy);
    let flaky = Flaky::new(u32::MAX);
    assert_eq!(exec.submit(flaky.job()).await, Err(Error::Panicked("policy bug".into())), "no retry");
    assert_eq!(flaky.calls(), 1);

    struct PanicsAtStart;
    impl RetryPolicy<u32, u32> for PanicsAtStart {
        type State = ();
        fn start(&self) {
            panic!("cannot start")
        }
        fn decide(&self, _: &mut (), _: &Attempt, _: &Result<u32, Error<u32>>) -> RetryDecision {
            RetryDecision::RetryAfter(S(1))
        }
    }
    let exec = AsyncExecutor::new().with_retry(PanicsAtStart);
    let flaky = Flaky::new(u32::MAX);
    assert_eq!(exec.submit(flaky.job()).await, Err(Error::Panicked("cannot start".into())));
    assert_eq!(flaky.calls(), 1, "start runs before the first decision: no second attempt");
}

#[tokio::test(start_paused = true)]
async fn a_zero_delay_retries_without_time_passing() {
    let policy = |a: &Attempt, r: &Result<u32, Error<u32>>| match r {
        Err(_) if a.number < 4 => RetryDecision::RetryAfter(Duration::ZERO),
        _ => RetryDecision::Done,
    };
    let exec = AsyncExecutor::new().with_retry(policy);
    let flaky = Flaky::new(u32::MAX);
    let t0 = Instant::now();
    assert_eq!(exec.submit(flaky.job()).await, Err(Error::Job(4)));
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

/// Zero-delay retries start at once while the task has budget, but a policy that never
/// stops does not hold the thread: other tasks on a single-threaded runtime still run, and
/// the job can be cancelled between attempts.
#[tokio::test(flavor = "current_thread")]
async fn endless_zero_delay_retries_do_not_hold_the_thread() {
    let policy = |_: &Attempt, _: &Result<u32, Error<u32>>| RetryDecision::RetryAfter(Duration::ZERO);
    let exec = AsyncExecutor::new().with_retry(policy);
    let flaky = Flaky::new(u32::MAX);
    let h = exec.submit(flaky.job());
    let other = tokio::spawn(async { 7 });
    assert_eq!(other.await.unwrap(), 7, "another task ran while the retries went on");
    let seen = flaky.calls();
    assert!(seen > 1, "several attempts ran before the other task: {seen}");
    tokio::task::yield_now().await;
    assert!(flaky.calls() > seen, "the retries go on between the other tasks' turns");
    assert!(h.cancel(), "cancel between attempts succeeds");
    assert!(h.await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn cancel_while_waiting_succeeds_at_once_and_no_attempt_follows() {
    let exec = AsyncExecutor::new().with_retry(backoff(5));
    let flaky = Flaky::new(u32::MAX);
    let h = exec.submit(flaky.job());
    tokio::time::sleep(MS(500)).await; // attempt 1 failed at 0 s; the retry is due at 1 s
    assert_eq!(exec.waiting(), 1);
    assert!(h.cancel(), "cancel during the wait succeeds");
    assert!(h.is_done());
    tokio::time::sleep(S(60)).await;
    assert_eq!(flaky.calls(), 1, "no further attempt started");
    assert_eq!(exec.waiting(), 0, "the waiting job was dropped");
    assert!(h.await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn cancel_during_an_async_attempt_goes_to_the_inner_stage() {
    let exec = AsyncExecutor::new().with_retry(backoff(5));
    let flaky = Flaky::new(u32::MAX).working(S(10));
    let h = exec.submit(flaky.job());
    tokio::time::sleep(S(1)).await;
    assert!(h.cancel());
    tokio::time::sleep(S(60)).await;
    assert_eq!(flaky.calls(), 1);
    assert!(h.await.unwrap_err().is_cancelled());
}

type Started = tokio::sync::mpsc::UnboundedReceiver<()>;
type Go = std::sync::mpsc::Sender<()>;

/// A blocking job that signals when it starts and waits for the test's go-ahead; attempt
/// `n` fails with `n`.
fn gated_blocking_job(
    calls: Arc<AtomicU32>,
) -> (impl FnOnce() -> Result<u32, u32> + Clone + Send + 'static, Started, Go) {
    let (started_tx, started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = Arc::new(Mutex::new(go_rx));
    let job = move || {
        let n = calls.fetch_add(1, SeqCst) + 1;
        started_tx.send(()).unwrap();
        go_rx.lock().unwrap().recv().unwrap();
        Err(n)
    };
    (job, started_rx, go_tx)
}

#[tokio::test(start_paused = true)]
async fn a_refused_cancel_during_a_blocking_attempt_makes_its_outcome_final() {
    let policy = ExponentialBackoff::builder().max_attempts(3).sleep(MS(10)).build().unwrap();

    // Control: without a cancel, the blocking job is retried.
    let calls = Arc::new(AtomicU32::new(0));
    let (job, mut started, go) = gated_blocking_job(calls.clone());
    let exec = BlockingPool::new(1).unwrap().with_retry(policy.clone());
    let h = exec.submit(job);
    for _ in 0..3 {
        started.recv().await.unwrap();
        go.send(()).unwrap();
    }
    assert_eq!(h.await, Err(Error::Job(3)));

    // With a refused cancel during attempt 1: no retry.
    let calls = Arc::new(AtomicU32::new(0));
    let (job, mut started, go) = gated_blocking_job(calls.clone());
    let exec = BlockingPool::new(1).unwrap().with_retry(policy);
    let h = exec.submit(job);
    started.recv().await.unwrap();
    assert!(!h.cancel(), "a running blocking job refuses the cancel");
    go.send(()).unwrap();
    assert_eq!(h.await, Err(Error::Job(1)), "the running attempt's outcome is final");
    assert_eq!(calls.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_waiting_jobs_with_the_shut_down_error_at_once() {
    let exec = AsyncExecutor::new().with_retry(backoff(5));
    let flaky = Flaky::new(u32::MAX);
    let h = exec.submit(flaky.job());
    tokio::time::sleep(MS(100)).await;
    assert_eq!(exec.waiting(), 1);
    let t0 = Instant::now();
    exec.shutdown();
    assert_eq!(h.await, Err(Error::ShutDown));
    assert_eq!(t0.elapsed(), Duration::ZERO, "not at the end of the delay");
    assert_eq!(flaky.calls(), 1);
    assert_eq!(exec.waiting(), 0);
    assert!(exec.submit(flaky.job()).await.unwrap_err().is_shut_down(), "new jobs are refused");
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_an_attempt_ends_the_job_instead_of_retrying() {
    let exec = AsyncExecutor::new().with_retry(backoff(5));
    let flaky = Flaky::new(u32::MAX).working(S(1));
    let h = exec.submit(flaky.job());
    tokio::time::sleep(MS(500)).await;
    exec.shutdown();
    assert_eq!(h.await, Err(Error::ShutDown));
    assert_eq!(flaky.calls(), 1, "the running attempt finished; no other started");

    // A job whose attempt succeeds after shutdown keeps its value.
    let exec = AsyncExecutor::new().with_retry(backoff(5));
    let flaky = Flaky::new(0).working(S(1));
    let h = exec.submit(flaky.job());
    tokio::time::sleep(MS(500)).await;
    exec.shutdown();
    assert_eq!(h.await, Ok(1));
}

/// An executor other code also uses: shutting down a layer stacked on it leaves it (and
/// its runtime) running.
#[derive(Clone)]
struct SharedInner(AsyncExecutor);

impl Lifecycle for SharedInner {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn kind(&self) -> &'static str {
        "shared"
    }
    fn runtime(&self) -> &Runtime {
        self.0.runtime()
    }
    fn shutdown(&self) {}
}

impl<J> Executor<J> for SharedInner
where
    AsyncExecutor: Executor<J>,
{
    type Future = <AsyncExecutor as Executor<J>>::Future;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        self.0.call(job, ctx)
    }
}

#[tokio::test(start_paused = true)]
async fn the_layers_own_shutdown_ends_retrying_when_the_inner_executor_keeps_running() {
    // Retried at once (no delay): nothing waits on the layer's shutdown signal, so only the
    // check between attempts can stop the next one.
    let policy = ExponentialBackoff::builder().max_attempts(5).sleep(Duration::ZERO).build().unwrap();
    let exec = SharedInner(AsyncExecutor::new()).with_retry(policy);
    let flaky = Flaky::new(u32::MAX).working(S(1));
    let h = exec.submit(flaky.job());
    tokio::time::sleep(MS(500)).await;
    exec.shutdown();
    assert!(!exec.get_ref().runtime().is_shut_down(), "the inner executor's runtime keeps running");
    assert_eq!(h.await, Err(Error::ShutDown), "the attempt in flight was the last");
    assert_eq!(flaky.calls(), 1, "no attempt started after the retry layer's shutdown");
}

#[tokio::test(start_paused = true)]
async fn the_budget_caps_retries_across_the_executor() {
    let budget = RetryBudget::builder().ratio(0.5).min_per_sec(0).build().unwrap();
    let exec = AsyncExecutor::new().with_layer(RetryLayer::new(backoff(3)).budget(budget.clone()));
    let jobs: Vec<_> = (0..4).map(|_| Flaky::new(u32::MAX)).collect();
    let handles: Vec<_> = jobs.iter().map(|f| exec.submit(f.job())).collect();
    for h in handles {
        h.await.unwrap_err();
    }
    let attempts: u32 = jobs.iter().map(Flaky::calls).sum();
    assert_eq!(attempts, 4 + 2, "4 jobs deposit half a retry each: 2 retries in all");
    assert_eq!(budget.available(), 0);

    // The budget refills as the window slides.
    tokio::time::sleep(S(11)).await;
    let flaky = Flaky::new(u32::MAX);
    exec.submit(flaky.job()).await.unwrap_err();
    assert_eq!(flaky.calls(), 1, "one fresh deposit of 0.5 is not a whole retry");
    let f2 = Flaky::new(u32::MAX);
    exec.submit(f2.job()).await.unwrap_err();
    assert_eq!(f2.calls(), 2, "two deposits make one retry");
}

#[tokio::test(start_paused = true)]
async fn a_limit_inside_the_retry_counts_attempts() {
    // pool.with_concurrency_limit(1).with_retry(..): a job waiting between attempts holds
    // no slot, so the second job runs during the first one's delay.
    let limited = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let exec = limited.clone().with_retry(backoff(3));
    let a = Flaky::new(1);
    let b = Flaky::new(0).working(MS(500));
    let t0 = Instant::now();
    let ha = exec.submit(a.job());
    let hb = exec.submit(b.job());
    tokio::time::sleep(MS(100)).await;
    assert_eq!(exec.waiting(), 1, "a waits for its retry");
    assert_eq!(limited.in_flight(), 1, "b holds the only slot");
    assert_eq!(hb.await, Ok(1));
    assert_eq!(t0.elapsed(), MS(500), "b ran during a's delay");
    assert_eq!(ha.await, Ok(2));
    assert_eq!(a.offsets(t0), [S(0), S(1)]);
}

#[tokio::test(start_paused = true)]
async fn a_limit_outside_the_retry_counts_whole_jobs() {
    // pool.with_retry(..).with_concurrency_limit(1): a retrying job keeps its slot through
    // its delays, so the second job waits for all of it.
    let exec = AsyncExecutor::new().with_retry(backoff(3)).with_concurrency_limit(1).unwrap();
    let a = Flaky::new(1);
    let b = Flaky::new(0).working(MS(500));
    let t0 = Instant::now();
    let ha = exec.submit(a.job());
    let hb = exec.submit(b.job());
    tokio::time::sleep(MS(100)).await;
    assert_eq!(exec.in_flight(), 1);
    assert_eq!(exec.queued(), 1, "b is queued behind a's whole retrying job");
    assert_eq!(ha.await, Ok(2));
    assert_eq!(hb.await, Ok(1));
    assert_eq!(t0.elapsed(), MS(1500), "b started only when a finished at 1 s");
    assert_eq!(b.offsets(t0), [S(1)]);
}

#[tokio::test(start_paused = true)]
async fn every_composition_surface_builds_the_same_layer() {
    let policy = backoff(2);
    let a = tower::ServiceBuilder::new().layer(RetryLayer::new(policy.clone())).service(AsyncExecutor::new());
    let b = ExecutorBuilder::new().retry(policy.clone()).build(AsyncExecutor::new());
    let c = AsyncExecutor::builder().name("svc").build().with_retry(policy.clone());
    let d = tower::Layer::layer(&RetryLayer::new(policy).name("own"), AsyncExecutor::new());
    assert_eq!((a.kind(), b.kind(), c.kind()), ("retry", "retry", "retry"));
    assert_eq!(c.name(), "svc", "the layer inherits the inner executor's name");
    assert_eq!(d.name(), "own");
    for exec in [&a, &b] {
        let flaky = Flaky::new(1);
        assert_eq!(exec.submit(flaky.job()).await, Ok(2));
    }
}

#[test]
fn works_from_plain_synchronous_code() {
    // The inline executor runs the first attempt inside submit, outside any runtime; the
    // delay's timer is created on the library's background runtime.
    let policy = ExponentialBackoff::builder().sleep(MS(5)).build().unwrap();
    let exec = InlineExecutor::new().with_retry(policy);
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let h = exec.submit(move || {
        let n = c.fetch_add(1, SeqCst) + 1;
        if n < 3 { Err(n) } else { Ok(n) }
    });
    assert_eq!(h.wait(), Ok(3));

    let ok = exec.submit(|| Ok::<_, u32>(1));
    assert!(ok.is_done(), "a first-attempt success resolves inside submit");
}

#[test]
fn blocking_pool_from_synchronous_code() {
    let policy = ExponentialBackoff::builder().sleep(MS(1)).max_attempts(4).build().unwrap();
    let exec = ExecutorBuilder::new()
        .retry(policy)
        .concurrency_limit(2)
        .unwrap()
        .build(BlockingPool::new(2).unwrap());
    let handles: Vec<_> = (0..8u32)
        .map(|i| {
            let tries = Arc::new(AtomicU32::new(0));
            exec.submit(move || {
                let n = tries.fetch_add(1, SeqCst) + 1;
                if n <= i % 4 { Err(n) } else { Ok(i) }
            })
        })
        .collect();
    let out: Vec<_> = handles.into_iter().map(Handle::wait).collect();
    assert_eq!(out, (0..8).map(Ok).collect::<Vec<_>>());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever the attempts return, the job makes exactly min(first success, first final
    /// error, max attempts) attempts and resolves once, to that attempt's outcome.
    #[test]
    fn attempts_and_result_follow_the_outcomes(
        kinds in proptest::collection::vec(0u8..4, 1..8),
        max_attempts in 1u32..8,
    ) {
        let outcomes: Vec<Outcome> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                0 => Ok(i as u32),
                1 => Err(Error::Job(i as u32)),
                2 => Err(Error::Panicked(format!("p{i}"))),
                _ => Err(Error::Cancelled),
            })
            .collect();
        let expected_attempts = outcomes
            .iter()
            .position(|o| matches!(o, Ok(_) | Err(Error::Cancelled)))
            .map_or(outcomes.len() as u32 + 1, |p| p as u32 + 1) // after the script: Ok(0)
            .min(max_attempts);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let inner = Scripted::new(outcomes.clone());
            let exec = inner.clone().with_retry(backoff(max_attempts));
            let out = exec.submit(()).await;
            let expected = outcomes.get(expected_attempts as usize - 1).cloned().unwrap_or(Ok(0));
            assert_eq!(inner.calls.load(SeqCst), expected_attempts);
            assert_eq!(out, expected);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_policy_decides_succeeds_and_no_attempt_follows() {
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (entered_tx, release_rx) = (Mutex::new(entered_tx), Mutex::new(release_rx));
    let policy = move |_: &Attempt, r: &Result<u32, Error<u32>>| -> RetryDecision {
        if r.is_ok() {
            return RetryDecision::Done;
        }
        entered_tx.lock().unwrap().send(()).unwrap();
        release_rx.lock().unwrap().recv().unwrap();
        RetryDecision::RetryAfter(Duration::ZERO)
    };
    let pool = BlockingPool::new(1).unwrap();
    let exec = pool.clone().with_retry(policy);
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let h = exec.submit(move || {
        r.fetch_add(1, SeqCst);
        Err::<u32, u32>(7)
    });
    let cancel = h.canceller();
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap()).await.unwrap();
    assert!(cancel.cancel(), "nothing runs while the policy decides: the cancel succeeds");
    release_tx.send(()).unwrap();
    assert!(h.await.unwrap_err().is_cancelled());
    // The pool has one thread and runs jobs in order: once a later job has run, a second
    // attempt queued by the retry would have run too.
    let rt = tokio::runtime::Handle::current();
    tokio::time::timeout(Duration::from_secs(10), async {
        while rt.metrics().num_alive_tasks() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the job's driver ends");
    assert_eq!(pool.submit(|| Ok::<u32, u32>(0)).await, Ok(0));
    assert_eq!(runs.load(SeqCst), 1, "no attempt after the cancelled decision");
}
