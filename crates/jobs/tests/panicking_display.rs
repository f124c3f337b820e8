//! A job error whose `Display` panics, with a tracing subscriber installed: the error
//! handler's fallback log must not let the panic escape and leak the job's slot.
//!
//! One test in its own binary: tracing's per-thread subscribers race with callsite
//! registration when tests run in parallel threads.

use std::fmt;
use std::time::Duration;

use more_executors_jobs::Scheduler;

struct BadDisplay;

impl fmt::Display for BadDisplay {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Display bug")
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_panicking_error_display_does_not_leak_the_slot() {
    let sub = tracing_subscriber::fmt().with_writer(std::io::sink).finish();
    let _guard = more_executors_test_support::capture_thread_events(sub);
    let s = Scheduler::builder().limit(1).build().unwrap();
    drop(s.spawn(async { Err::<(), _>(BadDisplay) }).await.unwrap());
    let next = s.spawn(async { Ok::<_, BadDisplay>(7) }).await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), next).await;
    assert!(matches!(out, Ok(Ok(7))), "the next job ran: the failed job's slot was freed");
    assert_eq!(s.active_count(), 0);
    let idle = tokio::time::timeout(Duration::from_secs(60), s.idle()).await;
    assert!(idle.is_ok(), "the scheduler went idle");
}
