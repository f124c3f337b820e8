//! The map layers, [`Map`] and [`MapErr`], however they are built (`with_map`/`with_map_err`,
//! the builder's `.map(..)`/`.map_err(..)`, `MapLayer`/`MapErrLayer` through tower, `new`):
//! what the function is given and when it runs, which errors pass through untouched, a
//! panicking function, cancel through a map, the order of several maps, the accessors and
//! the lifecycle they forward.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use common::{DropFlag, Gate, Latch, MyErr, assert_panicked as panicked};
use more_executors_core::boxed::BoxCloneExecutor;
use more_executors_core::map::{Map, MapErr, MapErrLayer, MapLayer};
use more_executors_core::prelude::*;
use more_executors_test_support::{quiet_expected_panics, settle};
use proptest::prelude::*;

type Double = fn(u32) -> u32;
type Describe = fn(MyErr) -> String;

fn double(n: u32) -> u32 {
    n * 2
}

fn describe(e: MyErr) -> String {
    format!("failed: {e}")
}

/// A function that counts its calls and applies `f`.
fn counted<A, B>(calls: Arc<AtomicUsize>, f: impl Fn(A) -> B + Clone) -> impl Fn(A) -> B + Clone {
    move |a| {
        calls.fetch_add(1, SeqCst);
        f(a)
    }
}

// ------------------------------------------------------------------ output and errors

#[tokio::test]
async fn map_transforms_the_output_on_every_base_executor() {
    let exec = AsyncExecutor::new().with_map(|s: &'static str| s.len());
    assert_eq!(exec.submit(|| async { Ok::<_, MyErr>("four") }).await, Ok(4));

    let pool = BlockingPool::new(1).unwrap().with_map(|n: u32| format!("#{n}"));
    assert_eq!(pool.submit(|| Ok::<_, MyErr>(7)).await, Ok("#7".to_string()));

    let inline = InlineExecutor::new().with_map(|v: Vec<u8>| v.into_iter().map(u32::from).sum::<u32>());
    let h = inline.submit(|| Ok::<_, MyErr>(vec![1, 2, 3]));
    assert!(h.is_done(), "an inline job and its map finish within submit");
    assert_eq!(h.await, Ok(6));
}

#[tokio::test]
async fn every_way_of_building_a_map_makes_the_same_executor() {
    let base = InlineExecutor::new;
    let maps: [Map<MapErr<InlineExecutor, Describe>, Double>; 5] = [
        base().with_map_err(describe as Describe).with_map(double as Double),
        ExecutorBuilder::new().map(double as Double).map_err(describe as Describe).build(base()),
        tower::ServiceBuilder::new()
            .layer(MapLayer::new(double as Double))
            .layer(MapErrLayer::new(describe as Describe))
            .service(base()),
        tower::Layer::layer(
            &MapLayer::new(double as Double),
            tower::Layer::layer(&MapErrLayer::new(describe as Describe), base()),
        ),
        Map::new(MapErr::new(base(), describe as Describe), double as Double),
    ];
    for exec in &maps {
        assert_eq!(exec.submit(|| Ok::<u32, MyErr>(21)).await, Ok(42));
        assert_eq!(
            exec.submit(|| Err::<u32, _>(MyErr::Code(3))).await,
            Err(Error::Job("failed: code 3".to_string()))
        );
    }
}

#[tokio::test]
async fn map_runs_once_per_value_and_never_for_an_error() {
    quiet_expected_panics();
    let calls = Arc::new(AtomicUsize::new(0));
    let exec = AsyncExecutor::new().with_map(counted(calls.clone(), |n: u32| n + 1));

    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(1) }).await, Ok(2));
    assert_eq!(calls.load(SeqCst), 1);

    // The job's own error, unchanged (same variant, same value).
    assert_eq!(
        exec.submit(|| async { Err::<u32, _>(MyErr::Code(9)) }).await,
        Err(Error::Job(MyErr::Code(9)))
    );
    // A panic of the job, with its message.
    panicked(exec.submit(|| async { panic!("boom: job under a map") }).await, "boom: job under a map");
    // A cancel.
    let h = exec.submit(std::future::pending::<Result<u32, MyErr>>);
    assert!(h.cancel());
    assert_eq!(h.await, Err(Error::Cancelled));
    // A shut-down executor.
    exec.shutdown();
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(1) }).await, Err(Error::ShutDown));

    assert_eq!(calls.load(SeqCst), 1, "the map function saw none of the errors");
}

#[tokio::test]
async fn map_err_transforms_only_job_errors() {
    let exec = AsyncExecutor::new().with_map_err(|e: MyErr| format!("wrapped: {e}"));
    let err = exec.submit(|| async { Err::<(), _>(MyErr::Code(2)) }).await.unwrap_err();
    assert_eq!(err, Error::Job("wrapped: code 2".to_string()));
    assert_eq!(err.to_string(), "wrapped: code 2");

    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    assert!(h.cancel());
    assert_eq!(h.await, Err(Error::Cancelled), "library errors pass unchanged");

    exec.shutdown();
    assert_eq!(exec.submit(|| async { Ok::<(), MyErr>(()) }).await, Err(Error::ShutDown));
}

#[tokio::test]
async fn map_err_leaves_values_and_panics_alone() {
    quiet_expected_panics();
    let calls = Arc::new(AtomicUsize::new(0));
    let exec = BlockingPool::new(1).unwrap().with_map_err(counted(calls.clone(), describe));

    assert_eq!(exec.submit(|| Ok::<u32, MyErr>(5)).await, Ok(5), "a value passes unchanged");
    match exec.submit(|| -> Result<u32, MyErr> { panic!("boom: job under map_err") }).await {
        Err(Error::Panicked(msg)) => assert!(msg.contains("boom: job under map_err"), "{msg:?}"),
        other => panic!("expected the job's panic, got {other:?}"),
    }
    assert_eq!(calls.load(SeqCst), 0, "neither a value nor a panic reaches map_err");

    assert_eq!(
        exec.submit(|| Err::<u32, _>(MyErr::NotFound)).await,
        Err(Error::Job("failed: not found".to_string()))
    );
    assert_eq!(calls.load(SeqCst), 1);
}

#[tokio::test]
async fn map_and_map_err_in_one_stack_each_see_only_their_side() {
    let (map_calls, err_calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let exec = AsyncExecutor::new()
        .with_map(counted(map_calls.clone(), |n: u32| n + 100))
        .with_map_err(counted(err_calls.clone(), |e: MyErr| e.to_string()));
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(1) }).await, Ok(101));
    assert_eq!(
        exec.submit(|| async { Err::<u32, _>(MyErr::Code(4)) }).await,
        Err(Error::Job("code 4".into()))
    );
    assert_eq!((map_calls.load(SeqCst), err_calls.load(SeqCst)), (1, 1));
}

// ------------------------------------------------------------------ panics

#[tokio::test]
async fn map_function_panic_fails_only_that_handle() {
    quiet_expected_panics();
    let exec =
        AsyncExecutor::new().with_map(|n: u32| if n == 0 { panic!("boom: map of zero") } else { n * 2 });
    let good = exec.submit(|| async { Ok::<u32, MyErr>(4) });
    let bad = exec.submit(|| async { Ok::<u32, MyErr>(0) });
    panicked(bad.await, "boom: map of zero");
    assert_eq!(good.await, Ok(8));
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(5) }).await, Ok(10));

    let exec = BlockingPool::new(1).unwrap().with_map_err(|_e: MyErr| -> MyErr { panic!("boom: map_err") });
    panicked(exec.submit(|| Err::<u32, _>(MyErr::NotFound)).await, "boom: map_err");
    assert_eq!(exec.submit(|| Ok::<u32, MyErr>(1)).await, Ok(1));
}

/// A handle whose map function panicked has finished: cancelling it afterwards must be
/// refused and must not turn the panic into a cancel.
#[tokio::test]
async fn cancel_after_a_map_panic_is_refused() {
    quiet_expected_panics();
    let exec = AsyncExecutor::new().with_map(|_: u32| -> u32 { panic!("boom: map") });
    let h = exec.submit(|| async { Ok::<u32, MyErr>(1) });
    for _ in 0..100 {
        if h.is_done() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(h.is_done());
    assert!(!h.cancel(), "the job is finished (failed): cancel must return false");
    assert!(!h.is_cancelled());
    panicked(h.await, "boom: map");
}

#[tokio::test]
async fn a_map_panic_inside_a_limit_frees_the_slot() {
    quiet_expected_panics();
    let limited = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let exec = limited.clone().with_map(|n: u32| if n == 0 { panic!("boom: map under a limit") } else { n });
    panicked(exec.submit(|| async { Ok::<u32, MyErr>(0) }).await, "boom: map under a limit");
    assert_eq!(limited.in_flight(), 0, "the panicking job gave its slot back");
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(3) }).await, Ok(3));
}

// ------------------------------------------------------------------ cancel

#[tokio::test]
async fn cancel_through_maps_reaches_a_job_queued_behind_a_limit() {
    let ran = Arc::new(AtomicUsize::new(0));
    let exec = AsyncExecutor::new()
        .with_concurrency_limit(1)
        .unwrap()
        .with_map(|n: u32| n * 10)
        .with_map_err(|e: MyErr| e.to_string());
    let limit = exec.get_ref().get_ref();
    let gate = Gate::new();
    let g = gate.clone();
    let running = exec.submit(move || async move {
        g.wait().await;
        Ok::<u32, MyErr>(1)
    });
    let r = ran.clone();
    let queued = exec.submit(move || {
        r.fetch_add(1, SeqCst);
        async { Ok::<u32, MyErr>(2) }
    });
    settle(20).await;
    assert_eq!((limit.in_flight(), limit.queued()), (1, 1));

    assert!(queued.cancel(), "a queued job can be cancelled through the maps");
    assert!(queued.is_cancelled());
    assert_eq!(queued.await, Err(Error::Cancelled), "neither map touched the cancel");
    assert_eq!(limit.queued(), 0, "the limit dropped the cancelled job");

    gate.open();
    assert_eq!(running.await, Ok(10));
    assert_eq!(ran.load(SeqCst), 0, "the cancelled job never started");
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(3) }).await, Ok(30), "no slot was lost");
}

#[tokio::test]
async fn cancel_through_maps_stops_a_running_async_job() {
    let dropped = Arc::new(AtomicBool::new(false));
    let exec = AsyncExecutor::new().with_map(|n: u32| n + 1).with_map_err(|e: MyErr| e.to_string());
    let started = Gate::new();
    let (s, d) = (started.clone(), dropped.clone());
    let h = exec.submit(move || async move {
        let _flag = DropFlag(d);
        s.open();
        std::future::pending::<Result<u32, MyErr>>().await
    });
    started.wait().await;
    assert!(h.cancel(), "a running async job can be cancelled through the maps");
    assert_eq!(h.await, Err(Error::Cancelled));
    assert!(dropped.load(SeqCst), "the job's future was dropped");
}

#[tokio::test]
async fn cancel_through_maps_of_a_running_blocking_job_is_refused() {
    let exec = BlockingPool::new(1).unwrap().with_map(|n: u32| n + 1).with_map_err(|e: MyErr| e.to_string());
    let release = Latch::new();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let r = release.clone();
    let running = exec.submit(move || {
        started_tx.send(()).unwrap();
        r.wait();
        Ok::<u32, MyErr>(1)
    });
    started_rx.await.unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = ran.clone();
    let queued = exec.submit(move || {
        ran2.store(true, SeqCst);
        Ok::<u32, MyErr>(2)
    });

    assert!(!running.cancel(), "a blocking job that started cannot be stopped");
    assert!(!running.is_cancelled());
    assert!(queued.cancel(), "a job still waiting for a pool thread can be cancelled");

    release.open();
    assert_eq!(running.await, Ok(2), "the refused cancel left the job and its map alone");
    assert_eq!(queued.await, Err(Error::Cancelled));
    assert!(!ran.load(SeqCst), "the cancelled job never ran");
}

// ------------------------------------------------------------------ order

#[tokio::test]
async fn two_maps_compose_in_the_documented_order() {
    let add_one = |n: u32| n + 1;
    let times_ten = |n: u32| n * 10;
    let job = || Ok::<u32, MyErr>(1);

    // Method chain: the last call is the outermost layer, so its function runs last.
    let chain = InlineExecutor::new().with_map(add_one).with_map(times_ten);
    assert_eq!(chain.submit(job).await, Ok(20));
    assert_eq!(chain.get_ref().submit(job).await, Ok(2), "the inner map alone");
    let reversed = InlineExecutor::new().with_map(times_ten).with_map(add_one);
    assert_eq!(reversed.submit(job).await, Ok(11));

    // Builder and tower: the first listed layer is the outermost, so its function runs last.
    let builder = ExecutorBuilder::new().map(times_ten).map(add_one).build(InlineExecutor::new());
    assert_eq!(builder.submit(job).await, Ok(20));
    let tower = tower::ServiceBuilder::new()
        .layer(MapLayer::new(times_ten))
        .layer(MapLayer::new(add_one))
        .service(InlineExecutor::new());
    assert_eq!(tower.submit(job).await, Ok(20));
}

#[tokio::test]
async fn two_map_errs_compose_in_the_documented_order() {
    let exec = AsyncExecutor::new()
        .with_map_err(|e: MyErr| format!("inner({e})"))
        .with_map_err(|s: String| format!("outer({s})"));
    assert_eq!(
        exec.submit(|| async { Err::<(), _>(MyErr::Code(1)) }).await,
        Err(Error::Job("outer(inner(code 1))".to_string()))
    );
    let built = ExecutorBuilder::new()
        .map_err(|s: String| format!("outer({s})"))
        .map_err(|e: MyErr| format!("inner({e})"))
        .build(AsyncExecutor::new());
    assert_eq!(
        built.submit(|| async { Err::<(), _>(MyErr::NotFound) }).await,
        Err(Error::Job("outer(inner(not found))".to_string()))
    );
}

type SyncJob = Box<dyn FnOnce() -> Result<u64, MyErr> + Send>;

#[derive(Debug, Clone, Copy)]
enum Op {
    Add(u64),
    Mul(u64),
    Xor(u64),
}

impl Op {
    fn apply(self, v: u64) -> u64 {
        match self {
            Op::Add(k) => v.wrapping_add(k),
            Op::Mul(k) => v.wrapping_mul(k),
            Op::Xor(k) => v ^ k,
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u64>().prop_map(Op::Add),
        any::<u64>().prop_map(Op::Mul),
        any::<u64>().prop_map(Op::Xor)
    ]
}

proptest! {
    /// Any number of maps added with `with_map` apply in the order they were added (the
    /// innermost, added first, runs first).
    #[test]
    fn a_chain_of_maps_applies_them_in_the_order_added(ops in prop::collection::vec(op(), 0..8), v in any::<u64>()) {
        let mut exec: BoxCloneExecutor<SyncJob, u64, MyErr> = InlineExecutor::new().boxed_clone();
        for op in ops.iter().copied() {
            exec = exec.with_map(move |x: u64| op.apply(x)).boxed_clone();
        }
        let job: SyncJob = Box::new(move || Ok(v));
        let expected = ops.iter().fold(v, |acc, op| op.apply(acc));
        prop_assert_eq!(exec.submit(job).wait(), Ok(expected));
    }
}

// ------------------------------------------------------------------ accessors and lifecycle

fn code_only(e: MyErr) -> String {
    match e {
        MyErr::NotFound => "404".to_string(),
        MyErr::Code(c) => c.to_string(),
    }
}

#[tokio::test]
async fn map_accessors_reach_the_inner_executor() {
    let inner = MapErr::new(InlineExecutor::new(), describe as Describe);
    let mut exec = Map::new(inner, double as Double);
    assert_eq!(exec.submit(|| Ok::<u32, MyErr>(2)).await, Ok(4));
    assert_eq!(exec.get_ref().submit(|| Ok::<u32, MyErr>(2)).await, Ok(2), "get_ref skips this map");

    *exec.get_mut() = MapErr::new(InlineExecutor::new(), code_only as Describe);
    assert_eq!(
        exec.submit(|| Err::<u32, _>(MyErr::NotFound)).await,
        Err(Error::Job("404".to_string())),
        "get_mut replaced the inner executor"
    );
    assert_eq!(exec.submit(|| Ok::<u32, MyErr>(3)).await, Ok(6), "the map itself is kept");

    let inner: MapErr<InlineExecutor, Describe> = exec.into_inner();
    assert_eq!(inner.submit(|| Ok::<u32, MyErr>(3)).await, Ok(3), "into_inner drops the map");
    assert_eq!(inner.submit(|| Err::<u32, _>(MyErr::Code(5))).await, Err(Error::Job("5".to_string())));
}

#[tokio::test]
async fn map_err_accessors_reach_the_inner_executor() {
    let mut exec = MapErr::new(Map::new(InlineExecutor::new(), double as Double), describe as Describe);
    assert_eq!(
        exec.get_ref().submit(|| Err::<u32, _>(MyErr::Code(1))).await,
        Err(Error::Job(MyErr::Code(1))),
        "get_ref skips this map_err"
    );
    assert_eq!(exec.get_ref().submit(|| Ok::<u32, MyErr>(4)).await, Ok(8));

    *exec.get_mut() = Map::new(InlineExecutor::new(), (|n| n + 1) as Double);
    assert_eq!(exec.submit(|| Ok::<u32, MyErr>(4)).await, Ok(5), "get_mut replaced the inner executor");
    assert_eq!(
        exec.submit(|| Err::<u32, _>(MyErr::Code(1))).await,
        Err(Error::Job("failed: code 1".to_string())),
        "the map_err itself is kept"
    );

    let base: InlineExecutor = exec.into_inner().into_inner();
    assert_eq!(base.submit(|| Ok::<u32, MyErr>(4)).await, Ok(4), "into_inner drops both maps");
}

#[tokio::test]
async fn maps_forward_name_kind_and_shutdown() {
    let base = AsyncExecutor::builder().name("reports").build();
    let exec = base.clone().with_map(double as Double).with_map_err(describe as Describe);
    assert_eq!(exec.name(), "reports", "a map has no name of its own");
    assert_eq!(exec.kind(), "map");
    assert_eq!(exec.get_ref().kind(), "map");
    assert!(!exec.runs_inline());
    assert!(InlineExecutor::new().with_map(double as Double).runs_inline());

    exec.shutdown();
    assert!(base.is_shut_down(), "shutdown reaches the inner executor");
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(1) }).await, Err(Error::ShutDown));
}

#[tokio::test]
async fn a_map_adds_no_task() {
    let base = AsyncExecutor::new();
    let exec = base.clone().with_map(double as Double).with_map_err(describe as Describe);
    let gate = Gate::new();
    let gated = |gate: &Gate| {
        let g = gate.clone();
        move || async move {
            g.wait().await;
            Ok::<u32, MyErr>(1)
        }
    };

    let before = base.runtime().task_count();
    let plain = base.submit(gated(&gate));
    settle(20).await;
    let per_plain_job = base.runtime().task_count() - before;

    let before = base.runtime().task_count();
    let mapped = exec.submit(gated(&gate));
    settle(20).await;
    let per_mapped_job = base.runtime().task_count() - before;

    assert!(per_plain_job >= 1, "an async job runs in a task");
    assert_eq!(per_mapped_job, per_plain_job, "the map runs in the job's own task");
    gate.open();
    assert_eq!((plain.await, mapped.await), (Ok(1), Ok(2)));
}
