//! Cost of the retry layer on its hot path: a job whose first attempt succeeds.
//!
//! Compares building and polling the stage future of a bare inline executor with the same
//! stack wrapped in `Retry` (with and without a budget), and a full submit + await on a
//! current-thread runtime.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll};

use criterion::{Criterion, criterion_group, criterion_main};
use more_executors_core::prelude::*;
use more_executors_core::stage::JobContext;
use more_executors_retry::{ExponentialBackoff, RetryBudget, RetryExt, RetryLayer};

fn poll_once<F: Future>(fut: F) -> F::Output {
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
    let retry = InlineExecutor::new().with_retry(ExponentialBackoff::new());
    let budgeted = InlineExecutor::new()
        .with_layer(RetryLayer::new(ExponentialBackoff::new()).budget(RetryBudget::new()));

    let mut g = c.benchmark_group("retry_stage_first_attempt_ok");
    // Reference: one read of tokio's clock, which the layer takes per job. Benches build tokio
    // with `test-util` (a dev-dependency feature), whose clock is slower than a release build's.
    g.bench_function("clock-read", |b| b.iter(tokio::time::Instant::now));
    g.bench_function("inline", |b| b.iter(|| poll_once(bare.call(job, &ctx))));
    g.bench_function("retry(inline)", |b| b.iter(|| poll_once(retry.call(job, &ctx))));
    g.bench_function("retry+budget(inline)", |b| b.iter(|| poll_once(budgeted.call(job, &ctx))));
    g.finish();
}

fn submit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let bare = rt.block_on(async { AsyncExecutor::new() });
    let retry = rt.block_on(async { AsyncExecutor::new().with_retry(ExponentialBackoff::new()) });
    let job = || async { Ok::<u64, ()>(black_box(7)) };

    let mut g = c.benchmark_group("retry_submit_await");
    g.bench_function("async", |b| b.iter(|| rt.block_on(bare.submit(job)).unwrap()));
    g.bench_function("retry(async)", |b| b.iter(|| rt.block_on(retry.submit(job)).unwrap()));
    g.finish();
}

criterion_group!(benches, stage, submit);
criterion_main!(benches);
