//! Cancel racing completion on a multi-thread runtime never yields both a result and a
//! cancel: `cancel()` returns true exactly when the handle resolves cancelled, and false
//! exactly when it resolves with the job's own outcome.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use common::MyErr;
use more_executors_core::prelude::*;

const ITERATIONS: u32 = 2_000;

/// Checks one resolution against what `cancel()` answered; returns whether it was a cancel.
fn check(i: u32, out: Result<u32, Error<MyErr>>, cancelled: bool, expected: u32) -> bool {
    match out {
        Ok(v) => {
            assert!(!cancelled, "iteration {i}: cancel() returned true but the value {v} was delivered");
            assert_eq!(v, expected, "iteration {i}");
            false
        }
        Err(Error::Job(MyErr::Code(c))) => {
            assert!(!cancelled, "iteration {i}: cancel() returned true but the job error was delivered");
            assert_eq!(c, expected, "iteration {i}");
            false
        }
        Err(Error::Cancelled) => {
            assert!(cancelled, "iteration {i}: resolved cancelled but cancel() returned false");
            true
        }
        other => panic!("iteration {i}: unexpected {other:?}"),
    }
}

async fn yields(n: u32) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_races_async_completion() {
    let exec = AsyncExecutor::new();
    let mut outcomes = [0u32; 2];
    for i in 0..ITERATIONS {
        let h = exec.submit(move || async move {
            yields(i % 5).await;
            if i % 3 == 0 { Err(MyErr::Code(i)) } else { Ok(i) }
        });
        let c = h.canceller();
        let delay = (i * 7) % 11;
        let canceller = tokio::spawn(async move {
            yields(delay).await;
            c.cancel()
        });
        let out = h.await;
        let cancelled = canceller.await.unwrap();
        outcomes[check(i, out, cancelled, i) as usize] += 1;
    }
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "both sides of the race happened: {outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cancellers_race_completion_and_agree() {
    let exec = AsyncExecutor::new().with_concurrency_limit(3).unwrap().with_map(|n: u32| n + 1);
    for i in 0..ITERATIONS {
        let h = exec.submit(move || async move {
            yields(i % 4).await;
            Ok::<_, MyErr>(i)
        });
        let spawn_cancel = |delay: u32| {
            let c = h.canceller();
            tokio::spawn(async move {
                yields(delay).await;
                c.cancel()
            })
        };
        let (a, b) = (spawn_cancel(i % 5), spawn_cancel((i / 5) % 5));
        let out = h.await;
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!(a, b, "iteration {i}: two cancels of the same handle disagree");
        check(i, out, a, i + 1);
    }
}

/// With a blocking pool the job either never runs (cancel true) or runs to the end with
/// its value (cancel false): never both, never neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_races_blocking_start() {
    let pool = BlockingPool::new(2).unwrap();
    let mut outcomes = [0usize; 2];
    for i in 0..ITERATIONS {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = pool.submit(move || {
            r.store(true, SeqCst);
            Ok::<_, MyErr>(i)
        });
        if i % 10 == 9 {
            // Some iterations cancel only once the job has surely started: refused.
            while !ran.load(SeqCst) {
                std::thread::yield_now();
            }
        } else {
            for _ in 0..(i % 50) * 100 {
                std::hint::spin_loop();
            }
        }
        let cancelled = h.cancel();
        let out = h.await;
        let was_cancel = check(i, out, cancelled, i);
        assert_eq!(
            ran.load(SeqCst),
            !was_cancel,
            "iteration {i}: ran={} cancelled={cancelled}",
            ran.load(SeqCst)
        );
        outcomes[was_cancel as usize] += 1;
    }
    assert!(outcomes[0] >= ITERATIONS as usize / 10, "jobs that started were not cancelled: {outcomes:?}");
}

/// The same from a synchronous thread racing the pool thread, without any runtime in the
/// test.
#[test]
fn cancel_races_blocking_completion_from_sync_code() {
    let pool = BlockingPool::new(2).unwrap().with_map(|n: u32| n * 2);
    for i in 0..ITERATIONS {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = pool.submit(move || {
            r.store(true, SeqCst);
            Ok::<_, MyErr>(i)
        });
        for _ in 0..(i % 64) * 10 {
            std::hint::spin_loop();
        }
        let cancelled = h.canceller().cancel();
        let was_cancel = check(i, h.wait(), cancelled, i * 2);
        assert_eq!(ran.load(SeqCst), !was_cancel, "iteration {i}");
    }
}

/// A user's cancel races a shutdown of a cancel-on-shutdown stack and the job's end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_races_cancel_on_shutdown() {
    for i in 0..500u32 {
        let exec = AsyncExecutor::new().with_cancel_on_shutdown();
        let h = exec.submit(move || async move {
            yields(i % 4).await;
            Ok::<_, MyErr>(i)
        });
        let c = h.canceller();
        let user = tokio::spawn(async move {
            yields(i % 3).await;
            c.cancel()
        });
        let e = exec.clone();
        let shutdown = tokio::spawn(async move {
            yields((i / 3) % 3).await;
            e.cancel_pending()
        });
        let out = h.await;
        let user_cancelled = user.await.unwrap();
        let counted = shutdown.await.unwrap();
        assert!(counted <= 1);
        let was_cancel = check(i, out, user_cancelled, i);
        if !was_cancel {
            assert_eq!(
                counted, 0,
                "iteration {i}: shutdown counted a cancel of a job that delivered its value"
            );
        }
        exec.shutdown();
    }
}
