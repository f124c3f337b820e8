//! Hot paths of the core crate, so regressions show up in `cargo bench -p more-executors-core`.
//!
//! - `submit`: submit + await of a trivial job on the async base (one at a time and in a
//!   batch of 1,000), on the blocking pool, on the inline executor, and through a
//!   map + concurrency-limit stack (most jobs queue behind the limit).
//! - `resolve`: a job parked on a channel, resolved from outside, and its handle awaited
//!   (wake-up and result delivery); awaiting a handle created already resolved.
//! - `cancel`: cancelling a running job and awaiting the cancelled handle; cancelling a
//!   job queued in a concurrency limit.
//!
//! Every async measurement runs inside a task on a 2-worker multi-thread runtime, the
//! configuration of the side-by-side harness (`cargo bench --bench compare`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use more_executors_core::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Times `iters` runs of `body` inside one task on `rt`.
fn in_task<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, body: F) -> Duration
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    rt.block_on(rt.spawn(async move {
        let start = Instant::now();
        for _ in 0..iters {
            body().await;
        }
        start.elapsed()
    }))
    .unwrap()
}

fn async_executor(rt: &tokio::runtime::Runtime) -> AsyncExecutor {
    AsyncExecutor::builder().runtime(Runtime::from_handle(rt.handle().clone())).build()
}

fn submit(c: &mut Criterion) {
    let rt = runtime();
    let exec = async_executor(&rt);
    let mut g = c.benchmark_group("submit");

    let e = exec.clone();
    g.bench_function("async/one", |b| {
        b.iter_custom(|iters| {
            let e = e.clone();
            in_task(&rt, iters, move || {
                let h = e.submit(|| async { Ok::<u64, ()>(black_box(1)) });
                async move {
                    h.await.unwrap();
                }
            })
        })
    });

    const BATCH: usize = 1000;
    g.throughput(Throughput::Elements(BATCH as u64));
    let e = exec.clone();
    g.bench_function(BenchmarkId::new("async/batch", BATCH), |b| {
        b.iter_custom(|iters| {
            let e = e.clone();
            in_task(&rt, iters, move || {
                let hs: Vec<_> =
                    (0..BATCH).map(|_| e.submit(|| async { Ok::<u64, ()>(black_box(1)) })).collect();
                async move {
                    for h in hs {
                        h.await.unwrap();
                    }
                }
            })
        })
    });

    let stack = exec.clone().with_concurrency_limit(100).unwrap().with_map(|x: u64| x + 1);
    g.bench_function(BenchmarkId::new("map+limit(100)/batch", BATCH), |b| {
        b.iter_custom(|iters| {
            let s = stack.clone();
            in_task(&rt, iters, move || {
                let hs: Vec<_> =
                    (0..BATCH).map(|_| s.submit(|| async { Ok::<u64, ()>(black_box(1)) })).collect();
                async move {
                    for h in hs {
                        h.await.unwrap();
                    }
                }
            })
        })
    });
    g.throughput(Throughput::Elements(1));

    let pool = BlockingPool::builder()
        .threads(4)
        .runtime(Runtime::from_handle(rt.handle().clone()))
        .build()
        .unwrap();
    g.bench_function("blocking/one", |b| {
        b.iter_custom(|iters| {
            let p = pool.clone();
            in_task(&rt, iters, move || {
                let h = p.submit(|| Ok::<u64, ()>(black_box(1)));
                async move {
                    h.await.unwrap();
                }
            })
        })
    });

    let inline = rt.block_on(async { InlineExecutor::new() });
    g.bench_function("inline/one", |b| {
        b.iter(|| inline.submit(|| Ok::<u64, ()>(black_box(1))).wait().unwrap())
    });
    g.finish();
    pool.shutdown();
}

fn resolve(c: &mut Criterion) {
    let rt = runtime();
    let exec = async_executor(&rt);
    let mut g = c.benchmark_group("resolve");

    let e = exec.clone();
    g.bench_function("parked_job_woken", |b| {
        b.iter_custom(|iters| {
            let e = e.clone();
            in_task(&rt, iters, move || {
                let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
                let h = e.submit(move || async move { rx.await.map_err(|_| ()) });
                async move {
                    tokio::task::yield_now().await; // let the job park on the channel
                    tx.send(1).unwrap();
                    h.await.unwrap();
                }
            })
        })
    });

    g.bench_function("ready_handle", |b| {
        b.iter_custom(|iters| {
            in_task(&rt, iters, || async {
                let h: Handle<u64, ()> = Handle::ready(black_box(1));
                h.await.unwrap();
            })
        })
    });
    g.finish();
}

fn cancel(c: &mut Criterion) {
    let rt = runtime();
    let exec = async_executor(&rt);
    let mut g = c.benchmark_group("cancel");

    let e = exec.clone();
    g.bench_function("running_job", |b| {
        b.iter_custom(|iters| {
            let e = e.clone();
            in_task(&rt, iters, move || {
                let h = e.submit(std::future::pending::<Result<u64, ()>>);
                async move {
                    assert!(h.cancel());
                    assert!(h.await.unwrap_err().is_cancelled());
                }
            })
        })
    });

    // One job holds the only slot; each measured job queues behind it and is cancelled.
    let limited = exec.clone().with_concurrency_limit(1).unwrap();
    let blocker = {
        let _enter = rt.enter();
        limited.submit(std::future::pending::<Result<u64, ()>>)
    };
    g.bench_function("queued_in_limit", |b| {
        b.iter_custom(|iters| {
            let l = limited.clone();
            in_task(&rt, iters, move || {
                let h = l.submit(|| async { Ok::<u64, ()>(1) });
                async move {
                    assert!(h.cancel());
                    assert!(h.await.unwrap_err().is_cancelled());
                }
            })
        })
    });
    assert!(blocker.cancel());
    g.finish();
}

criterion_group!(benches, submit, resolve, cancel);
criterion_main!(benches);
