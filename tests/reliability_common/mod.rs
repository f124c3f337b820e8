//! Helpers shared by the `reliability_*` test binaries: paused-time runtimes, task counting
//! and bounded waits. Helpers shared with the crates' tests (the concurrency tracker,
//! panic-hook silencing) are in `more-executors-test-support`.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use more_executors_test_support::settle;

/// A current-thread runtime with paused time (timers fire when the runtime is idle).
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap()
}

/// Tasks alive on the current runtime (the `block_on` future is not a task).
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

/// Lets the runtime run until at most `baseline` tasks are alive, advancing (paused) time
/// by up to `budget`; returns the number alive at the end.
pub async fn drain_tasks(baseline: usize, budget: Duration) -> usize {
    let step = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    loop {
        // Let tasks woken at this instant finish before looking.
        settle(8).await;
        let alive = alive_tasks();
        if alive <= baseline || waited >= budget {
            return alive;
        }
        tokio::time::sleep(step).await;
        waited += step;
    }
}

/// Awaits `fut`, giving up only once at least `virtual_bound` of (paused) tokio time **and**
/// `real_floor` of wall-clock time have passed. With paused time a plain
/// `tokio::time::timeout` would expire at once while the runtime idles waiting for a
/// blocking-pool thread (real threads do not hold the clock back); the real-time floor gives
/// such threads time to deliver. A future that resolves returns at once.
pub async fn bounded<F: Future>(fut: F, virtual_bound: Duration, real_floor: Duration) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let (v0, r0) = (tokio::time::Instant::now(), std::time::Instant::now());
    let mut step = Duration::from_millis(1);
    loop {
        tokio::select! {
            biased;
            out = &mut fut => return Some(out),
            _ = tokio::time::sleep(step) => {}
        }
        let virtual_done = v0.elapsed() >= virtual_bound;
        if virtual_done && r0.elapsed() >= real_floor {
            return None;
        }
        if virtual_done {
            std::thread::sleep(Duration::from_millis(1));
        } else {
            step = (step * 2).min(Duration::from_secs(60));
        }
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
