//! `Handle::is_running` across layers from several crates: a job waiting between retry
//! attempts, or in a poll set, is not running.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryExt};

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_job_waiting_between_retry_attempts_is_not_running() {
    let policy =
        ExponentialBackoff::builder().max_attempts(2).sleep(Duration::from_secs(10)).build().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let exec = AsyncExecutor::new().with_retry(policy);
    let h = exec.submit(move || {
        let a = a.clone();
        async move {
            if a.fetch_add(1, SeqCst) == 0 {
                return Err("flaky");
            }
            tokio::time::sleep(Duration::from_secs(100)).await;
            Ok(5)
        }
    });
    tokio::task::yield_now().await;
    assert_eq!(attempts.load(SeqCst), 1);
    assert!(!h.is_running(), "the first attempt failed; waiting 10 s before the next");
    // The delay has jitter: step through time until the second attempt has started.
    for _ in 0..60 {
        if attempts.load(SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(attempts.load(SeqCst), 2);
    assert!(h.is_running(), "the second attempt runs");
    assert_eq!(h.await, Ok(5));
}
