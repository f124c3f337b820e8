//! Model-based property test across every crate: random stacks drawn from every layer (map,
//! flat_map, concurrency limit (fixed and dynamic), cancel on shutdown, poll, retry,
//! timeout) on every base executor (async, blocking pool, inline), random job behaviour per
//! attempt (value, error, panic, delay, never finishing), random cancels at random times,
//! random poll outcomes (resolve, resolve later, fail the descriptor, never resolve; poll
//! call ok, default interval, error, panic; cancel function none / true / false / error /
//! panic / by input) and a random shutdown point, all in paused time on a runtime built per
//! case.
//!
//! Checked for every case, after the run (every still-pending handle is cancelled, then
//! the stack is shut down, then every handle is awaited under a bounded paused-time
//! timeout):
//! - every handle resolves, exactly once (resolutions are counted through a wrapper);
//! - `cancel()` returned true ⇔ the handle resolved `Cancelled` (except that shutdown of a
//!   cancel-on-shutdown layer may also cancel), and once true it stays true;
//! - a value is exactly the job's value after the stack's maps, flat_maps and polls, and
//!   only for a job that produced a value;
//! - every error is explained: the job's own error, a poll error, a panic of the job or the
//!   poll function, a timeout of a timeout layer (with its duration), `ShutDown` or
//!   `Cancelled` only after a shutdown and only for handles not already done then;
//! - a job ran at most as many attempts as the retry layers allow;
//! - job bodies never ran more at once than the tightest concurrency limit;
//! - no task is left alive on the runtime after shutdown (tokio's runtime metrics).
//!
//! Cases: 1,000 by default; set `PROPTEST_CASES` for longer runs.

mod reliability_common;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};
use std::time::Duration;

use more_executors::Error;
use more_executors::boxed::BoxCloneExecutor;
use more_executors::poll::{PollDescriptor, PollExt, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryExt};
use more_executors::timeout::TimeoutExt;
use more_executors_test_support::{Concurrency, proptest_cases, quiet_expected_panics};
use proptest::prelude::*;
use reliability_common::{bounded, drain_tasks, ms, paused_runtime};

/// The library's boxed executor, so a stack can be chosen at run time.
type Ex<J> = BoxCloneExecutor<J, u64, u64>;
type JobFut = Pin<Box<dyn Future<Output = Result<u64, u64>> + Send>>;
type Out = Result<u64, Error<u64>>;

const JOB_ERR: u64 = 1_000_000;
const POLL_YIELD_ERR: u64 = 3_000_000;
const POLL_CALL_ERR: u64 = 4_000_000;
const CANCEL_FN_ERR: u64 = 5_000_000;

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Base {
    Async,
    Blocking(usize),
    Inline,
}

/// What one attempt of a job does. Blocking and inline jobs run instantly (real threads do
/// not follow paused time): `Delay` and `Never` are values there.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    Value,
    Error,
    Panic,
    Delay(u8),
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CallSpec {
    /// Next poll after this many ms (>= 1: a zero delay with paused time would spin).
    Ok(u8),
    /// `Ok(None)`: the default interval.
    Default,
    Err,
    Panic,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CancelSpec {
    None,
    Yes,
    No,
    Fails,
    Panics,
    /// input % 3: yes, no, panic.
    ByInput,
}

#[derive(Debug, Clone)]
struct PollSpec {
    first_poll_ms: u8,
    interval_ms: u8,
    calls: Vec<CallSpec>,
    cancel: CancelSpec,
}

#[derive(Debug, Clone)]
enum LayerSpec {
    Map(u64),
    FlatMap { add: u64, delay_ms: u8 },
    Limit(usize),
    DynLimit(usize),
    CancelOnShutdown,
    Poll(PollSpec),
    Retry { attempts: u32, sleep_ms: u8 },
    Timeout(u8),
}

#[derive(Debug, Clone)]
struct JobSpec {
    value: u64,
    attempts: Vec<Behaviour>,
    submit_at: u8,
    cancel_after: Option<u8>,
}

#[derive(Debug, Clone)]
struct Case {
    base: Base,
    /// Innermost first.
    layers: Vec<LayerSpec>,
    jobs: Vec<JobSpec>,
    shutdown_at: Option<u8>,
}

fn map_fn(k: u64, v: u64) -> u64 {
    v.wrapping_mul(3).wrapping_add(k)
}

fn flat_fn(add: u64, v: u64) -> u64 {
    v.wrapping_mul(5).wrapping_add(add)
}

fn poll_fn(input: u64) -> u64 {
    input.wrapping_mul(7).wrapping_add(1)
}

impl Case {
    fn effective(&self, b: Behaviour) -> Behaviour {
        match (self.base, b) {
            (Base::Async, b) => b,
            (_, Behaviour::Delay(_) | Behaviour::Never) => Behaviour::Value,
            (_, b) => b,
        }
    }

    fn can_produce_value(&self, job: &JobSpec) -> bool {
        job.attempts.iter().any(|b| matches!(self.effective(*b), Behaviour::Value | Behaviour::Delay(_)))
    }

    /// The value a handle must resolve to when the job produced `v`.
    fn expected_value(&self, v: u64) -> u64 {
        self.layers.iter().fold(v, |v, l| match l {
            LayerSpec::Map(k) => map_fn(*k, v),
            LayerSpec::FlatMap { add, .. } => flat_fn(*add, v),
            LayerSpec::Poll(_) => poll_fn(v),
            _ => v,
        })
    }

    fn has(&self, f: impl Fn(&LayerSpec) -> bool) -> bool {
        self.layers.iter().any(f)
    }

    fn max_attempts(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| match l {
                LayerSpec::Retry { attempts, .. } => u64::from(*attempts),
                _ => 1,
            })
            .product()
    }

    /// The most job bodies that may run at once. A blocking job that outlives its stage
    /// (dropped by a timeout) keeps running on its thread after its limit slot is freed, so
    /// with a timeout over a blocking pool only the pool's thread count bounds it.
    fn concurrency_bound(&self) -> Option<usize> {
        let mut bound = match self.base {
            Base::Blocking(n) => Some(n),
            _ => None,
        };
        let orphans =
            matches!(self.base, Base::Blocking(_)) && self.has(|l| matches!(l, LayerSpec::Timeout(_)));
        if !orphans {
            for l in &self.layers {
                if let LayerSpec::Limit(n) | LayerSpec::DynLimit(n) = l {
                    bound = Some(bound.map_or(*n, |b| b.min(*n)));
                }
            }
        }
        bound
    }
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

fn poll_spec() -> impl Strategy<Value = PollSpec> {
    let call = prop_oneof![
        4 => (1u8..5).prop_map(CallSpec::Ok),
        1 => Just(CallSpec::Default),
        1 => Just(CallSpec::Err),
        1 => Just(CallSpec::Panic),
    ];
    let cancel = prop_oneof![
        Just(CancelSpec::None),
        Just(CancelSpec::Yes),
        Just(CancelSpec::No),
        Just(CancelSpec::Fails),
        Just(CancelSpec::Panics),
        Just(CancelSpec::ByInput),
    ];
    (0u8..4, 1u8..6, proptest::collection::vec(call, 0..6), cancel).prop_map(
        |(first_poll_ms, interval_ms, calls, cancel)| PollSpec { first_poll_ms, interval_ms, calls, cancel },
    )
}

fn layer_spec() -> impl Strategy<Value = LayerSpec> {
    prop_oneof![
        (0u64..100).prop_map(LayerSpec::Map),
        (0u64..100, 0u8..4).prop_map(|(add, delay_ms)| LayerSpec::FlatMap { add, delay_ms }),
        (1usize..4).prop_map(LayerSpec::Limit),
        (1usize..4).prop_map(LayerSpec::DynLimit),
        Just(LayerSpec::CancelOnShutdown),
        poll_spec().prop_map(LayerSpec::Poll),
        (1u32..4, 0u8..4).prop_map(|(attempts, sleep_ms)| LayerSpec::Retry { attempts, sleep_ms }),
        (1u8..20).prop_map(LayerSpec::Timeout),
    ]
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        4 => Just(Behaviour::Value),
        2 => Just(Behaviour::Error),
        1 => Just(Behaviour::Panic),
        2 => (1u8..12).prop_map(Behaviour::Delay),
        1 => Just(Behaviour::Never),
    ]
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    (
        0u64..1_000_000,
        proptest::collection::vec(behaviour(), 1..4),
        0u8..10,
        proptest::option::weighted(0.35, 0u8..12),
    )
        .prop_map(|(value, attempts, submit_at, cancel_after)| JobSpec {
            value,
            attempts,
            submit_at,
            cancel_after,
        })
}

fn case() -> impl Strategy<Value = Case> {
    let base = prop_oneof![
        3 => Just(Base::Async),
        1 => (1usize..4).prop_map(Base::Blocking),
        1 => Just(Base::Inline),
    ];
    (
        base,
        proptest::collection::vec(layer_spec(), 0..6),
        proptest::collection::vec(job_spec(), 1..10),
        proptest::option::weighted(0.4, 0u8..14),
    )
        .prop_map(|(base, layers, jobs, shutdown_at)| Case { base, layers, jobs, shutdown_at })
}

// ---------------------------------------------------------------------------------------
// Building a stack
// ---------------------------------------------------------------------------------------

fn poll_layer(spec: &PollSpec) -> PollLayer<u64, u64, u64> {
    let calls = spec.calls.clone();
    let mut n = 0usize;
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let layer = PollLayer::new(move |ds: &mut [PollDescriptor<u64, u64, u64>]| {
        let call = calls.get(n).copied().unwrap_or(CallSpec::Ok(1));
        n += 1;
        for d in ds.iter_mut() {
            let input = *d.input();
            let count = seen.entry(input).or_insert(0);
            *count += 1;
            match input % 6 {
                0 | 1 | 5 => {
                    d.yield_result(poll_fn(input));
                }
                2 if *count >= 2 => {
                    d.yield_result(poll_fn(input));
                }
                3 => {
                    d.yield_error(POLL_YIELD_ERR + input % 1000);
                }
                _ => {} // not yet, or never
            }
        }
        match call {
            CallSpec::Ok(d) => Ok(Some(ms(u64::from(d)))),
            CallSpec::Default => Ok(None),
            CallSpec::Err => Err(POLL_CALL_ERR),
            CallSpec::Panic => panic!("boom poll"),
        }
    })
    .first_poll_delay(ms(u64::from(spec.first_poll_ms)))
    .default_interval(ms(u64::from(spec.interval_ms)))
    .unwrap();
    match spec.cancel {
        CancelSpec::None => layer,
        CancelSpec::Yes => layer.cancel_fn(|_: &u64| Ok(true)),
        CancelSpec::No => layer.cancel_fn(|_: &u64| Ok(false)),
        CancelSpec::Fails => layer.cancel_fn(|_: &u64| Err(CANCEL_FN_ERR)),
        CancelSpec::Panics => layer.cancel_fn(|_: &u64| -> Result<bool, u64> { panic!("boom cancel") }),
        CancelSpec::ByInput => layer.cancel_fn(|input: &u64| match input % 3 {
            0 => Ok(true),
            1 => Ok(false),
            _ => panic!("boom cancel"),
        }),
    }
}

fn build<J: Clone + Send + 'static>(base: Ex<J>, layers: &[LayerSpec]) -> Ex<J> {
    let mut exec = base;
    for l in layers {
        exec = match l {
            LayerSpec::Map(k) => {
                let k = *k;
                exec.with_map(move |v: u64| map_fn(k, v)).boxed_clone()
            }
            LayerSpec::FlatMap { add, delay_ms } => {
                let (add, delay) = (*add, u64::from(*delay_ms));
                exec.with_flat_map(move |v: u64| async move {
                    if delay > 0 {
                        tokio::time::sleep(ms(delay)).await;
                    }
                    Ok::<u64, Error<u64>>(flat_fn(add, v))
                })
                .boxed_clone()
            }
            LayerSpec::Limit(n) => exec.with_concurrency_limit(*n).unwrap().boxed_clone(),
            LayerSpec::DynLimit(n) => {
                let (n, calls) = (*n, AtomicUsize::new(0));
                exec.with_dynamic_concurrency_limit(move || 1 + calls.fetch_add(1, SeqCst) % n)
                    .unwrap()
                    .boxed_clone()
            }
            LayerSpec::CancelOnShutdown => exec.with_cancel_on_shutdown().boxed_clone(),
            LayerSpec::Poll(spec) => exec.with_poll(poll_layer(spec)).boxed_clone(),
            LayerSpec::Retry { attempts, sleep_ms } => {
                let policy = ExponentialBackoff::builder()
                    .max_attempts(*attempts)
                    .sleep(ms(u64::from(*sleep_ms)))
                    .max_sleep(ms(8))
                    .build()
                    .unwrap();
                exec.with_retry(policy).boxed_clone()
            }
            LayerSpec::Timeout(t) => exec.with_timeout(ms(u64::from(*t))).unwrap().boxed_clone(),
        };
    }
    exec
}

// ---------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------

struct JobRun {
    i: usize,
    spec: JobSpec,
    attempts: AtomicU32,
    conc: Concurrency,
}

impl JobRun {
    fn next(&self) -> Behaviour {
        let n = self.attempts.fetch_add(1, SeqCst) as usize;
        self.spec.attempts[n.min(self.spec.attempts.len() - 1)]
    }
}

fn async_job(run: Arc<JobRun>) -> impl FnOnce() -> JobFut + Clone + Send + 'static {
    move || {
        Box::pin(async move {
            let b = run.next();
            let _running = run.conc.enter();
            match b {
                Behaviour::Value => Ok(run.spec.value),
                Behaviour::Error => Err(JOB_ERR + run.i as u64),
                Behaviour::Panic => panic!("boom job {}", run.i),
                Behaviour::Delay(d) => {
                    tokio::time::sleep(ms(u64::from(d))).await;
                    Ok(run.spec.value)
                }
                Behaviour::Never => std::future::pending().await,
            }
        })
    }
}

fn sync_job(run: Arc<JobRun>) -> impl FnOnce() -> Result<u64, u64> + Clone + Send + 'static {
    move || {
        let b = run.next();
        let _running = run.conc.enter();
        match b {
            Behaviour::Error => Err(JOB_ERR + run.i as u64),
            Behaviour::Panic => panic!("boom job {}", run.i),
            Behaviour::Value | Behaviour::Delay(_) | Behaviour::Never => Ok(run.spec.value),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------

/// Awaits a handle, counting how many times it resolves and whether it reported itself
/// cancelled before resolving.
struct Counted {
    handle: Handle<u64, u64>,
    resolutions: Arc<AtomicUsize>,
    cancelled_seen: bool,
}

impl Future for Counted {
    type Output = (Out, bool);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.handle.is_cancelled() {
            self.cancelled_seen = true;
        }
        match Pin::new(&mut self.handle).poll(cx) {
            Poll::Ready(out) => {
                self.resolutions.fetch_add(1, SeqCst);
                Poll::Ready((out, self.cancelled_seen))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

struct Record {
    handle: Option<Handle<u64, u64>>,
    answers: Vec<bool>,
    after_shutdown: bool,
    /// Whether the handle was already done when the stack was shut down.
    done_at_shutdown: bool,
}

async fn run_case<J, M>(case: &Case, exec: Ex<J>, make: M) -> Result<(), TestCaseError>
where
    J: Clone + Send + 'static,
    M: Fn(Arc<JobRun>) -> J,
{
    let conc = Concurrency::new();
    let runs: Vec<Arc<JobRun>> = case
        .jobs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            Arc::new(JobRun { i, spec: spec.clone(), attempts: AtomicU32::new(0), conc: conc.clone() })
        })
        .collect();
    let mut recs: Vec<Record> = case
        .jobs
        .iter()
        .map(|_| Record { handle: None, answers: vec![], after_shutdown: false, done_at_shutdown: false })
        .collect();
    let shutdown = |recs: &mut [Record]| {
        for r in recs.iter_mut() {
            r.done_at_shutdown = r.handle.as_ref().is_some_and(|h| h.is_done());
        }
        exec.shutdown();
    };

    let last =
        case.jobs.iter().map(|j| u32::from(j.submit_at) + u32::from(j.cancel_after.unwrap_or(0))).max();
    let last = last.unwrap_or(0).max(case.shutdown_at.map_or(0, u32::from));
    let t0 = tokio::time::Instant::now();
    let mut shut = false;
    for step in 0..=last {
        tokio::time::sleep_until(t0 + ms(u64::from(step))).await;
        if case.shutdown_at.map(u32::from) == Some(step) {
            shutdown(&mut recs);
            shut = true;
        }
        for (i, spec) in case.jobs.iter().enumerate() {
            if u32::from(spec.submit_at) == step {
                let h = exec.submit(make(runs[i].clone()));
                if shut {
                    prop_assert!(h.is_done(), "job {i}: a submit after shutdown must be resolved at once");
                    recs[i].after_shutdown = true;
                }
                recs[i].handle = Some(h);
            }
            if spec.cancel_after.map(|d| u32::from(spec.submit_at) + u32::from(d)) == Some(step) {
                let answer = recs[i].handle.as_ref().unwrap().cancel();
                recs[i].answers.push(answer);
            }
        }
    }

    // Let every finite job finish, then cancel whatever is still pending (jobs that never
    // finish, descriptors never resolved) and shut down: nothing may stay pending after.
    tokio::time::sleep(ms(200)).await;
    for r in recs.iter_mut() {
        let h = r.handle.as_ref().unwrap();
        if !h.is_done() {
            r.answers.push(h.cancel());
        }
    }
    if !shut {
        shutdown(&mut recs);
        shut = true;
    }

    let counters: Vec<Arc<AtomicUsize>> = recs.iter().map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let waits: Vec<Counted> = recs
        .iter_mut()
        .zip(&counters)
        .map(|(r, c)| Counted {
            handle: r.handle.take().unwrap(),
            resolutions: c.clone(),
            cancelled_seen: false,
        })
        .collect();
    let all = futures::future::join_all(waits);
    let results = match bounded(all, Duration::from_secs(3600), Duration::from_secs(5)).await {
        Some(results) => results,
        None => {
            let pending: Vec<usize> =
                counters.iter().enumerate().filter(|(_, c)| c.load(SeqCst) == 0).map(|(i, _)| i).collect();
            return Err(TestCaseError::fail(format!("handles {pending:?} never resolved")));
        }
    };
    for (i, c) in counters.iter().enumerate() {
        prop_assert_eq!(c.load(SeqCst), 1, "job {}: resolved {} times", i, c.load(SeqCst));
    }

    let has_cos = case.has(|l| matches!(l, LayerSpec::CancelOnShutdown));
    let has_poll = case.has(|l| matches!(l, LayerSpec::Poll(_)));
    let poll_errs = case.has(|l| matches!(l, LayerSpec::Poll(p) if p.calls.contains(&CallSpec::Err)));
    let poll_panics = case.has(|l| matches!(l, LayerSpec::Poll(p) if p.calls.contains(&CallSpec::Panic)));
    for (i, ((out, cancelled_seen), r)) in results.into_iter().zip(&recs).enumerate() {
        let spec = &case.jobs[i];
        if let Some(first) = r.answers.iter().position(|a| *a) {
            prop_assert!(r.answers[first..].iter().all(|a| *a), "job {i}: cancel() said true, then false");
        }
        let attempts = u64::from(runs[i].attempts.load(SeqCst));
        prop_assert!(attempts <= case.max_attempts(), "job {i}: {attempts} attempts");
        if r.after_shutdown {
            prop_assert_eq!(&out, &Err(Error::ShutDown), "job {} was submitted after shutdown", i);
            prop_assert_eq!(attempts, 0, "job {}: submitted after shutdown but ran", i);
            continue;
        }
        let accepted = r.answers.contains(&true);
        if accepted || cancelled_seen {
            prop_assert_eq!(
                &out,
                &Err(Error::Cancelled),
                "job {}: cancel() returned true / is_cancelled()",
                i
            );
        }
        match &out {
            Err(Error::Cancelled) => prop_assert!(
                accepted || (has_cos && shut && !r.done_at_shutdown),
                "job {i}: cancelled although no cancel() returned true and no shutdown cancelled it"
            ),
            Ok(x) => {
                prop_assert!(
                    case.can_produce_value(spec),
                    "job {i}: a value from a job that never gives one"
                );
                prop_assert_eq!(*x, case.expected_value(spec.value), "job {}: wrong value", i);
            }
            Err(Error::ShutDown) => {
                prop_assert!(
                    shut && !r.done_at_shutdown,
                    "job {i}: ShutDown without a shutdown while pending"
                )
            }
            Err(Error::TimedOut(d)) => {
                let t = d.as_millis() as u64;
                prop_assert!(
                    case.has(|l| matches!(l, LayerSpec::Timeout(x) if u64::from(*x) == t)),
                    "job {i}: timed out after {d:?}, no such timeout layer"
                )
            }
            Err(Error::Panicked(m)) => {
                let job_panic = *m == format!("boom job {i}") && spec.attempts.contains(&Behaviour::Panic);
                prop_assert!(
                    job_panic || (poll_panics && m == "boom poll"),
                    "job {i}: unexpected panic {m:?}"
                );
            }
            Err(Error::Job(e)) => {
                let e = *e;
                let own = e == JOB_ERR + i as u64 && spec.attempts.contains(&Behaviour::Error);
                let poll_yield = has_poll && (POLL_YIELD_ERR..POLL_YIELD_ERR + 1000).contains(&e);
                let poll_call = poll_errs && e == POLL_CALL_ERR;
                prop_assert!(own || poll_yield || poll_call, "job {i}: unexplained job error {e}");
            }
            Err(other) => prop_assert!(false, "job {i}: unknown error {other:?}"),
        }
    }

    if let Some(bound) = case.concurrency_bound() {
        prop_assert!(conc.peak() <= bound, "{} job bodies ran at once, limit {}", conc.peak(), bound);
    }

    // No task of the library outlives the shutdown.
    drop(exec);
    let alive = drain_tasks(0, Duration::from_secs(1)).await;
    prop_assert_eq!(alive, 0, "tasks still alive after shutdown and draining");
    if matches!(case.base, Base::Blocking(_)) {
        // A body abandoned by a timeout may still be finishing on its (real) thread.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while conc.now() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    prop_assert_eq!(conc.now(), 0, "a job body is still running");
    Ok(())
}

fn run(case: &Case) -> Result<(), TestCaseError> {
    let rt = paused_runtime();
    rt.block_on(async {
        match case.base {
            Base::Async => {
                run_case(case, build(AsyncExecutor::new().boxed_clone(), &case.layers), async_job).await
            }
            Base::Blocking(n) => {
                run_case(case, build(BlockingPool::new(n).unwrap().boxed_clone(), &case.layers), sync_job)
                    .await
            }
            Base::Inline => {
                run_case(case, build(InlineExecutor::new().boxed_clone(), &case.layers), sync_job).await
            }
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(1_000)))]

    #[test]
    fn every_handle_resolves_exactly_once_through_random_stacks(case in case()) {
        quiet_expected_panics();
        run(&case)?;
    }
}

/// A fixed case through every layer at once, so a failure here is easy to read.
#[test]
fn a_stack_of_every_layer_resolves_everything() {
    quiet_expected_panics();
    let poll = PollSpec {
        first_poll_ms: 1,
        interval_ms: 2,
        calls: vec![CallSpec::Ok(1), CallSpec::Err, CallSpec::Panic, CallSpec::Default],
        cancel: CancelSpec::ByInput,
    };
    let layers = vec![
        LayerSpec::Map(1),
        LayerSpec::Poll(poll),
        LayerSpec::Limit(2),
        LayerSpec::Timeout(15),
        LayerSpec::Retry { attempts: 3, sleep_ms: 1 },
        LayerSpec::FlatMap { add: 2, delay_ms: 1 },
        LayerSpec::DynLimit(3),
        LayerSpec::CancelOnShutdown,
    ];
    let behaviours = [
        vec![Behaviour::Value],
        vec![Behaviour::Error, Behaviour::Value],
        vec![Behaviour::Panic, Behaviour::Delay(3)],
        vec![Behaviour::Never],
        vec![Behaviour::Delay(30)],
    ];
    let jobs = (0..20u8)
        .map(|i| JobSpec {
            value: u64::from(i) * 37,
            attempts: behaviours[usize::from(i) % behaviours.len()].clone(),
            submit_at: i % 7,
            cancel_after: (i % 3 == 0).then_some(i % 5),
        })
        .collect::<Vec<_>>();
    for base in [Base::Async, Base::Blocking(2), Base::Inline] {
        for shutdown_at in [None, Some(4)] {
            let case = Case { base, layers: layers.clone(), jobs: jobs.clone(), shutdown_at };
            if let Err(e) = run(&case) {
                panic!("{base:?}, shutdown at {shutdown_at:?}: {e}");
            }
        }
    }
}
