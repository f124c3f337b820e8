//! Behaviour of the timeout layer and the timeout combinator: deadlines hit and missed,
//! what expiry does to the inner job, timers, per-job timeouts, and the two orders with
//! retry and with a concurrency limit.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use more_executors_core::prelude::*;
use more_executors_core::stage::JobContext;
use more_executors_retry::{ExponentialBackoff, RetryExt};
use more_executors_timeout::{Timeout, TimeoutBuilderExt, TimeoutExt, TimeoutLayer, timeout};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

/// Flags telling what happened to an async job: finished, or dropped before finishing.
#[derive(Clone, Default)]
struct Probe {
    finished: Arc<AtomicBool>,
    dropped_early: Arc<AtomicBool>,
}

struct DropFlag(Arc<AtomicBool>, Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        if !self.1.load(SeqCst) {
            self.0.store(true, SeqCst);
        }
    }
}

impl Probe {
    /// An async job that works for `work` and returns it.
    fn job(
        &self,
        work: Duration,
    ) -> impl FnOnce() -> Pin<Box<dyn Future<Output = Result<Duration, ()>> + Send>> + Clone + Send + 'static
    {
        let p = self.clone();
        move || {
            Box::pin(async move {
                let _flag = DropFlag(p.dropped_early.clone(), p.finished.clone());
                tokio::time::sleep(work).await;
                p.finished.store(true, SeqCst);
                Ok(work)
            })
        }
    }

    fn finished(&self) -> bool {
        self.finished.load(SeqCst)
    }

    fn cancelled(&self) -> bool {
        self.dropped_early.load(SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn a_missed_deadline_times_out_at_the_deadline_and_drops_the_job() {
    let exec = AsyncExecutor::new().with_timeout(S(1)).unwrap();
    let probe = Probe::default();
    let t0 = Instant::now();
    assert_eq!(exec.submit(probe.job(S(5))).await, Err(Error::TimedOut(S(1))));
    assert_eq!(t0.elapsed(), S(1));
    assert!(probe.cancelled() && !probe.finished(), "the inner job was cancelled at the deadline");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_met_gives_the_value() {
    let exec = AsyncExecutor::new().with_timeout(S(1)).unwrap();
    let probe = Probe::default();
    let t0 = Instant::now();
    assert_eq!(exec.submit(probe.job(MS(900))).await, Ok(MS(900)));
    assert_eq!(t0.elapsed(), MS(900));
    assert_eq!(exec.submit(probe.job(S(1))).await, Ok(S(1)), "finishing exactly at the deadline is in time");
}

#[tokio::test(start_paused = true)]
async fn no_timer_is_created_for_a_job_that_is_ready_at_once() {
    let exec = InlineExecutor::new().with_timeout(S(1)).unwrap();
    let mut fut = pin!(exec.call(|| Ok::<_, ()>(1), &JobContext::detached()));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(1)));
    assert!(!fut.has_timer(), "the inner stage was ready, so no timer was made");

    let exec = AsyncExecutor::new().with_timeout(S(1)).unwrap();
    let mut fut = pin!(exec.call(std::future::pending::<Result<(), ()>>, &JobContext::detached()));
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert!(fut.has_timer(), "a pending job gets its one timer");
    assert_eq!(fut.deadline(), Instant::now() + S(1));

    // Through submit: resolved inside submit, without any time passing.
    let exec = InlineExecutor::new().with_timeout(S(1)).unwrap();
    let t0 = Instant::now();
    let h = exec.submit(|| Ok::<_, ()>(2));
    assert!(h.is_done());
    assert_eq!(h.await, Ok(2));
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn time_queued_in_an_inner_limit_counts_against_the_deadline() {
    // timeout outside the limit: measured from submission, queueing included.
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap().with_timeout(MS(1500)).unwrap();
    let probe = Probe::default();
    let a = exec.submit(probe.job(S(1)));
    let b = exec.submit(probe.job(S(1)));
    assert_eq!(a.await, Ok(S(1)));
    assert_eq!(b.await, Err(Error::TimedOut(MS(1500))), "1 s queued + 1 s running > 1.5 s");

    // timeout inside the limit: only the running job is timed.
    let exec = AsyncExecutor::new().with_timeout(MS(1500)).unwrap().with_concurrency_limit(1).unwrap();
    let a = exec.submit(probe.job(S(1)));
    let b = exec.submit(probe.job(S(1)));
    assert_eq!(a.await, Ok(S(1)));
    assert_eq!(b.await, Ok(S(1)));
}

type Started = std::sync::mpsc::Receiver<()>;

/// A blocking job that signals when it starts and runs until released; it records that it
/// finished.
fn held_blocking_job(
    finished: Arc<AtomicU32>,
) -> (impl FnOnce() -> Result<&'static str, ()> + Send + 'static, Started, std::sync::mpsc::Sender<()>) {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let job = move || {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        finished.fetch_add(1, SeqCst);
        Ok("done")
    };
    (job, started_rx, go_tx)
}

/// Waits for a blocking job to start. Waiting inside `spawn_blocking` keeps tokio's paused
/// clock from jumping to the next timer meanwhile (it does not see the pool's threads).
async fn wait_started(started: Started) -> Started {
    tokio::task::spawn_blocking(move || {
        started.recv().unwrap();
        started
    })
    .await
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_blocking_job_past_its_deadline_reports_timed_out_and_its_result_is_discarded() {
    let pool = BlockingPool::new(1).unwrap();
    let exec = pool.clone().with_timeout(S(1)).unwrap();
    let finished = Arc::new(AtomicU32::new(0));
    let (job, started, go) = held_blocking_job(finished.clone());
    let h = exec.submit(job);
    wait_started(started).await;
    // Queued behind it: times out while queued and must then never run.
    let queued_ran = Arc::new(AtomicBool::new(false));
    let q = queued_ran.clone();
    let queued = exec.submit(move || {
        q.store(true, SeqCst);
        Ok::<_, ()>("queued")
    });
    assert_eq!(h.await, Err(Error::TimedOut(S(1))), "reported at the deadline while the job still runs");
    assert_eq!(queued.await, Err(Error::TimedOut(S(1))));
    assert_eq!(finished.load(SeqCst), 0, "the running job could not be stopped");
    go.send(()).unwrap();
    // FIFO: once a later job has run, the queued one had its turn.
    assert_eq!(pool.submit(|| Ok::<_, ()>(())).await, Ok(()));
    assert_eq!(finished.load(SeqCst), 1, "the blocking job ran to the end; its result was dropped");
    assert!(!queued_ran.load(SeqCst), "a job that timed out while queued never runs");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_inside_retry_gives_each_attempt_its_own_deadline() {
    let policy = ExponentialBackoff::builder().max_attempts(3).build().unwrap();
    let exec = AsyncExecutor::new().with_timeout(S(1)).unwrap().with_retry(policy);
    let calls = Arc::new(AtomicU32::new(0));
    let starts = Arc::new(Mutex::new(Vec::new()));
    let (c, st) = (calls.clone(), starts.clone());
    let t0 = Instant::now();
    let job = move || {
        let n = c.fetch_add(1, SeqCst) + 1;
        st.lock().unwrap().push(Instant::now() - t0);
        async move {
            tokio::time::sleep(if n < 3 { S(5) } else { MS(500) }).await;
            Ok::<_, ()>(n)
        }
    };
    assert_eq!(exec.submit(job).await, Ok(3), "two attempts timed out and were retried");
    assert_eq!(*starts.lock().unwrap(), [S(0), S(2), S(5)], "1 s deadline, then 1 s and 2 s delays");
    assert_eq!(t0.elapsed(), MS(5500));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_outside_retry_is_one_deadline_for_the_whole_job() {
    let policy = ExponentialBackoff::builder().max_attempts(10).build().unwrap();
    let exec = AsyncExecutor::new().with_retry(policy).with_timeout(S(4)).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let job = move || {
        c.fetch_add(1, SeqCst);
        async { Err::<(), _>("down") }
    };
    let t0 = Instant::now();
    assert_eq!(exec.submit(job).await, Err(Error::TimedOut(S(4))));
    assert_eq!(t0.elapsed(), S(4), "during the wait before the 4th attempt (due at 7 s)");
    tokio::time::sleep(S(60)).await;
    assert_eq!(calls.load(SeqCst), 3, "attempts at 0, 1 and 3 s; the retrying job was dropped");
}

/// An executor whose jobs are data: `(work, timeout)`. The work is a sleep.
#[derive(Clone)]
struct Sleeper {
    runtime: Runtime,
}

impl Lifecycle for Sleeper {
    fn name(&self) -> &str {
        "sleeper"
    }
    fn kind(&self) -> &'static str {
        "sleeper"
    }
    fn runtime(&self) -> &Runtime {
        &self.runtime
    }
    fn shutdown(&self) {
        self.runtime.shutdown()
    }
}

impl Executor<(Duration, Duration)> for Sleeper {
    type Future = Pin<Box<dyn Future<Output = Result<Duration, Error<()>>> + Send>>;

    fn call(&self, (work, _): (Duration, Duration), _: &JobContext) -> Self::Future {
        Box::pin(async move {
            tokio::time::sleep(work).await;
            Ok(work)
        })
    }
}

#[tokio::test(start_paused = true)]
async fn per_job_and_per_submission_timeouts() {
    let exec =
        Sleeper { runtime: Runtime::current_or_owned() }.with_timeout_per_job(|j: &(Duration, Duration)| j.1);
    assert_eq!(exec.submit((S(1), S(2))).await, Ok(S(1)));
    assert_eq!(exec.submit((S(3), S(2))).await, Err(Error::TimedOut(S(2))));

    let exec = AsyncExecutor::new().with_timeout(S(60)).unwrap();
    let probe = Probe::default();
    assert_eq!(
        exec.submit_with_timeout(probe.job(S(5)), S(2)).await,
        Err(Error::TimedOut(S(2))),
        "the submission's own timeout replaces the layer's"
    );
    assert_eq!(exec.submit_with_timeout(probe.job(S(5)), S(10)).await, Ok(S(5)));

    // On any executor, without a timeout layer.
    let plain = AsyncExecutor::new();
    assert_eq!(plain.submit_with_timeout(probe.job(S(5)), S(1)).await, Err(Error::TimedOut(S(1))));

    // A zero per-submission timeout: a pending job times out at once, a ready one succeeds.
    let t0 = Instant::now();
    assert_eq!(
        plain.submit_with_timeout(probe.job(S(5)), Duration::ZERO).await,
        Err(Error::TimedOut(Duration::ZERO))
    );
    assert_eq!(t0.elapsed(), Duration::ZERO);
    let inline = InlineExecutor::new();
    assert_eq!(inline.submit_with_timeout(|| Ok::<_, ()>(1), Duration::ZERO).await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_timeout_function_fails_the_job_without_running_it() {
    let ran = Arc::new(AtomicBool::new(false));
    let exec = Sleeper { runtime: Runtime::current_or_owned() }
        .with_timeout_per_job(|_: &(Duration, Duration)| -> Duration { panic!("no timeout for you") });
    let err = exec.submit((S(1), S(1))).await.unwrap_err();
    assert_eq!(err, Error::Panicked("no timeout for you".into()));
    assert!(!ran.load(SeqCst));
}

#[tokio::test(start_paused = true)]
async fn invalid_timeouts_are_rejected_at_construction() {
    assert_eq!(TimeoutLayer::new(Duration::ZERO).unwrap_err().setting(), "timeout");
    assert!(TimeoutLayer::from_secs_f64(-1.0).is_err());
    assert!(TimeoutLayer::from_secs_f64(f64::NAN).is_err());
    assert!(TimeoutLayer::from_secs_f64(0.0).is_err());
    assert!(AsyncExecutor::new().with_timeout(Duration::ZERO).is_err());
    assert!(Timeout::from_secs_f64(AsyncExecutor::new(), f64::INFINITY).is_err());
    assert!(ExecutorBuilder::new().timeout(Duration::ZERO).is_err());
    assert!(TimeoutLayer::from_secs_f64(0.25).is_ok());
}

#[tokio::test(start_paused = true)]
async fn every_composition_surface_builds_the_same_layer() {
    let probe = Probe::default();
    let a =
        tower::ServiceBuilder::new().layer(TimeoutLayer::new(S(1)).unwrap()).service(AsyncExecutor::new());
    let b = ExecutorBuilder::new().timeout(S(1)).unwrap().build(AsyncExecutor::new());
    let c = AsyncExecutor::builder().name("svc").build().with_timeout(S(1)).unwrap();
    let d = tower::Layer::layer(&TimeoutLayer::new(S(1)).unwrap().name("own"), AsyncExecutor::new());
    assert_eq!((a.kind(), b.kind(), c.kind(), d.kind()), ("timeout", "timeout", "timeout", "timeout"));
    assert_eq!((c.name(), d.name()), ("svc", "own"));
    for exec in [&a, &b, &c, &d] {
        assert!(exec.submit(probe.job(S(2))).await.unwrap_err().is_timed_out());
        assert_eq!(exec.submit(probe.job(MS(10))).await, Ok(MS(10)));
    }
    let e = ExecutorBuilder::new()
        .timeout_per_job(|j: &(Duration, Duration)| j.1)
        .build(Sleeper { runtime: Runtime::current_or_owned() });
    assert!(e.submit((S(2), S(1))).await.unwrap_err().is_timed_out());
}

#[tokio::test(start_paused = true)]
async fn cancel_and_shutdown_pass_through() {
    let exec = AsyncExecutor::new().with_timeout(S(10)).unwrap();
    let probe = Probe::default();
    let h = exec.submit(probe.job(S(5)));
    tokio::time::sleep(S(1)).await;
    assert!(h.cancel());
    assert!(h.await.unwrap_err().is_cancelled());
    exec.shutdown();
    assert!(exec.submit(probe.job(S(1))).await.unwrap_err().is_shut_down());
}

#[tokio::test(start_paused = true)]
async fn the_combinator_times_out_a_handle_and_cancels_it() {
    let exec = AsyncExecutor::new();
    let probe = Probe::default();
    let inner = exec.submit(probe.job(S(5)));
    let watch = inner.canceller();
    let t0 = Instant::now();
    assert_eq!(timeout(inner, S(1)).await, Err(Error::TimedOut(S(1))));
    assert_eq!(t0.elapsed(), S(1));
    assert!(watch.is_cancelled(), "the original handle was cancelled");
    tokio::task::yield_now().await;
    assert!(probe.cancelled() && !probe.finished());

    // In time: the value passes through.
    let h = timeout(exec.submit(probe.job(MS(300))), S(1));
    assert_eq!(h.await, Ok(MS(300)));

    // Already done: returned as it is, no timer, no task.
    let done = exec.submit(probe.job(Duration::ZERO));
    tokio::task::yield_now().await;
    let h = timeout(done, Duration::ZERO);
    assert!(h.is_done() && h.id().is_some(), "the same handle, not a new one");
    assert_eq!(h.await, Ok(Duration::ZERO));

    // Zero duration: a pending handle times out at once.
    let t0 = Instant::now();
    assert!(timeout(exec.submit(probe.job(S(1))), Duration::ZERO).await.unwrap_err().is_timed_out());
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_combinator_handle_is_decided_by_the_original() {
    let exec = AsyncExecutor::new();
    let probe = Probe::default();
    let inner = exec.submit(probe.job(S(5)));
    let watch = inner.canceller();
    let h = timeout(inner, S(10));
    assert!(h.cancel(), "an async job accepts the cancel");
    assert!(watch.is_cancelled());
    assert!(h.await.unwrap_err().is_cancelled());
}

// Real time: the blocking job's result must arrive before a timer could fire, which a
// paused clock (jumping ahead while the pool thread works) would not guarantee.
#[tokio::test]
async fn cancelling_the_combinator_handle_of_a_running_blocking_job_is_refused() {
    let pool = BlockingPool::new(1).unwrap();
    let finished = Arc::new(AtomicU32::new(0));
    let (job, started, go) = held_blocking_job(finished.clone());
    let inner = pool.submit(job);
    wait_started(started).await;
    let h = timeout(inner, S(600));
    assert!(!h.cancel(), "a running blocking job refuses, so the new handle does too");
    go.send(()).unwrap();
    assert_eq!(h.await, Ok("done"));
}

#[test]
fn the_combinator_works_from_synchronous_code() {
    let pool = BlockingPool::new(1).unwrap();
    let finished = Arc::new(AtomicU32::new(0));
    let (job, _started, go) = held_blocking_job(finished);
    let h = timeout(pool.submit(job), MS(20));
    assert_eq!(h.wait(), Err(Error::TimedOut(MS(20))));
    let _ = go.send(()); // the job may have timed out before it started
    assert_eq!(timeout(pool.submit(|| Ok::<_, ()>(1)), S(30)).wait(), Ok(1));
}

#[test]
fn a_layer_stack_works_from_synchronous_code() {
    // The retry makes the inline job's stage pending at its first poll, which happens in
    // submit, outside any runtime: the timeout's timer must still be created.
    let policy = ExponentialBackoff::builder().sleep(MS(50)).max_attempts(10).build().unwrap();
    let exec = InlineExecutor::new().with_retry(policy).with_timeout(MS(20)).unwrap();
    let h = exec.submit(|| Err::<(), _>("always"));
    assert_eq!(h.wait(), Err(Error::TimedOut(MS(20))));
    assert_eq!(exec.submit(|| Ok::<_, &str>(1)).wait(), Ok(1));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// A job resolves exactly once, to its value when it needs at most the timeout, else to
    /// the timed-out error at the deadline.
    #[test]
    fn value_if_in_time_else_timed_out_at_the_deadline(work_ms in 0u64..3000, timeout_ms in 1u64..3000) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let exec = AsyncExecutor::new().with_timeout(MS(timeout_ms)).unwrap();
            let probe = Probe::default();
            let t0 = Instant::now();
            let out = exec.submit(probe.job(MS(work_ms))).await;
            if work_ms <= timeout_ms {
                assert_eq!(out, Ok(MS(work_ms)));
                assert_eq!(t0.elapsed(), MS(work_ms));
            } else {
                assert_eq!(out, Err(Error::TimedOut(MS(timeout_ms))));
                assert_eq!(t0.elapsed(), MS(timeout_ms));
                tokio::task::yield_now().await;
                assert!(probe.cancelled());
            }
        });
    }
}

#[tokio::test(start_paused = true)]
async fn a_limit_outside_a_timeout_keeps_its_slots_until_timed_out_threads_return() {
    // The layout docs/timeout.md recommends (limit outside, timeout inside) over a pool with
    // more threads than the limit: a timed-out job keeps its slot until its thread returns.
    let pool = BlockingPool::new(8).unwrap();
    let exec = ExecutorBuilder::new()
        .concurrency_limit(4)
        .unwrap()
        .timeout(Duration::from_millis(150))
        .unwrap()
        .build(pool.clone());
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let (running, peak, release_rx, started_tx) =
                (running.clone(), peak.clone(), release_rx.clone(), started_tx.clone());
            exec.submit(move || {
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                let _ = started_tx.send(()); // the test stops listening after the first four
                let _ = release_rx.lock().unwrap().recv();
                running.fetch_sub(1, SeqCst);
                Ok::<(), ()>(())
            })
        })
        .collect();
    // Four bodies start and block; their deadlines pass (paused time moves on while the
    // runtime is idle) and their handles resolve TimedOut at once.
    tokio::task::spawn_blocking(move || {
        for _ in 0..4 {
            started_rx.recv().unwrap();
        }
    })
    .await
    .unwrap();
    let mut handles = handles.into_iter();
    for h in handles.by_ref().take(4) {
        assert!(h.await.unwrap_err().is_timed_out(), "a running job times out at its deadline");
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(exec.in_flight(), 4, "the four threads still run: their slots stay taken");
    assert_eq!(running.load(SeqCst), 4);
    assert_eq!(exec.queued(), 8, "the other jobs wait for a slot (their deadlines start at admission)");
    drop(release_tx);
    // The four threads return and give their slots to the queued jobs, which run at once
    // (the bodies no longer block); each finishes in time or times out.
    for h in handles {
        let out = h.await;
        assert!(out.is_ok() || out.unwrap_err().is_timed_out());
    }
    tokio::time::timeout(Duration::from_secs(60), async {
        while exec.in_flight() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the slots of returned threads are freed");
    assert_eq!(peak.load(SeqCst), 4, "never more bodies than the limit, though the pool has 8 threads");
    let _admitted = exec.submit(|| Ok::<(), ()>(()));
    assert_eq!(exec.queued(), 0, "all slots are free again: a new job is admitted at once");
}
