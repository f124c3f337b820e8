//! Counting how many times a future is polled.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// A future that adds one to a shared counter each time it is polled, then polls the
    /// future it wraps and returns its output unchanged.
    ///
    /// Tests use it to prove that something waits without spinning (a bounded number of
    /// polls) rather than to observe any value.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use more_executors_test_support::PollCounted;
    ///
    /// let polls = Arc::new(AtomicUsize::new(0));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let out = rt.block_on(PollCounted::new(async {
    ///     tokio::task::yield_now().await;
    ///     7
    /// }, polls.clone()));
    /// assert_eq!(out, 7);
    /// assert_eq!(polls.load(SeqCst), 2, "pending once at the yield, then ready");
    /// ```
    #[derive(Debug)]
    pub struct PollCounted<F> {
        #[pin]
        inner: F,
        polls: Arc<AtomicUsize>,
    }
}

impl<F> PollCounted<F> {
    /// Wraps `inner`, counting its polls in `polls`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use more_executors_test_support::PollCounted;
    ///
    /// let polls = Arc::new(AtomicUsize::new(0));
    /// let _fut = PollCounted::new(std::future::ready(()), polls.clone());
    /// assert_eq!(polls.load(SeqCst), 0, "nothing is counted before the first poll");
    /// ```
    pub fn new(inner: F, polls: Arc<AtomicUsize>) -> Self {
        PollCounted { inner, polls }
    }
}

impl<F: Future> Future for PollCounted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.polls.fetch_add(1, SeqCst);
        this.inner.poll(cx)
    }
}
