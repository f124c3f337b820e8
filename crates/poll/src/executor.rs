//! [`PollExecutor`]: the executor a [`PollLayer`](crate::PollLayer) builds.

use std::fmt;
use std::sync::{Arc, Weak};

use more_executors_core::stage::JobContext;
use more_executors_core::{Executor, Lifecycle};

use crate::future::PollFuture;
use crate::layer::PollLayer;
use crate::set::Shared;

/// An executor whose jobs resolve through a batched poll function.
///
/// A job is submitted to the inner executor; its output becomes the input of a
/// [`PollDescriptor`](crate::PollDescriptor) in this executor's poll set, and the handle
/// resolves with what the poll function yields for it. See the [crate docs](crate) for the
/// full semantics (schedule, failures, cancel, shutdown).
///
/// Cloning is cheap and shares the poll set.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new().with_poll(
///     PollLayer::new(|ds: &mut [PollDescriptor<u64, u64, String>]| {
///         for d in ds.iter_mut() {
///             let n = *d.input();
///             if n == 0 { d.yield_error("zero".into()); } else { d.yield_result(100 / n); }
///         }
///         Ok(None)
///     })
///     .first_poll_delay(Duration::from_millis(1)),
/// );
/// let ok = exec.submit(|| async { Ok::<u64, String>(4) });
/// let bad = exec.submit(|| async { Ok::<u64, String>(0) });
/// assert_eq!(ok.await.unwrap(), 25);
/// assert_eq!(bad.await.unwrap_err().into_job_error().as_deref(), Some("zero"));
/// # }
/// ```
pub struct PollExecutor<S, I, T, E> {
    inner: S,
    shared: Arc<Shared<I, T, E>>,
    name: Option<Arc<str>>,
}

impl<S: Clone, I, T, E> Clone for PollExecutor<S, I, T, E> {
    fn clone(&self) -> Self {
        PollExecutor { inner: self.inner.clone(), shared: self.shared.clone(), name: self.name.clone() }
    }
}

impl<S: fmt::Debug, I, T, E> fmt::Debug for PollExecutor<S, I, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollExecutor")
            .field("inner", &self.inner)
            .field("set", &self.shared)
            .field("name", &self.name)
            .finish()
    }
}

impl<S, I, T, E> PollExecutor<S, I, T, E>
where
    S: Lifecycle,
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    /// Wraps `inner` with the poll function and settings of `layer` (what
    /// [`PollLayer::layer`](tower_layer::Layer::layer) does). The executor gets a poll set of
    /// its own.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExecutor, PollLayer};
    /// let layer = PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None));
    /// let exec = PollExecutor::new(InlineExecutor::new(), &layer);
    /// assert_eq!(exec.pending(), 0);
    /// ```
    pub fn new(inner: S, layer: &PollLayer<I, T, E>) -> Self {
        let name = layer.name.clone();
        let shown: Arc<str> = name.clone().unwrap_or_else(|| inner.name().into());
        let shared = Shared::new(
            layer.poller.clone(),
            layer.cancel.clone(),
            layer.timing,
            inner.runtime().clone(),
            shown,
        );
        PollExecutor { inner, shared: Arc::new(shared), name }
    }

    /// A handle that calls [`notify`](Self::notify) on this executor, to keep where the
    /// executor itself is not at hand (for example, after more layers were added around
    /// it). It does not keep the executor alive.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    /// let exec = InlineExecutor::new().with_poll(PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)));
    /// let notifier = exec.notifier();
    /// notifier.notify(); // nothing to poll: no-op
    /// ```
    pub fn notifier(&self) -> PollNotifier {
        let weak: Weak<dyn Notifiable> = Arc::downgrade(&self.shared) as Weak<dyn Notifiable>;
        PollNotifier { shared: weak }
    }
}

impl<S, I, T, E> PollExecutor<S, I, T, E> {
    more_executors_core::stage::inner_accessors! {
        /// use more_executors_core::prelude::*;
        /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
        ///
        /// let inner = InlineExecutor::builder().name("here").build();
        /// let exec = inner.with_poll(PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)));
        executor: S,
        inner: InlineExecutor,
        check: { assert_eq!(inner.name(), "here"); },
        submitted: "their stage futures hold the poll set they are in",
    }

    /// Asks for a poll now instead of at the scheduled time. If a poll is in progress,
    /// another one starts as soon as it ends. Does nothing while the poll set is empty:
    /// no poll ever runs on an empty set.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    /// # #[tokio::main] async fn main() {
    /// let exec = AsyncExecutor::new()
    ///     .with_poll(PollLayer::new(|ds: &mut [PollDescriptor<u8, u8, ()>]| {
    ///         ds.iter_mut().for_each(|d| { d.yield_result(*d.input()); });
    ///         Ok(None)
    ///     }).first_poll_delay(std::time::Duration::from_secs(3600)));
    /// let h = exec.submit(|| async { Ok(9) });
    /// while exec.pending() == 0 { tokio::task::yield_now().await; }
    /// exec.notify(); // without this, the first poll would wait an hour
    /// assert_eq!(h.await, Ok(9));
    /// # }
    /// ```
    pub fn notify(&self) {
        self.shared.notify();
    }

    /// How many futures are in the poll set now (their inner job finished; the poll
    /// function has not resolved them yet).
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    /// let exec = InlineExecutor::new().with_poll(PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)));
    /// assert_eq!(exec.pending(), 0);
    /// ```
    pub fn pending(&self) -> usize {
        self.shared.lock().entries.len()
    }

    /// How many poll calls this executor has started.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    /// let exec = InlineExecutor::new().with_poll(PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)));
    /// assert_eq!(exec.poll_count(), 0, "nothing to poll, so no poll ran");
    /// ```
    pub fn poll_count(&self) -> u64 {
        self.shared.lock().polls
    }

    /// True while the poll task exists: from the first registration into an empty poll set
    /// until the set is empty again (or shutdown).
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    /// let exec = InlineExecutor::new().with_poll(PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)));
    /// assert!(!exec.is_polling());
    /// ```
    pub fn is_polling(&self) -> bool {
        self.shared.lock().task_running
    }
}

/// Type-erased access to a poll set's `notify`, for [`PollNotifier`].
trait Notifiable: Send + Sync {
    fn notify(&self);
}

impl<I, T, E> Notifiable for Shared<I, T, E>
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    fn notify(&self) {
        Shared::notify(self)
    }
}

/// Asks a poll executor for an early poll; see [`PollExecutor::notifier`]. Holds the
/// executor weakly: once the executor and its jobs are gone, `notify` does nothing.
#[derive(Clone)]
pub struct PollNotifier {
    shared: Weak<dyn Notifiable>,
}

impl fmt::Debug for PollNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollNotifier").field("alive", &(self.shared.strong_count() > 0)).finish()
    }
}

impl PollNotifier {
    /// Same as [`PollExecutor::notify`].
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    /// let exec = InlineExecutor::new().with_poll(PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)));
    /// let n = exec.notifier();
    /// drop(exec);
    /// n.notify(); // the executor is gone: no-op
    /// ```
    pub fn notify(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.notify();
        }
    }
}

impl<S, I, T, E> Lifecycle for PollExecutor<S, I, T, E>
where
    S: Lifecycle,
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    more_executors_core::forward_lifecycle!("poll", named, no_shutdown);

    /// Resolves every future in the poll set to
    /// [`Error::ShutDown`](more_executors_core::Error::ShutDown) (the cancel function is not
    /// called; put a cancel-on-shutdown layer outside to cancel remote work), stops the
    /// poll task, then shuts down the inner executor. A job whose inner stage finishes
    /// later also resolves to `ShutDown`.
    fn shutdown(&self) {
        let n = self.shared.shutdown();
        tracing::debug!(executor = self.name(), resolved = n, "poll executor shut down");
        self.inner.shutdown();
    }
}

impl<S, J, I, T, E> Executor<J> for PollExecutor<S, I, T, E>
where
    S: Executor<J>,
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    type Future = PollFuture<S::Future, I, T, E>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        PollFuture::new(self.inner.call(job, ctx), ctx.clone(), self.shared.clone())
    }
}
