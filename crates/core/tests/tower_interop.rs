//! tower interop and the three ways to build a stack (tower::ServiceBuilder, the project's
//! ExecutorBuilder, the with_* chain): same stacks, same behaviour, names inherited.
#![cfg(not(loom))]

mod common;

use common::{Gate, MyErr};
use more_executors_core::cancel_on_shutdown::{CancelOnShutdown, CancelOnShutdownLayer};
use more_executors_core::flat_map::FlatMapLayer;
use more_executors_core::limit::{ConcurrencyLimit, ConcurrencyLimitLayer};
use more_executors_core::map::{Map, MapErr, MapErrLayer, MapLayer};
use more_executors_core::prelude::*;
use more_executors_test_support::Concurrency;

type Double = fn(u32) -> u32;
type Wrap = fn(MyErr) -> String;

fn double(n: u32) -> u32 {
    n * 2
}
fn wrap(e: MyErr) -> String {
    format!("wrapped {e}")
}

type Stack = Map<ConcurrencyLimit<CancelOnShutdown<MapErr<AsyncExecutor, Wrap>>>, Double>;

#[tokio::test]
async fn three_builders_make_the_same_stack() {
    let via_tower: Stack = tower::ServiceBuilder::new()
        .layer(MapLayer::new(double as Double))
        .layer(ConcurrencyLimitLayer::new(2).unwrap())
        .layer(CancelOnShutdownLayer::new())
        .layer(MapErrLayer::new(wrap as Wrap))
        .service(AsyncExecutor::new());
    let via_builder: Stack = ExecutorBuilder::new()
        .map(double as Double)
        .concurrency_limit(2)
        .unwrap()
        .cancel_on_shutdown()
        .map_err(wrap as Wrap)
        .build(AsyncExecutor::new());
    // The chain reads inside-out: the last call is the outermost layer.
    let via_chain: Stack = AsyncExecutor::new()
        .with_map_err(wrap as Wrap)
        .with_cancel_on_shutdown()
        .with_concurrency_limit(2)
        .unwrap()
        .with_map(double as Double);
    // And the builder's layer used through tower.
    let via_into_inner: Stack = tower::ServiceBuilder::new()
        .layer(
            ExecutorBuilder::new()
                .map(double as Double)
                .concurrency_limit(2)
                .unwrap()
                .cancel_on_shutdown()
                .map_err(wrap as Wrap)
                .into_inner(),
        )
        .service(AsyncExecutor::new());

    for exec in [&via_tower, &via_builder, &via_chain, &via_into_inner] {
        assert_eq!(exec.kind(), "map", "the first listed layer is the outermost");
        assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(21) }).await, Ok(42));
        assert_eq!(
            exec.submit(|| async { Err::<u32, _>(MyErr::NotFound) }).await,
            Err(Error::Job("wrapped not found".to_string()))
        );
        assert_limit_2(exec).await;
        let pending = exec.submit(std::future::pending::<Result<u32, MyErr>>);
        exec.shutdown();
        assert_eq!(pending.await, Err(Error::Cancelled), "cancel on shutdown is in the stack");
    }
}

async fn assert_limit_2(exec: &Stack) {
    let conc = Concurrency::new();
    let gate = Gate::new();
    let handles: Vec<_> = (0..6u32)
        .map(|i| {
            let (conc, gate) = (conc.clone(), gate.clone());
            exec.submit(move || async move {
                let _r = conc.enter();
                gate.wait().await;
                Ok::<u32, MyErr>(i)
            })
        })
        .collect();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(conc.now(), 2, "the limit layer is in the stack");
    gate.open();
    for (i, h) in (0..6u32).zip(handles) {
        assert_eq!(h.await, Ok(i * 2));
    }
    assert_eq!(conc.peak(), 2);
}

#[test]
fn tower_stack_over_blocking_pool_from_sync_code() {
    let exec = tower::ServiceBuilder::new()
        .layer(MapLayer::new(|s: String| s.len()))
        .layer(ConcurrencyLimitLayer::new(3).unwrap())
        .layer(FlatMapLayer::new(|s: String| async move { Ok::<_, MyErr>(s.repeat(2)) }))
        .service(BlockingPool::new(2).unwrap());
    let handles: Vec<_> = (0..20usize).map(|i| exec.submit(move || Ok::<_, MyErr>("x".repeat(i)))).collect();
    let out: Vec<usize> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn names_are_inherited_down_a_stack() {
    let base = AsyncExecutor::builder().name("uploads").build();
    let stack = base
        .with_map(double as Double)
        .with_concurrency_limit(3)
        .unwrap()
        .with_cancel_on_shutdown()
        .with_flat_map(|n: u32| async move { Ok::<_, Error<MyErr>>(n) });
    assert_eq!(stack.name(), "uploads");
    assert_eq!(stack.kind(), "flat_map");

    let via_tower = tower::ServiceBuilder::new()
        .layer(MapLayer::new(double as Double))
        .layer(ConcurrencyLimitLayer::new(2).unwrap())
        .service(BlockingPool::builder().threads(1).name("io").build().unwrap());
    assert_eq!(via_tower.name(), "io");
    assert_eq!(via_tower.get_ref().name(), "io");
    assert_eq!(via_tower.get_ref().kind(), "throttle");
}

#[test]
fn a_layers_own_name_overrides_and_is_inherited_by_outer_layers() {
    let base = AsyncExecutor::builder().name("base").build();
    let limited =
        tower::Layer::layer(&ConcurrencyLimitLayer::new(2).unwrap().name("throttled"), base.clone());
    assert_eq!(limited.name(), "throttled");
    let outer = limited.with_map(double as Double).with_cancel_on_shutdown();
    assert_eq!(outer.name(), "throttled", "outer layers inherit the nearest name");
    assert_eq!(base.name(), "base", "the inner executor keeps its own name");
}

#[test]
fn layers_are_cheap_to_clone_and_share_state() {
    let exec = InlineExecutor::new().with_concurrency_limit(2).unwrap();
    let clone = exec.clone();
    assert_eq!(clone.limit(), 2);
    exec.shutdown();
    assert!(clone.is_shut_down(), "clones share the runtime and its shutdown");
    fn send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    send_sync(&exec);
    send_sync(&AsyncExecutor::new().with_map(double as Double).with_cancel_on_shutdown());
}

#[tokio::test]
async fn inline_executor_in_a_tower_stack_resolves_without_a_task() {
    let exec = tower::ServiceBuilder::new()
        .layer(MapLayer::new(double as Double))
        .layer(MapErrLayer::new(wrap as Wrap))
        .service(InlineExecutor::new());
    assert!(exec.runs_inline());
    let before = exec.runtime().task_count();
    let h = exec.submit(|| Ok::<u32, MyErr>(4));
    assert!(h.is_done());
    assert_eq!(exec.runtime().task_count(), before, "no driver task for a job resolved inline");
    assert_eq!(h.await, Ok(8));
}
