//! Spawn-and-complete hot path: N trivial jobs (default 1,000,000) with limit 100, on the
//! scheduler and on the raw-tokio equivalent (a `JoinSet` plus a `Semaphore(100)`, the
//! spawner taking a permit before each spawn), in the same run, on a current-thread and a
//! 2-worker runtime. Set `JOBS_BENCH_N` for a shorter run, e.g. `JOBS_BENCH_N=100000`.
//!
//! - `scheduler_detached`: default pending limit (10,000): the spawner runs up to 10,000
//!   jobs ahead of the workers; every `Job` is dropped; then `idle().await`.
//! - `scheduler_detached_pending_0`: `pending_limit(0)`, the same back pressure as the
//!   baseline (the spawner waits for a free slot).
//! - `scheduler_awaited`: every `Job` awaited, in batches of 1,000.
//!
//! `cargo bench -p more-executors-jobs --bench jobs`

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use more_executors_jobs::Scheduler;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

fn n() -> usize {
    std::env::var("JOBS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().unwrap()
    }
}

/// Spawns `n` trivial jobs through the scheduler (detached), then waits until all finished.
async fn scheduler_detached(n: usize, pending: usize) {
    let s = Scheduler::builder().limit(100).pending_limit(pending).build().unwrap();
    for i in 0..n {
        let job = s.spawn(async move { Ok::<_, Infallible>(black_box(i)) }).await.unwrap();
        drop(job);
    }
    s.idle().await;
}

/// Spawns `n` trivial jobs through the scheduler and awaits every `Job` handle, in batches.
async fn scheduler_awaited(n: usize) {
    let s = Scheduler::builder().limit(100).build().unwrap();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        batch.push(s.spawn(async move { Ok::<_, Infallible>(black_box(i)) }).await.unwrap());
        if batch.len() == 1000 {
            for job in batch.drain(..) {
                black_box(job.await.unwrap());
            }
        }
    }
    for job in batch {
        black_box(job.await.unwrap());
    }
}

/// The baseline: a semaphore of 100 permits and a `JoinSet`.
async fn joinset_semaphore(n: usize) {
    let sem = Arc::new(Semaphore::new(100));
    let mut set = JoinSet::new();
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.unwrap();
        set.spawn(async move {
            let _permit = permit;
            black_box(i)
        });
        while let Some(r) = set.try_join_next() {
            black_box(r.unwrap());
        }
    }
    while let Some(r) = set.join_next().await {
        black_box(r.unwrap());
    }
}

fn bench(c: &mut Criterion) {
    let n = n();
    for threads in [1, 2] {
        let rt = runtime(threads);
        let mut g = c.benchmark_group(format!("spawn_complete_{n}_limit_100_{threads}thr"));
        g.sample_size(10).measurement_time(Duration::from_secs(if n >= 1_000_000 { 20 } else { 5 }));
        g.bench_function("tokio_joinset_semaphore", |b| b.to_async(&rt).iter(|| joinset_semaphore(n)));
        g.bench_function("scheduler_detached", |b| b.to_async(&rt).iter(|| scheduler_detached(n, 10_000)));
        g.bench_function("scheduler_detached_pending_0", |b| {
            b.to_async(&rt).iter(|| scheduler_detached(n, 0))
        });
        g.bench_function("scheduler_awaited", |b| b.to_async(&rt).iter(|| scheduler_awaited(n)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
