//! Property test: random stacks of core layers (map, map_err, flat_map with a future or a
//! handle, fixed and dynamic concurrency limits, cancel on shutdown) over each base
//! executor, random job outcomes (value, error, panic, work, never finishing), random
//! cancels at random times and a random shutdown point.
//!
//! Checked for every case: every handle resolves (exactly once: a handle is a single-use
//! future, so "at least once, with one outcome" is what remains to check), to an outcome
//! consistent with what happened:
//! - `cancel()` returned true  ⇒ the handle resolved `Cancelled`;
//! - a value                   ⇒ the job's value after the stack's maps, and no accepted cancel;
//! - a job error               ⇒ the job's own error after the stack's error maps;
//! - a panic error             ⇒ the job panicked;
//! - `Cancelled`               ⇒ a cancel was accepted, or shutdown cancelled pending jobs;
//! - `ShutDown`                ⇒ submitted after shutdown, or queued for a shut-down pool;
//!
//! and jobs never ran more at once than the tightest limit of the stack, and every
//! library task ended after shutdown.
//!
//! Cases: 1,000 by default (about two seconds); set `PROPTEST_CASES` for longer runs.
#![cfg(not(loom))]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use more_executors_core::Runtime;
use more_executors_core::boxed::BoxCloneExecutor;
use more_executors_core::prelude::*;
use more_executors_test_support::{Concurrency, proptest_cases, quiet_expected_panics};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Type erasure, so a stack can be chosen at run time.
// ---------------------------------------------------------------------------------------

type Out = Result<u64, Error<u64>>;
type AsyncJob = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<u64, u64>> + Send>> + Send>;
type SyncJob = Box<dyn FnOnce() -> Result<u64, u64> + Send>;

/// The library's boxed executor, so a stack can be chosen at run time.
type Erased<J> = BoxCloneExecutor<J, u64, u64>;

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum BaseSpec {
    Async,
    Blocking(usize),
    Inline,
}

#[derive(Debug, Clone)]
enum LayerSpec {
    Map(u64),
    MapErr(u64),
    FlatMapFuture { add: u64, work: u8 },
    FlatMapHandle { add: u64, work: u8 },
    Limit(usize),
    DynamicLimit(usize),
    CancelOnShutdown,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Value(u64),
    Error(u64),
    Panic,
    /// Only for async jobs; treated as `Value(0)` on other bases.
    Never,
}

#[derive(Debug, Clone)]
struct JobSpec {
    outcome: Outcome,
    work: u8,
    submit_at: u8,
    cancel_after: Option<u8>,
}

#[derive(Debug, Clone)]
struct Case {
    base: BaseSpec,
    layers: Vec<LayerSpec>, // innermost first
    jobs: Vec<JobSpec>,
    shutdown_at: Option<u8>,
}

fn effective(base: BaseSpec, o: Outcome) -> Outcome {
    match (base, o) {
        (BaseSpec::Async, o) => o,
        (_, Outcome::Never) => Outcome::Value(0),
        (_, o) => o,
    }
}

/// What the handle resolves to when nothing (cancel, shutdown) interferes.
fn expected(case: &Case, o: Outcome) -> Option<Out> {
    match effective(case.base, o) {
        Outcome::Value(mut v) => {
            for l in &case.layers {
                match l {
                    LayerSpec::Map(k) => v += k,
                    LayerSpec::FlatMapFuture { add, .. } | LayerSpec::FlatMapHandle { add, .. } => v += add,
                    _ => {}
                }
            }
            Some(Ok(v))
        }
        Outcome::Error(mut e) => {
            for l in &case.layers {
                if let LayerSpec::MapErr(k) = l {
                    e += k;
                }
            }
            Some(Err(Error::Job(e)))
        }
        Outcome::Panic => None,
        Outcome::Never => None,
    }
}

fn tightest_limit(case: &Case) -> Option<usize> {
    let mut bound = match case.base {
        BaseSpec::Blocking(n) => Some(n),
        _ => None,
    };
    for l in &case.layers {
        if let LayerSpec::Limit(n) | LayerSpec::DynamicLimit(n) = l {
            bound = Some(bound.map_or(*n, |b: usize| b.min(*n)));
        }
    }
    bound
}

fn layer_strategy() -> impl Strategy<Value = LayerSpec> {
    prop_oneof![
        (0u64..100).prop_map(LayerSpec::Map),
        (0u64..100).prop_map(LayerSpec::MapErr),
        (0u64..100, 0u8..4).prop_map(|(add, work)| LayerSpec::FlatMapFuture { add, work }),
        (0u64..100, 0u8..4).prop_map(|(add, work)| LayerSpec::FlatMapHandle { add, work }),
        (1usize..4).prop_map(LayerSpec::Limit),
        (1usize..4).prop_map(LayerSpec::DynamicLimit),
        Just(LayerSpec::CancelOnShutdown),
    ]
}

fn job_strategy() -> impl Strategy<Value = JobSpec> {
    let outcome = prop_oneof![
        4 => (0u64..1000).prop_map(Outcome::Value),
        2 => (0u64..1000).prop_map(Outcome::Error),
        1 => Just(Outcome::Panic),
        1 => Just(Outcome::Never),
    ];
    (outcome, 0u8..6, 0u8..12, proptest::option::weighted(0.4, 0u8..8)).prop_map(
        |(outcome, work, submit_at, cancel_after)| JobSpec { outcome, work, submit_at, cancel_after },
    )
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let base =
        prop_oneof![Just(BaseSpec::Async), (1usize..4).prop_map(BaseSpec::Blocking), Just(BaseSpec::Inline)];
    (
        base,
        proptest::collection::vec(layer_strategy(), 0..6),
        proptest::collection::vec(job_strategy(), 1..20),
        proptest::option::weighted(0.5, 0u8..16),
    )
        .prop_map(|(base, layers, jobs, shutdown_at)| Case { base, layers, jobs, shutdown_at })
}

// ---------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------

fn stack<J: Send + 'static>(base: Erased<J>, layers: &[LayerSpec], other: &AsyncExecutor) -> Erased<J> {
    let mut exec = base;
    for l in layers {
        exec = match *l {
            LayerSpec::Map(k) => exec.with_map(move |v: u64| v + k).boxed_clone(),
            LayerSpec::MapErr(k) => exec.with_map_err(move |e: u64| e + k).boxed_clone(),
            LayerSpec::FlatMapFuture { add, work } => exec
                .with_flat_map(move |v: u64| async move {
                    for _ in 0..work {
                        tokio::task::yield_now().await;
                    }
                    Ok::<u64, Error<u64>>(v + add)
                })
                .boxed_clone(),
            LayerSpec::FlatMapHandle { add, work } => {
                let other = other.clone();
                exec.with_flat_map(move |v: u64| {
                    other.submit(move || async move {
                        for _ in 0..work {
                            tokio::task::yield_now().await;
                        }
                        Ok::<u64, u64>(v + add)
                    })
                })
                .boxed_clone()
            }
            LayerSpec::Limit(n) => exec.with_concurrency_limit(n).unwrap().boxed_clone(),
            LayerSpec::DynamicLimit(n) => {
                let calls = Arc::new(AtomicUsize::new(0));
                exec.with_dynamic_concurrency_limit(move || 1 + calls.fetch_add(1, SeqCst) % n)
                    .unwrap()
                    .boxed_clone()
            }
            LayerSpec::CancelOnShutdown => exec.with_cancel_on_shutdown().boxed_clone(),
        };
    }
    exec
}

fn result_of(o: Outcome, i: usize) -> Result<u64, u64> {
    match o {
        Outcome::Value(v) => Ok(v),
        Outcome::Error(e) => Err(e),
        Outcome::Panic => panic!("boom from job {i}"),
        Outcome::Never => unreachable!("never-finishing jobs are async"),
    }
}

trait Submit {
    fn submit_job(&self, i: usize, spec: &JobSpec, conc: &Concurrency) -> Handle<u64, u64>;
    fn shutdown(&self);
    fn runtime(&self) -> Runtime;
}

impl Submit for Erased<AsyncJob> {
    fn submit_job(&self, i: usize, spec: &JobSpec, conc: &Concurrency) -> Handle<u64, u64> {
        let (conc, outcome, work) = (conc.clone(), spec.outcome, spec.work);
        let job: AsyncJob = Box::new(move || {
            Box::pin(async move {
                let _running = conc.enter();
                for _ in 0..work {
                    tokio::task::yield_now().await;
                }
                if outcome == Outcome::Never {
                    std::future::pending::<()>().await;
                }
                result_of(outcome, i)
            })
        });
        self.submit(job)
    }
    fn shutdown(&self) {
        Lifecycle::shutdown(self)
    }
    fn runtime(&self) -> Runtime {
        Lifecycle::runtime(self).clone()
    }
}

impl Submit for Erased<SyncJob> {
    fn submit_job(&self, i: usize, spec: &JobSpec, conc: &Concurrency) -> Handle<u64, u64> {
        let (conc, work) = (conc.clone(), spec.work);
        let outcome = match spec.outcome {
            Outcome::Never => Outcome::Value(0),
            o => o,
        };
        let job: SyncJob = Box::new(move || {
            let _running = conc.enter();
            for _ in 0..work {
                std::thread::yield_now();
            }
            result_of(outcome, i)
        });
        self.submit(job)
    }
    fn shutdown(&self) {
        Lifecycle::shutdown(self)
    }
    fn runtime(&self) -> Runtime {
        Lifecycle::runtime(self).clone()
    }
}

struct Record {
    handle: Option<Handle<u64, u64>>,
    after_shutdown: bool,
    cancel_answers: Vec<bool>,
}

async fn run_case(case: Case) -> Result<(), TestCaseError> {
    let other = AsyncExecutor::new();
    let exec: Box<dyn Submit> = match case.base {
        BaseSpec::Async => {
            Box::new(stack(AsyncExecutor::new().boxed_clone::<AsyncJob>(), &case.layers, &other))
        }
        BaseSpec::Blocking(n) => {
            Box::new(stack(BlockingPool::new(n).unwrap().boxed_clone::<SyncJob>(), &case.layers, &other))
        }
        BaseSpec::Inline => {
            Box::new(stack(InlineExecutor::new().boxed_clone::<SyncJob>(), &case.layers, &other))
        }
    };
    let conc = Concurrency::new();
    let mut records: Vec<Record> = case
        .jobs
        .iter()
        .map(|_| Record { handle: None, after_shutdown: false, cancel_answers: vec![] })
        .collect();
    let last_step =
        case.jobs.iter().map(|j| j.submit_at as u32 + j.cancel_after.unwrap_or(0) as u32).max().unwrap_or(0)
            + case.shutdown_at.unwrap_or(0) as u32
            + 1;
    let mut shut_down = false;
    for step in 0..=last_step {
        if case.shutdown_at.map(u32::from) == Some(step) {
            exec.shutdown();
            shut_down = true;
        }
        for (i, spec) in case.jobs.iter().enumerate() {
            if u32::from(spec.submit_at) == step {
                let h = exec.submit_job(i, spec, &conc);
                if shut_down {
                    prop_assert!(h.is_done(), "job {i}: a submit after shutdown must be resolved at once");
                    records[i].after_shutdown = true;
                }
                records[i].handle = Some(h);
            }
            if spec.cancel_after.map(|d| u32::from(spec.submit_at) + u32::from(d)) == Some(step) {
                let answer = records[i].handle.as_ref().expect("submitted before").cancel();
                records[i].cancel_answers.push(answer);
            }
        }
        tokio::task::yield_now().await;
    }
    // Jobs that never finish on their own are cancelled now (an async job in an async stage
    // always accepts).
    for (i, spec) in case.jobs.iter().enumerate() {
        let r = &mut records[i];
        if effective(case.base, spec.outcome) == Outcome::Never && !r.cancel_answers.contains(&true) {
            let h = r.handle.as_ref().unwrap();
            if !h.is_done() {
                let answer = h.cancel();
                prop_assert!(answer, "job {i}: final cancel of a never-ending async job refused");
                r.cancel_answers.push(answer);
            }
        }
    }

    let has_cos = case.layers.iter().any(|l| matches!(l, LayerSpec::CancelOnShutdown));
    let blocking = matches!(case.base, BaseSpec::Blocking(_));
    for (i, spec) in case.jobs.iter().enumerate() {
        let r = &mut records[i];
        let h = r.handle.take().unwrap();
        let out = tokio::time::timeout(Duration::from_secs(30), h)
            .await
            .map_err(|_| TestCaseError::fail(format!("job {i} never resolved")))?;
        let accepted = r.cancel_answers.contains(&true);
        let outcome = effective(case.base, spec.outcome);
        if r.after_shutdown {
            prop_assert_eq!(&out, &Err(Error::ShutDown), "job {} was submitted after shutdown", i);
            continue;
        }
        if accepted {
            prop_assert_eq!(&out, &Err(Error::Cancelled), "job {}: cancel() returned true", i);
            continue;
        }
        match &out {
            Err(Error::Cancelled) => prop_assert!(
                shut_down && has_cos,
                "job {i}: cancelled without an accepted cancel or a cancelling shutdown"
            ),
            Err(Error::ShutDown) => {
                prop_assert!(shut_down && blocking, "job {i}: ShutDown without a shut-down pool")
            }
            Err(Error::Panicked(m)) => {
                prop_assert_eq!(outcome, Outcome::Panic, "job {}: unexpected panic {}", i, m);
                prop_assert_eq!(m, &format!("boom from job {i}"));
            }
            other => {
                let want = expected(&case, outcome);
                prop_assert_eq!(Some(other), want.as_ref(), "job {}: wrong result for {:?}", i, outcome);
            }
        }
    }

    if let Some(bound) = tightest_limit(&case) {
        prop_assert!(conc.peak() <= bound, "{} jobs ran at once, limit {}", conc.peak(), bound);
    }
    prop_assert_eq!(conc.now(), 0, "a job body is still running");

    // Every library task ends after shutdown.
    exec.shutdown();
    other.shutdown();
    for rt in [exec.runtime(), other.runtime().clone()] {
        tokio::time::timeout(Duration::from_secs(30), rt.wait_shutdown())
            .await
            .map_err(|_| TestCaseError::fail("a library task outlived shutdown"))?;
        prop_assert_eq!(rt.task_count(), 0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(1_000), ..ProptestConfig::default() })]

    #[test]
    fn random_stacks_resolve_exactly_once_and_consistently(case in case_strategy()) {
        quiet_expected_panics();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run_case(case))?;
    }
}
