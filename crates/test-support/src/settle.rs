//! Letting woken tasks run without moving time.

/// Yields to the tokio scheduler `rounds` times, so tasks that are ready run (and tasks they
/// wake run in later rounds) while the caller's clock, paused or not, does not move.
///
/// Use it to reach a quiescent point before asserting on state that spawned tasks update;
/// pick enough rounds for the longest chain of wake-ups the test sets off.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
/// use more_executors_test_support::settle;
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let ran = Arc::new(AtomicBool::new(false));
///     let r = ran.clone();
///     tokio::spawn(async move { r.store(true, SeqCst) });
///     assert!(!ran.load(SeqCst));
///     settle(1).await;
///     assert!(ran.load(SeqCst));
/// });
/// ```
pub async fn settle(rounds: usize) {
    for _ in 0..rounds {
        tokio::task::yield_now().await;
    }
}
