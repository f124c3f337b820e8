//! [`PollLayer`]: the poll function, cancel function and schedule, as a tower layer.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::config::{nonzero_duration, secs_f64};
use more_executors_core::{ConfigError, Lifecycle};
use tower_layer::Layer;

use crate::descriptor::PollDescriptor;
use crate::executor::PollExecutor;
use crate::poller::{CancelCall, CancelFn, Poller, SyncPoller};
use crate::set::Timing;

/// The default delay between polls when the poll function does not return one: 5 s.
///
/// ```
/// assert_eq!(more_executors_poll::DEFAULT_INTERVAL.as_secs(), 5);
/// ```
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The default first-poll delay: a newly registered future is polled at most 100 ms after
/// it entered the poll set.
///
/// ```
/// assert_eq!(more_executors_poll::DEFAULT_FIRST_POLL_DELAY.as_millis(), 100);
/// ```
pub const DEFAULT_FIRST_POLL_DELAY: Duration = Duration::from_millis(100);

/// Configures a poll executor: the poll function, an optional cancel function and the
/// schedule. Apply it with `tower::ServiceBuilder::layer`, the builder's `.poll(..)`
/// ([`PollBuilderExt`](crate::PollBuilderExt)) or `.with_poll(..)` ([`PollExt`](crate::PollExt)).
///
/// `I` is the inner executor's output (the descriptor's input), `T` what the poll function
/// yields, `E` the error type shared by the inner executor, the poll function and the cancel
/// function. `E: Clone` is required because one poll-function error fails every future of
/// that call (wrap a non-`Clone` error in an `Arc`).
///
/// Each executor built from a layer has its own poll set and poll task; the poll and cancel
/// functions are shared between them.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
///
/// # #[tokio::main] async fn main() -> Result<(), ConfigError> {
/// // The inner job returns a task id; the poll function reports each task finished.
/// let layer = PollLayer::new(|ds: &mut [PollDescriptor<u32, String, String>]| {
///     for d in ds.iter_mut() {
///         let id = *d.input();
///         d.yield_result(format!("task {id} finished"));
///     }
///     Ok(None)
/// })
/// .cancel_fn(|_task_id: &u32| Ok(true))
/// .default_interval(Duration::from_secs(1))?
/// .first_poll_delay(Duration::from_millis(10));
///
/// let exec = AsyncExecutor::new().with_poll(layer);
/// let h = exec.submit(|| async { Ok::<u32, String>(42) });
/// assert_eq!(h.await.unwrap(), "task 42 finished");
/// # Ok(()) }
/// ```
pub struct PollLayer<I, T, E> {
    pub(crate) poller: Arc<dyn Poller<I, T, E>>,
    pub(crate) cancel: Option<CancelFn<I, E>>,
    pub(crate) timing: Timing,
    pub(crate) name: Option<Arc<str>>,
}

impl<I, T, E> Clone for PollLayer<I, T, E> {
    fn clone(&self) -> Self {
        PollLayer {
            poller: self.poller.clone(),
            cancel: self.cancel.clone(),
            timing: self.timing,
            name: self.name.clone(),
        }
    }
}

impl<I, T, E> fmt::Debug for PollLayer<I, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollLayer")
            .field("cancel", &self.cancel)
            .field("default_interval", &self.timing.default_interval)
            .field("first_poll_delay", &self.timing.first_poll_delay)
            .field("name", &self.name)
            .finish()
    }
}

impl<I, T, E> PollLayer<I, T, E>
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// A layer with a synchronous poll function.
    ///
    /// `poll_fn` receives every unresolved descriptor and returns the delay until the next
    /// poll (`Ok(None)`: the default interval). It runs on the executor's poll task, so it
    /// should not block for long; use [`with_poller`](Self::with_poller) for I/O.
    ///
    /// ```
    /// use more_executors_poll::{PollDescriptor, PollLayer};
    /// let layer = PollLayer::new(|ds: &mut [PollDescriptor<u8, u8, ()>]| {
    ///     ds.iter_mut().for_each(|d| { d.yield_result(*d.input()); });
    ///     Ok(None)
    /// });
    /// # let _ = layer;
    /// ```
    pub fn new<F>(poll_fn: F) -> Self
    where
        F: FnMut(&mut [PollDescriptor<I, T, E>]) -> Result<Option<Duration>, E> + Send + 'static,
    {
        Self::from_poller(Arc::new(SyncPoller::new(poll_fn)))
    }

    /// A layer with an asynchronous [`Poller`] (one request per poll for the whole batch).
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_poll::{PollDescriptor, PollLayer, Poller};
    ///
    /// struct AllDone;
    /// #[more_executors_poll::async_trait]
    /// impl Poller<u8, (), ()> for AllDone {
    ///     async fn poll(&self, ds: &mut [PollDescriptor<u8, (), ()>]) -> Result<Option<Duration>, ()> {
    ///         ds.iter_mut().for_each(|d| { d.yield_result(()); });
    ///         Ok(None)
    ///     }
    /// }
    /// let layer = PollLayer::with_poller(AllDone);
    /// # let _ = layer;
    /// ```
    pub fn with_poller<P>(poller: P) -> Self
    where
        P: Poller<I, T, E>,
    {
        Self::from_poller(Arc::new(poller))
    }

    fn from_poller(poller: Arc<dyn Poller<I, T, E>>) -> Self {
        PollLayer {
            poller,
            cancel: None,
            timing: Timing { default_interval: DEFAULT_INTERVAL, first_poll_delay: DEFAULT_FIRST_POLL_DELAY },
            name: None,
        }
    }

    /// Sets a synchronous cancel function.
    ///
    /// It is called only when a handle is cancelled while its future is in the poll set,
    /// with the inner job's output: `Ok(true)` cancels (the handle resolves to
    /// [`Error::Cancelled`](more_executors_core::Error::Cancelled) and leaves the set),
    /// `Ok(false)` refuses (polling goes on). An `Err` or a panic refuses too, and is
    /// logged as a `tracing` error. Before the inner job finishes, cancel goes to the inner
    /// executor and this function is not called.
    ///
    /// Without a cancel function, cancelling a future in the poll set always succeeds and
    /// simply stops tracking it.
    ///
    /// The function is also called, once and best effort, for a future dropped from outside
    /// while in the poll set (an outer timeout expired); its answer is then only logged.
    ///
    /// ```
    /// use more_executors_poll::{PollDescriptor, PollLayer};
    /// let layer = PollLayer::new(|_: &mut [PollDescriptor<u32, (), String>]| Ok(None))
    ///     .cancel_fn(|task_id: &u32| Ok(*task_id != 0)); // task 0 cannot be cancelled
    /// # let _ = layer;
    /// ```
    pub fn cancel_fn<C>(mut self, cancel_fn: C) -> Self
    where
        C: Fn(&I) -> Result<bool, E> + Send + Sync + 'static,
    {
        self.cancel = Some(CancelFn::Sync(Arc::new(cancel_fn)));
        self
    }

    /// Sets an asynchronous cancel function (for example, one that sends a `DELETE`
    /// request). Same rules as [`cancel_fn`](Self::cancel_fn).
    ///
    /// `cancel_fn` is called with the inner output and returns a future (clone what it
    /// needs from the input before the `async` block). The future runs on the executor's
    /// runtime. Because the decision is asynchronous, cancel a handle with
    /// [`Handle::cancel_async`](more_executors_core::Handle::cancel_async) in async code;
    /// [`Handle::cancel`](more_executors_core::Handle::cancel) blocks the calling thread and
    /// is for synchronous code. Two concurrent cancel requests may each call the function.
    ///
    /// ```
    /// use more_executors_poll::{PollDescriptor, PollLayer};
    /// let layer = PollLayer::new(|_: &mut [PollDescriptor<u32, (), String>]| Ok(None))
    ///     .async_cancel_fn(|task_id: &u32| {
    ///         let id = *task_id;
    ///         async move {
    ///             // e.g. client.delete(format!("{url}/tasks/{id}")).send().await
    ///             Ok(id % 2 == 0)
    ///         }
    ///     });
    /// # let _ = layer;
    /// ```
    pub fn async_cancel_fn<C, Fut>(mut self, cancel_fn: C) -> Self
    where
        C: Fn(&I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, E>> + Send + 'static,
    {
        let f = move |input: &I| -> CancelCall<E> { Box::pin(cancel_fn(input)) };
        self.cancel = Some(CancelFn::Async(Arc::new(f)));
        self
    }

    /// The delay until the next poll when the poll function returns `Ok(None)`, fails or
    /// panics (default [`DEFAULT_INTERVAL`], 5 s).
    ///
    /// # Errors
    /// [`ConfigError`] for a zero interval (it would busy-loop).
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_poll::{PollDescriptor, PollLayer};
    /// let layer = PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None));
    /// assert!(layer.clone().default_interval(Duration::ZERO).is_err());
    /// assert!(layer.default_interval(Duration::from_millis(200)).is_ok());
    /// ```
    pub fn default_interval(mut self, interval: Duration) -> Result<Self, ConfigError> {
        self.timing.default_interval = nonzero_duration("poll interval", interval)?;
        Ok(self)
    }

    /// [`default_interval`](Self::default_interval) in seconds, as the original library
    /// took it.
    ///
    /// # Errors
    /// [`ConfigError`] for zero, negative, NaN or infinite values.
    ///
    /// ```
    /// use more_executors_poll::{PollDescriptor, PollLayer};
    /// let layer = PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None));
    /// assert!(layer.clone().default_interval_secs(f64::NAN).is_err());
    /// assert!(layer.clone().default_interval_secs(-1.0).is_err());
    /// assert!(layer.default_interval_secs(0.5).is_ok());
    /// ```
    pub fn default_interval_secs(self, secs: f64) -> Result<Self, ConfigError> {
        let interval = secs_f64("poll interval", secs)?;
        self.default_interval(interval)
    }

    /// The first-poll rule: a future entering the poll set makes the next poll start no
    /// later than `delay` after it entered, whatever the current interval (default
    /// [`DEFAULT_FIRST_POLL_DELAY`], 100 ms). Futures registered within one such window
    /// share that poll. Zero polls as soon as the poll task gets to run; a delay too long
    /// for the clock (`Duration::MAX`) turns the rule off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_poll::{PollDescriptor, PollLayer};
    /// let layer = PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None))
    ///     .first_poll_delay(Duration::from_millis(20));
    /// # let _ = layer;
    /// ```
    pub fn first_poll_delay(mut self, delay: Duration) -> Self {
        self.timing.first_poll_delay = delay;
        self
    }

    /// Names the executors this layer builds (default: the inner executor's name).
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
    /// let layer = PollLayer::new(|_: &mut [PollDescriptor<u8, u8, ()>]| Ok(None)).name("tasks");
    /// let exec = InlineExecutor::new().with_poll(layer);
    /// assert_eq!(exec.name(), "tasks");
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl<S, I, T, E> Layer<S> for PollLayer<I, T, E>
where
    S: Lifecycle,
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    type Service = PollExecutor<S, I, T, E>;

    fn layer(&self, inner: S) -> Self::Service {
        PollExecutor::new(inner, self)
    }
}
