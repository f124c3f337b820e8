//! Error: each variant produced where it should be, the job's own typed error intact
//! through layers, predicates and messages.
#![cfg(not(loom))]

mod common;

use std::error::Error as _;
use std::time::Duration;

use common::{Latch, MyErr};
use more_executors_core::prelude::*;
use more_executors_test_support::quiet_expected_panics;

#[tokio::test]
async fn job_error_is_typed_and_matchable_on_every_base_executor() {
    let a = AsyncExecutor::new().submit(|| async { Err::<u8, _>(MyErr::NotFound) }).await;
    let b = BlockingPool::new(1).unwrap().submit(|| Err::<u8, _>(MyErr::Code(4))).await;
    let c = InlineExecutor::new().submit(|| Err::<u8, _>(MyErr::Code(5))).await;
    // Matched structurally, no downcasting or string parsing.
    assert!(matches!(a, Err(Error::Job(MyErr::NotFound))));
    assert!(matches!(b, Err(Error::Job(MyErr::Code(4)))));
    assert!(matches!(c, Err(Error::Job(MyErr::Code(5)))));
}

#[tokio::test]
async fn job_error_survives_a_stack_of_layers() {
    let exec = AsyncExecutor::new()
        .with_concurrency_limit(2)
        .unwrap()
        .with_map(|n: u32| n + 1)
        .with_cancel_on_shutdown()
        .with_flat_map(|n: u32| async move { Ok::<_, Error<MyErr>>(n * 2) });
    assert_eq!(exec.submit(|| async { Ok::<u32, MyErr>(1) }).await, Ok(4));
    match exec.submit(|| async { Err::<u32, _>(MyErr::Code(9)) }).await {
        Err(Error::Job(MyErr::Code(code))) => assert_eq!(code, 9),
        other => panic!("expected the job's own error, got {other:?}"),
    }
}

#[tokio::test]
async fn flat_map_step_error_fails_the_handle_with_its_error() {
    let exec = InlineExecutor::new()
        .with_flat_map(|n: u32| async move { if n == 0 { Err(Error::Job(MyErr::NotFound)) } else { Ok(n) } });
    assert_eq!(exec.submit(|| Ok::<u32, MyErr>(0)).await, Err(Error::Job(MyErr::NotFound)));
    assert_eq!(exec.submit(|| Ok::<u32, MyErr>(3)).await, Ok(3));
    // An error of the first step skips the second.
    assert_eq!(exec.submit(|| Err::<u32, _>(MyErr::Code(1))).await, Err(Error::Job(MyErr::Code(1))));
}

#[tokio::test]
async fn cancelled_panicked_and_shut_down_are_produced() {
    quiet_expected_panics();
    let exec = AsyncExecutor::new();
    let h = exec.submit(std::future::pending::<Result<(), MyErr>>);
    h.cancel();
    let e = h.await.unwrap_err();
    assert!(e.is_cancelled() && !e.is_job() && !e.is_panicked());

    let r: Result<(), Error<MyErr>> = exec.submit(|| async { panic!("boom: disk on fire") }).await;
    let e = r.unwrap_err();
    assert_eq!(e, Error::Panicked("boom: disk on fire".into()));
    assert!(e.is_panicked());

    let pool = BlockingPool::new(1).unwrap();
    let n = 7;
    let e = pool.submit(move || -> Result<(), MyErr> { panic!("boom {n}") }).await.unwrap_err();
    assert_eq!(e, Error::Panicked("boom 7".into()), "formatted panic messages are kept");

    let e = InlineExecutor::new()
        .submit(|| -> Result<(), MyErr> { std::panic::panic_any(17u32) })
        .await
        .unwrap_err();
    assert!(e.is_panicked(), "a non-string payload is still a panic: {e:?}");

    exec.shutdown();
    let e = exec.submit(|| async { Ok::<(), MyErr>(()) }).await.unwrap_err();
    assert!(e.is_shut_down());
}

#[test]
fn display_messages() {
    let cases: Vec<(Error<MyErr>, &str)> = vec![
        (Error::Job(MyErr::NotFound), "not found"),
        (Error::Cancelled, "the job was cancelled"),
        (Error::TimedOut(Duration::from_millis(1500)), "the job timed out after 1.5s"),
        (Error::Panicked("oops".into()), "the job panicked: oops"),
        (Error::ShutDown, "the executor was shut down before the job completed"),
    ];
    for (err, msg) in cases {
        assert_eq!(err.to_string(), msg);
    }
}

#[test]
fn predicates_accessors_and_source() {
    let all: Vec<Error<MyErr>> = vec![
        Error::Job(MyErr::Code(1)),
        Error::Cancelled,
        Error::TimedOut(Duration::from_secs(1)),
        Error::Panicked("p".into()),
        Error::ShutDown,
    ];
    let flags: Vec<[bool; 5]> = all
        .iter()
        .map(|e| [e.is_job(), e.is_cancelled(), e.is_timed_out(), e.is_panicked(), e.is_shut_down()])
        .collect();
    for (i, f) in flags.iter().enumerate() {
        // Exactly one predicate holds, and it is the variant's own.
        assert_eq!(f.iter().filter(|b| **b).count(), 1);
        assert!(f[i]);
    }

    let job = Error::Job(MyErr::Code(1));
    assert_eq!(job.job_error(), Some(&MyErr::Code(1)));
    // The job's error is shown once in a chain: `Error::Job` displays as the job's error
    // and passes its source through.
    assert_eq!(job.to_string(), "code 1");
    assert!(job.source().is_none(), "MyErr has no source of its own");
    #[derive(Debug, thiserror::Error)]
    #[error("upload failed")]
    struct Upload(#[source] MyErr);
    let chained: Error<Upload> = Error::Job(Upload(MyErr::Code(2)));
    assert_eq!(chained.to_string(), "upload failed");
    assert_eq!(chained.source().map(|s| s.to_string()).as_deref(), Some("code 2"));
    assert_eq!(job.clone().into_job_error(), Some(MyErr::Code(1)));
    assert_eq!(Error::<MyErr>::Cancelled.job_error(), None);
    assert!(Error::<MyErr>::Cancelled.source().is_none());

    let mapped: Error<String> = job.map_job(|e| e.to_string());
    assert_eq!(mapped, Error::Job("code 1".into()));
    let kept: Error<String> = Error::<MyErr>::TimedOut(Duration::from_secs(2)).map_job(|e| e.to_string());
    assert_eq!(kept, Error::TimedOut(Duration::from_secs(2)));

    let from: Error<MyErr> = MyErr::NotFound.into();
    assert_eq!(from, Error::Job(MyErr::NotFound));

    // `?` converts a job error into Error inside user code.
    fn step() -> Result<(), Error<MyErr>> {
        Err(MyErr::Code(3))?;
        Ok(())
    }
    assert_eq!(step(), Err(Error::Job(MyErr::Code(3))));

    // Usable as a boxed std error.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::<MyErr>::Cancelled);
    assert_eq!(boxed.to_string(), "the job was cancelled");
}

#[test]
fn errors_reach_sync_callers_unchanged() {
    let pool = BlockingPool::new(2).unwrap().with_map_err(|e: MyErr| vec![e]);
    assert_eq!(pool.submit(|| Err::<(), _>(MyErr::NotFound)).wait(), Err(Error::Job(vec![MyErr::NotFound])));

    let latch = Latch::new();
    let l = latch.clone();
    let inner = BlockingPool::new(1).unwrap();
    let _busy = inner.submit(move || {
        l.wait();
        Ok::<(), MyErr>(())
    });
    let queued = inner.submit(|| Ok::<(), MyErr>(()));
    assert!(queued.cancel());
    latch.open();
    assert_eq!(queued.wait(), Err(Error::Cancelled));
}

#[test]
fn config_errors_name_the_setting() {
    use more_executors_core::limit::{ConcurrencyLimit, ConcurrencyLimitLayer};
    let cases: Vec<(ConfigError, &str)> = vec![
        (BlockingPool::new(0).unwrap_err(), "thread count"),
        (ConcurrencyLimit::new(InlineExecutor::new(), 0).unwrap_err(), "concurrency limit"),
        (ConcurrencyLimitLayer::new(0).unwrap_err(), "concurrency limit"),
        (ExecutorBuilder::new().concurrency_limit(0).err().unwrap(), "concurrency limit"),
        (InlineExecutor::new().with_concurrency_limit(0).unwrap_err(), "concurrency limit"),
    ];
    for (err, setting) in cases {
        assert_eq!(err.setting(), setting);
        assert_eq!(
            err.to_string(),
            format!("invalid {setting}: 0 would never let anything run; use at least 1")
        );
    }
}
