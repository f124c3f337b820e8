//! Errors whose `Debug` panics, with a tracing subscriber installed: the poll task's
//! failure log must not let the panic escape and strand the futures of the call, and the
//! log of a failed cancel function must not make dropping a future panic.
//!
//! One test in its own binary: tracing's per-thread subscribers race with callsite
//! registration when tests run in parallel threads.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

mod common;

use common::failing_once;
use more_executors_core::prelude::*;
use more_executors_poll::{PollDescriptor, PollExt, PollLayer};

#[derive(Clone)]
struct BadDebug;

impl fmt::Debug for BadDebug {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Debug bug")
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn errors_whose_debug_panics_neither_strand_futures_nor_make_a_drop_panic() {
    let sub = tracing_subscriber::fmt().with_writer(std::io::sink).finish();
    let _guard = more_executors_test_support::capture_thread_events(sub);
    let exec = failing_once(|| BadDebug);
    let h = exec.submit(|| async { Ok::<u32, BadDebug>(1) });
    let out = tokio::time::timeout(Duration::from_secs(60), h).await;
    assert!(matches!(out, Ok(Err(Error::Job(BadDebug)))), "the future of the failed call failed");
    let next = exec.submit(|| async { Ok::<u32, BadDebug>(2) });
    let out = tokio::time::timeout(Duration::from_secs(60), next).await;
    assert!(matches!(out, Ok(Ok(2))), "polling goes on");
    assert_eq!(exec.pending(), 0);

    // A future dropped while in the poll set (an outer timeout expired): the cancel
    // function's error is logged, and the drop does not panic.
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let exec = AsyncExecutor::new().with_poll(
        PollLayer::new(|_: &mut [PollDescriptor<u32, u32, BadDebug>]| Ok(None)).cancel_fn(move |_: &u32| {
            a.fetch_add(1, SeqCst);
            Err(BadDebug)
        }),
    );
    let ctx = more_executors_core::stage::JobContext::detached();
    let mut stage = Box::pin(exec.call(|| async { Ok::<u32, BadDebug>(3) }, &ctx));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(stage.as_mut().poll(&mut cx).is_pending());
    assert_eq!(exec.pending(), 1);
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(stage)));
    assert!(dropped.is_ok(), "dropping the future did not panic");
    assert_eq!(exec.pending(), 0);
    assert_eq!(asked.load(SeqCst), 1);
}
