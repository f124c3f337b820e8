//! Which runtime a scheduler runs its jobs on when it is built outside any runtime.

use more_executors_jobs::{ClosedReason, Scheduler, TrySpawnError, WorkerPool};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Built in plain synchronous code, then used from the application's runtime: the jobs run
/// on the application's runtime (here, on the thread driving it), not on a hidden one.
#[test]
fn a_scheduler_built_outside_a_runtime_binds_to_the_runtime_of_its_first_spawn() {
    let scheduler = Scheduler::new();
    let app = current_thread();
    let here = std::thread::current().id();
    let ran_on = app.block_on(async {
        let job = scheduler.spawn(async { Ok::<_, String>(std::thread::current().id()) }).await.unwrap();
        job.await.unwrap()
    });
    assert_eq!(ran_on, here, "the job ran on the application's current-thread runtime");
}

/// The same for a worker pool: its items run on the runtime of the first submit.
#[test]
fn a_pool_built_outside_a_runtime_binds_to_the_runtime_of_its_first_submit() {
    use more_executors_core::Executor;
    let pool = WorkerPool::new(2, 8, |_: u8| async { Ok::<_, String>(std::thread::current().id()) }).unwrap();
    let app = current_thread();
    let here = std::thread::current().id();
    let ran_on = app.block_on(async { pool.submit(1).await.unwrap() });
    assert_eq!(ran_on, here);
}

/// Once the bound runtime is gone, spawning fails with a typed error instead of returning a
/// job that can never run.
#[test]
fn spawning_after_the_bound_runtime_is_gone_fails_with_runtime_gone() {
    let scheduler = Scheduler::new();
    let first = current_thread();
    first.block_on(async {
        let job = scheduler.spawn(async { Ok::<_, String>(1) }).await.unwrap();
        assert_eq!(job.await, Ok(1));
    });
    drop(first);
    let second = current_thread();
    second.block_on(async {
        let err = scheduler.spawn(async { Ok::<_, String>(2) }).await.unwrap_err();
        assert_eq!(err.reason(), ClosedReason::RuntimeGone);
        assert!(err.to_string().contains("runtime"), "{err}");
        assert_eq!(err.into_inner().await, Ok(2), "the future comes back unrun");
        match scheduler.try_spawn(async { Ok::<_, String>(3) }) {
            Err(TrySpawnError::RuntimeGone(_)) => {}
            other => panic!("expected RuntimeGone, got {other:?}"),
        }
        let shield = scheduler.shield(async { Ok::<_, String>(4) }).unwrap_err();
        assert_eq!(shield.reason(), ClosedReason::RuntimeGone);
        // Closing still completes (nothing can run on the dead runtime).
        assert_eq!(scheduler.close().await.total(), 0);
    });
}

/// A scheduler bound to a live runtime is unaffected by another runtime going away.
#[test]
fn another_runtime_going_away_does_not_matter() {
    let scheduler = Scheduler::new();
    let app = current_thread();
    let other = current_thread();
    app.block_on(async { scheduler.spawn(async { Ok::<_, String>(()) }).await.unwrap().await.unwrap() });
    drop(other);
    app.block_on(async {
        assert_eq!(scheduler.spawn(async { Ok::<_, String>(5) }).await.unwrap().await, Ok(5));
    });
}
