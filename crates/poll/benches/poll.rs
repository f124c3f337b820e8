//! Hot paths of the poll layer.
//!
//! ```text
//! cargo bench -p more-executors-poll --bench poll -- --quick
//! ```
//!
//! - `register_remove/{1,100000}`: a stage future entering the poll set and leaving it
//!   (dropped), with 1 or 100,000 other futures in the set: O(1) means both cost the same.
//! - `submit_resolve/1000`: 1,000 jobs submitted through the poll layer and resolved by
//!   one poll, end to end, next to `submit_bare/1000` (the same jobs without the layer).
//! - `one_call_resolves/10000`: one poll call resolving 10,000 outstanding futures
//!   (notify, the call, delivery, every handle awaited).
//! - `cancel/1000`: cancelling 1,000 futures in the poll set through a cancel function.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::Context;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use more_executors_core::prelude::*;
use more_executors_core::stage::JobContext;
use more_executors_poll::{PollDescriptor, PollExecutor, PollExt, PollLayer};

type D = PollDescriptor<u64, u64, ()>;
type Gated = PollExecutor<AsyncExecutor, u64, u64, ()>;

const HOUR: Duration = Duration::from_secs(3600);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A poll executor that polls only on `notify()`, resolving everything once `release` is set.
fn gated(release: Arc<AtomicBool>) -> Gated {
    let layer = PollLayer::new(move |ds: &mut [D]| {
        if release.load(SeqCst) {
            for d in ds.iter_mut() {
                let v = *d.input();
                d.yield_result(v);
            }
        }
        Ok(Some(HOUR))
    })
    .default_interval(HOUR)
    .unwrap()
    .first_poll_delay(HOUR)
    .cancel_fn(|_: &u64| Ok(true));
    AsyncExecutor::new().with_poll(layer)
}

async fn fill(exec: &Gated, n: u64) -> Vec<Handle<u64, ()>> {
    let handles: Vec<_> = (0..n).map(|i| exec.submit(move || async move { Ok(i) })).collect();
    while exec.pending() < n as usize {
        tokio::task::yield_now().await;
    }
    handles
}

fn register_remove(c: &mut Criterion) {
    let rt = runtime();
    let _enter = rt.enter();
    let mut group = c.benchmark_group("register_remove");
    for prefill in [1u64, 100_000] {
        let exec = gated(Arc::new(AtomicBool::new(false)));
        let handles = rt.block_on(fill(&exec, prefill));
        let ctx = JobContext::detached();
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        group.bench_function(prefill.to_string(), |b| {
            b.iter(|| {
                let mut fut = Box::pin(exec.call(|| async { Ok::<u64, ()>(1) }, &ctx));
                // The inner job is ready at once: this poll registers the future.
                assert!(fut.as_mut().poll(&mut cx).is_pending());
                drop(black_box(fut)); // leaves the set
            })
        });
        assert_eq!(exec.pending(), prefill as usize);
        exec.shutdown();
        drop(handles);
    }
    group.finish();
}

fn submit_resolve(c: &mut Criterion) {
    let rt = runtime();
    let n = 1000u64;
    let mut group = c.benchmark_group("submit");
    group.throughput(Throughput::Elements(n));
    group.bench_function("submit_resolve/1000", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let exec = AsyncExecutor::new().with_poll(
                    PollLayer::new(|ds: &mut [D]| {
                        for d in ds.iter_mut() {
                            let v = *d.input();
                            d.yield_result(v);
                        }
                        Ok(None)
                    })
                    .first_poll_delay(Duration::ZERO),
                );
                let start = Instant::now();
                for _ in 0..iters {
                    let handles: Vec<_> = (0..n).map(|i| exec.submit(move || async move { Ok(i) })).collect();
                    for h in handles {
                        black_box(h.await.unwrap());
                    }
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("submit_bare/1000", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let exec = AsyncExecutor::new();
                let start = Instant::now();
                for _ in 0..iters {
                    let handles: Vec<_> =
                        (0..n).map(|i| exec.submit(move || async move { Ok::<u64, ()>(i) })).collect();
                    for h in handles {
                        black_box(h.await.unwrap());
                    }
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

fn one_call_resolves(c: &mut Criterion) {
    let rt = runtime();
    let n = 10_000u64;
    let mut group = c.benchmark_group("one_call_resolves");
    group.throughput(Throughput::Elements(n));
    group.sample_size(10);
    group.bench_function("10000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let release = Arc::new(AtomicBool::new(false));
                    let exec = gated(release.clone());
                    let handles = fill(&exec, n).await;
                    let start = Instant::now();
                    release.store(true, SeqCst);
                    exec.notify();
                    for h in handles {
                        black_box(h.await.unwrap());
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(exec.poll_count(), 1);
                    elapsed
                });
            }
            total
        })
    });
    group.bench_function("baseline_tokio_oneshot/10000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    // Every task is parked on its receiver before the clock starts.
                    let parked = Arc::new(std::sync::atomic::AtomicU64::new(0));
                    let (txs, handles): (Vec<_>, Vec<_>) = (0..n)
                        .map(|_| {
                            let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
                            let parked = parked.clone();
                            (
                                tx,
                                tokio::spawn(async move {
                                    parked.fetch_add(1, SeqCst);
                                    rx.await.unwrap()
                                }),
                            )
                        })
                        .unzip();
                    while parked.load(SeqCst) < n {
                        tokio::task::yield_now().await;
                    }
                    let start = Instant::now();
                    for (i, tx) in txs.into_iter().enumerate() {
                        tx.send(i as u64).unwrap();
                    }
                    for h in handles {
                        black_box(h.await.unwrap());
                    }
                    start.elapsed()
                });
            }
            total
        })
    });
    group.finish();
}

fn cancel(c: &mut Criterion) {
    let rt = runtime();
    let n = 1000u64;
    let mut group = c.benchmark_group("cancel");
    group.throughput(Throughput::Elements(n));
    group.bench_function("1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let exec = gated(Arc::new(AtomicBool::new(false)));
                    let handles = fill(&exec, n).await;
                    let start = Instant::now();
                    for h in &handles {
                        assert!(h.cancel());
                    }
                    for h in handles {
                        assert!(h.await.unwrap_err().is_cancelled());
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(exec.pending(), 0);
                    elapsed
                });
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, register_remove, submit_resolve, one_call_resolves, cancel);
criterion_main!(benches);
