//! Leaks: dropping every executor and handle mid-flight ends every library task and leaves
//! no memory reachable; shutting down mid-flight does the same for work that would never
//! finish. Memory is measured with a counting global allocator (`cap`, which needs no
//! `unsafe` here): the same round is run 10 times and live bytes must not grow.
//!
//! The `#[ignore]`d soak test pushes 10,000,000 jobs through the full stack and samples
//! live bytes every million jobs:
//! `cargo test --release --test reliability_leaks -- --ignored soak --nocapture`.

mod reliability_common;

use std::alloc::System;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use cap::Cap;
use more_executors::Error;
use more_executors::poll::{PollBuilderExt, PollDescriptor, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryBuilderExt};
use more_executors::timeout::TimeoutBuilderExt;
use more_executors_test_support::{quiet_expected_panics, this_thread};
use reliability_common::{alive_tasks, ms, paused_runtime};

/// Counts live heap bytes of this test binary.
#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// The tests of this binary measure the process-wide allocator: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const ROUNDS: usize = 10;
const JOBS: u64 = 300;

/// Resolves every descriptor on every `every`-th call (no state that grows with the jobs).
fn poll_layer(every: u64) -> PollLayer<u64, u64, u64> {
    let calls = AtomicU64::new(0);
    PollLayer::new(move |ds: &mut [PollDescriptor<u64, u64, u64>]| {
        if calls.fetch_add(1, SeqCst) % every == every - 1 {
            for d in ds.iter_mut() {
                let v = *d.input();
                d.yield_result(v * 2);
            }
        }
        Ok(Some(ms(1)))
    })
    .first_poll_delay(Duration::ZERO)
}

/// Every layer, outermost first.
macro_rules! full_stack {
    ($base:expr) => {
        full_stack!($base, 50, poll_layer(2))
    };
    ($base:expr, $limit:expr, $poll:expr) => {
        ExecutorBuilder::new()
            .cancel_on_shutdown()
            .concurrency_limit($limit)
            .unwrap()
            .retry(
                ExponentialBackoff::builder().max_attempts(3).sleep(ms(1)).max_sleep(ms(2)).build().unwrap(),
            )
            .timeout(Duration::from_secs(1))
            .unwrap()
            .flat_map(|v: u64| async move { Ok::<_, Error<u64>>(v + 1) })
            .poll($poll)
            .map(|v: u64| v + 1)
            .build($base)
    };
}

/// An async job: a value, an error (retried), a panic, a short delay, a delay past the
/// timeout (timed out, retried) or, with `never`, a job that never finishes.
fn async_job(
    i: u64,
    never: bool,
) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Result<u64, u64>> + Send>> + Clone + Send {
    move || {
        Box::pin(async move {
            match i % 6 {
                0 | 1 => Ok(i),
                2 => Err(i),
                3 => panic!("boom {i}"),
                4 => {
                    tokio::time::sleep(ms(5)).await;
                    Ok(i)
                }
                _ if never => std::future::pending().await,
                _ => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(i)
                }
            }
        })
    }
}

/// Lets the runtime run (advancing paused time) until at most `baseline` tasks are alive,
/// waiting at least `real` of wall-clock time for blocking-pool threads before giving up.
async fn drain(baseline: usize, real: Duration) -> usize {
    let r0 = std::time::Instant::now();
    loop {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        let alive = alive_tasks();
        if alive <= baseline || r0.elapsed() > real {
            return alive;
        }
        tokio::time::sleep(ms(1)).await;
    }
}

/// Makes each of the pool's `n` threads report its `/proc` entry (a barrier of `n` jobs
/// needs `n` distinct threads).
async fn pool_threads(pool: &BlockingPool, n: usize) -> Vec<std::path::PathBuf> {
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let b = barrier.clone();
            pool.submit(move || {
                b.wait();
                Ok::<_, ()>(this_thread())
            })
        })
        .collect();
    let mut threads = Vec::new();
    for h in handles {
        threads.extend(h.await.unwrap());
    }
    threads
}

/// Runs `round` `ROUNDS` times on one paused runtime; after each round every task must
/// have ended, and every thread the round reported (a blocking pool's). Returns live bytes
/// after each round.
fn live_bytes_per_round<F, Fut>(round: F) -> Vec<usize>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Vec<std::path::PathBuf>>,
{
    let rt = paused_runtime();
    rt.block_on(async {
        let baseline = alive_tasks();
        let mut live = Vec::with_capacity(ROUNDS);
        for r in 0..ROUNDS {
            let threads = round(r).await;
            let alive = drain(baseline, Duration::from_secs(10)).await;
            assert_eq!(alive, baseline, "round {r}: library tasks still alive");
            // Generous: on a loaded machine a pool thread may wait seconds for a CPU to exit.
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while threads.iter().any(|t| t.exists()) && std::time::Instant::now() < deadline {
                std::thread::sleep(ms(1));
            }
            assert!(!threads.iter().any(|t| t.exists()), "round {r}: pool threads still alive");
            live.push(ALLOC.allocated());
        }
        live
    })
}

/// Live bytes must not grow across rounds. After two warm-up rounds (lazy statics, tokio's
/// slabs and timer wheel reaching their size): at most two rounds may end above the round
/// before (a one-off growth of an internal buffer), and the last round ends at most `slack`
/// above round 1. A leak of even one byte per job grows every round and fails the first
/// rule; a leaked handle (about 1 KiB) per round fails both.
fn assert_flat(what: &str, live: &[usize], slack: usize) {
    eprintln!("{what}: live bytes after each round: {live:?}");
    let grew = live[1..].windows(2).filter(|w| w[1] > w[0]).count();
    assert!(grew <= 2, "{what}: live bytes grew in {grew} of {} rounds: {live:?}", live.len() - 2);
    let (warm, last) = (live[1], live[live.len() - 1]);
    assert!(
        last <= warm + slack,
        "{what}: {} bytes more live after the last round than after round 1",
        last - warm
    );
}

#[test]
fn dropping_executors_and_handles_mid_flight_ends_every_task_and_frees_everything() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    quiet_expected_panics();
    let live = live_bytes_per_round(|_| async {
        let exec = full_stack!(AsyncExecutor::new());
        let handles: Vec<_> = (0..JOBS).map(|i| exec.submit(async_job(i, false))).collect();
        tokio::time::sleep(ms(2)).await;
        for h in handles.iter().step_by(7) {
            h.cancel();
        }
        // Mid-flight: jobs queued in the limit, running, waiting to retry, in the poll set.
        assert!(handles.iter().any(|h| !h.is_done()));
        drop(handles);
        drop(exec);
        vec![]
    });
    assert_flat("drop mid-flight", &live, 4 * 1024);
}

#[test]
fn shutting_down_mid_flight_ends_never_finishing_work_and_frees_everything() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    quiet_expected_panics();
    let live = live_bytes_per_round(|_| async {
        let exec = full_stack!(AsyncExecutor::new());
        let handles: Vec<_> = (0..JOBS).map(|i| exec.submit(async_job(i, true))).collect();
        tokio::time::sleep(ms(2)).await;
        exec.shutdown();
        drop(exec);
        // Every handle is resolved (the never-ending jobs were cancelled by the shutdown).
        for h in handles {
            let _ = h.await;
        }
        vec![]
    });
    assert_flat("shutdown mid-flight", &live, 4 * 1024);
}

#[test]
fn dropping_a_blocking_stack_mid_flight_ends_every_task_and_thread() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    quiet_expected_panics();
    let live = live_bytes_per_round(|_| async {
        let pool = BlockingPool::builder().threads(3).thread_name("rel-leak").build().unwrap();
        let threads = pool_threads(&pool, 3).await;
        assert_eq!(threads.len(), 3);
        let exec = full_stack!(pool);
        let handles: Vec<_> = (0..JOBS)
            .map(|i| {
                exec.submit(move || match i % 4 {
                    0 | 1 => Ok(i),
                    2 => Err(i),
                    _ => panic!("boom {i}"),
                })
            })
            .collect();
        for h in handles.iter().step_by(5) {
            h.cancel();
        }
        drop(handles);
        drop(exec);
        threads
    });
    assert_flat("blocking drop mid-flight", &live, 4 * 1024);
}

#[test]
fn dropped_handles_of_finished_jobs_free_their_results() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // Large results held only by handles nobody awaits: dropping the handles frees them.
    let live = live_bytes_per_round(|_| async {
        let exec = AsyncExecutor::new().with_map(|v: Vec<u8>| v);
        let handles: Vec<_> =
            (0..50).map(|_| exec.submit(|| async { Ok::<_, ()>(vec![7u8; 64 * 1024]) })).collect();
        tokio::time::sleep(ms(1)).await;
        assert!(handles.iter().all(|h| h.is_done()));
        assert!(ALLOC.allocated() > 50 * 64 * 1024, "the results are held until the handles go");
        drop(handles);
        vec![]
    });
    assert_flat("dropped finished handles", &live, 4 * 1024);
}

/// 10,000,000 jobs through the full stack, in batches, with live bytes sampled every
/// million jobs: they must stay flat.
#[test]
#[ignore = "soak: minutes in release; run with --ignored soak --nocapture"]
fn soak() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    quiet_expected_panics();
    let total: u64 = std::env::var("SOAK_JOBS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    const BATCH: u64 = 10_000;
    const SAMPLE_EVERY: u64 = 1_000_000;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let started = std::time::Instant::now();
    let samples = rt.block_on(async {
        let exec = full_stack!(AsyncExecutor::new(), 2 * BATCH as usize, poll_layer(1));
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut samples = vec![(0u64, ALLOC.allocated())];
        let mut done = 0u64;
        let mut outcomes = [0u64; 4];
        while done < total {
            let handles: Vec<_> = (done..done + BATCH)
                .map(|i| {
                    exec.submit(move || async move {
                        match i % 10 {
                            0 => Err(i),
                            1 => {
                                tokio::task::yield_now().await;
                                Ok(i)
                            }
                            _ => Ok(i),
                        }
                    })
                })
                .collect();
            for h in handles.iter().skip(3).step_by(97) {
                if h.cancel() {
                    cancelled.store(true, SeqCst);
                }
            }
            for (i, h) in (done..).zip(handles) {
                match h.await {
                    Ok(v) => {
                        assert_eq!(v, (i + 1) * 2 + 1);
                        outcomes[0] += 1;
                    }
                    Err(Error::Job(e)) => {
                        assert_eq!(e, i);
                        outcomes[1] += 1;
                    }
                    Err(Error::Cancelled) => outcomes[2] += 1,
                    Err(other) => panic!("job {i}: {other:?}"),
                }
            }
            done += BATCH;
            if done % SAMPLE_EVERY == 0 {
                samples.push((done, ALLOC.allocated()));
                eprintln!(
                    "{done:>10} jobs  {:>10} live bytes  {:>6.1} s  (ok {}, error {}, cancelled {})",
                    ALLOC.allocated(),
                    started.elapsed().as_secs_f64(),
                    outcomes[0],
                    outcomes[1],
                    outcomes[2]
                );
            }
        }
        assert!(cancelled.load(SeqCst), "some cancels landed");
        exec.shutdown();
        samples
    });
    drop(rt);
    let elapsed = started.elapsed();
    eprintln!(
        "soak: {total} jobs in {:.1} s ({:.0} jobs/s); live bytes at the end {}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        ALLOC.allocated()
    );
    // Flat: after the first sample (warm-up), no sample exceeds the warmed-up level by more
    // than 1 MiB (a leak of one byte per job would be 10 MB).
    let warm = samples.get(1).map_or(0, |s| s.1);
    let max = samples.iter().skip(1).map(|s| s.1).max().unwrap_or(0);
    assert!(max <= warm + (1 << 20), "live bytes grew from {warm} to {max}: {samples:?}");
}
