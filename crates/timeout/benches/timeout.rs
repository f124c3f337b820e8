//! Cost of the timeout layer on its hot path: a job that is done before its deadline.
//!
//! `ready`: the inner stage is ready at the first poll, so no timer is ever created.
//! `pending-once`: the job yields once, so the timer is created (but never fires).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use more_executors_core::prelude::*;
use more_executors_core::stage::JobContext;
use more_executors_timeout::TimeoutExt;

fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the benchmarked stage must be ready at once"),
    }
}

fn stage(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let _enter = rt.enter();
    let ctx = JobContext::detached();
    let job = || Ok::<u64, ()>(black_box(7));
    let bare = InlineExecutor::new();
    let timed = InlineExecutor::new().with_timeout(Duration::from_secs(30)).unwrap();

    let mut g = c.benchmark_group("timeout_stage_ready");
    // Reference: one read of tokio's clock, which the layer takes per job. Benches build tokio
    // with `test-util` (a dev-dependency feature), whose clock is slower than a release build's.
    g.bench_function("clock-read", |b| b.iter(tokio::time::Instant::now));
    g.bench_function("inline", |b| b.iter(|| poll_ready(bare.call(job, &ctx))));
    g.bench_function("timeout(inline)", |b| b.iter(|| poll_ready(timed.call(job, &ctx))));
    g.finish();
}

fn submit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let bare = rt.block_on(async { AsyncExecutor::new() });
    let timed = rt.block_on(async { AsyncExecutor::new().with_timeout(Duration::from_secs(30)).unwrap() });
    let ready = || async { Ok::<u64, ()>(black_box(7)) };
    let pending_once = || async {
        tokio::task::yield_now().await;
        Ok::<u64, ()>(black_box(7))
    };

    let mut g = c.benchmark_group("timeout_submit_await");
    g.bench_function("async/ready", |b| b.iter(|| rt.block_on(bare.submit(ready)).unwrap()));
    g.bench_function("timeout(async)/ready", |b| b.iter(|| rt.block_on(timed.submit(ready)).unwrap()));
    g.bench_function("async/pending-once", |b| b.iter(|| rt.block_on(bare.submit(pending_once)).unwrap()));
    g.bench_function("timeout(async)/pending-once", |b| {
        b.iter(|| rt.block_on(timed.submit(pending_once)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, stage, submit);
criterion_main!(benches);
