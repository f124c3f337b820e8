//! Counting job bodies that run at the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Counts job bodies running at once and remembers the peak.
///
/// A job body calls [`enter`](Concurrency::enter) when it starts and keeps the returned
/// [`Running`] guard until it ends (dropping the guard, also by a panic or a cancel, counts
/// it out). Clones share the counts.
///
/// ```
/// use more_executors_test_support::Concurrency;
///
/// let conc = Concurrency::new();
/// let a = conc.enter();
/// let b = conc.enter();
/// assert_eq!((conc.now(), conc.peak()), (2, 2));
/// drop(a);
/// drop(b);
/// let _c = conc.enter();
/// assert_eq!((conc.now(), conc.peak()), (1, 2));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Concurrency {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// Held while a job body runs; dropping it counts the body out of its [`Concurrency`].
///
/// ```
/// use more_executors_test_support::Concurrency;
///
/// let conc = Concurrency::new();
/// let running = conc.enter();
/// assert_eq!(conc.now(), 1);
/// drop(running);
/// assert_eq!(conc.now(), 0);
/// ```
#[derive(Debug)]
#[must_use = "the body counts as running only while the guard is held"]
pub struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

impl Concurrency {
    /// A tracker with nothing running and a peak of 0.
    ///
    /// ```
    /// use more_executors_test_support::Concurrency;
    ///
    /// let conc = Concurrency::new();
    /// assert_eq!((conc.now(), conc.peak()), (0, 0));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more body as running (raising the peak if needed) until the returned
    /// guard is dropped.
    ///
    /// ```
    /// use more_executors_test_support::Concurrency;
    ///
    /// let conc = Concurrency::new();
    /// let _running = conc.enter();
    /// assert_eq!(conc.peak(), 1);
    /// ```
    pub fn enter(&self) -> Running {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        Running(self.now.clone())
    }

    /// The largest number of bodies that ran at once so far.
    ///
    /// ```
    /// use more_executors_test_support::Concurrency;
    ///
    /// let conc = Concurrency::new();
    /// drop(conc.enter());
    /// assert_eq!(conc.peak(), 1);
    /// ```
    pub fn peak(&self) -> usize {
        self.peak.load(SeqCst)
    }

    /// The number of bodies running now.
    ///
    /// ```
    /// use more_executors_test_support::Concurrency;
    ///
    /// let conc = Concurrency::new();
    /// drop(conc.enter());
    /// assert_eq!(conc.now(), 0);
    /// ```
    pub fn now(&self) -> usize {
        self.now.load(SeqCst)
    }
}
