//! The tokio runtime an executor runs on, borrowed or owned, and its shutdown state.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::config::ConfigError;
use crate::error::catch_panic;
use crate::metrics::StageMetrics;

/// Where an executor's driver tasks run, and whether it is shut down.
///
/// Built inside a tokio runtime, an executor borrows that runtime
/// ([`Runtime::current_or_owned`]). Built in plain synchronous code, it starts and owns a
/// small background runtime (two worker threads named `more-executors`), which stops once
/// the executor is shut down or dropped and its last job has finished.
///
/// Cloning is cheap; every layer of a stack shares its base executor's `Runtime`.
///
/// ```
/// use more_executors_core::Runtime;
///
/// // No runtime here: the library starts one of its own.
/// let rt = Runtime::current_or_owned();
/// assert!(rt.is_owned());
/// assert!(!rt.is_shut_down());
/// rt.shutdown();
/// assert!(rt.is_shut_down());
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    handle: tokio::runtime::Handle,
    owned: Mutex<Option<tokio::runtime::Runtime>>,
    tracker: TaskTracker,
    shut_down: AtomicBool,
    metrics: OnceLock<StageMetrics>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("owned", &self.is_owned())
            .field("shut_down", &self.is_shut_down())
            .field("tasks", &self.inner.tracker.len())
            .finish()
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Self::current_or_owned()
    }
}

impl Runtime {
    /// The current tokio runtime if there is one, else a new background runtime owned by
    /// the returned value.
    ///
    /// # Panics
    /// When the current runtime has no timers (see [`from_handle`](Self::from_handle)).
    pub fn current_or_owned() -> Runtime {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => Self::from_handle(handle),
            Err(_) => Self::owned(),
        }
    }

    /// Runs on the given runtime.
    ///
    /// # Panics
    /// When the runtime has no timers (built without `enable_time()` or `enable_all()`):
    /// timeouts, retry delays, poll intervals and close timeouts need them, and would
    /// otherwise fail or hang later. [`try_from_handle`](Self::try_from_handle) returns
    /// the error instead.
    ///
    /// ```
    /// let tokio_rt = tokio::runtime::Runtime::new().unwrap();
    /// let rt = more_executors_core::Runtime::from_handle(tokio_rt.handle().clone());
    /// assert!(!rt.is_owned());
    /// ```
    pub fn from_handle(handle: tokio::runtime::Handle) -> Runtime {
        Self::try_from_handle(handle).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs on the given runtime, which must have timers.
    ///
    /// # Errors
    /// [`ConfigError`] when the runtime was built without `enable_time()` (or
    /// `enable_all()`).
    ///
    /// ```
    /// use more_executors_core::Runtime;
    ///
    /// let without_timers = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let err = Runtime::try_from_handle(without_timers.handle().clone()).unwrap_err();
    /// assert_eq!(err.setting(), "tokio runtime");
    /// let with_timers = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// assert!(Runtime::try_from_handle(with_timers.handle().clone()).is_ok());
    /// ```
    pub fn try_from_handle(handle: tokio::runtime::Handle) -> Result<Runtime, ConfigError> {
        // tokio offers no query for its time driver: creating a timer inside the runtime
        // panics when there is none (and costs nothing otherwise: it is never polled).
        let has_timers = {
            let _enter = handle.enter();
            catch_panic(|| drop(tokio::time::sleep(Duration::ZERO))).is_ok()
        };
        if !has_timers {
            return Err(ConfigError::new(
                "tokio runtime",
                "has no timers; build it with enable_time() or enable_all() (timeouts, retry \
                 delays, poll intervals and close timeouts need them)",
            ));
        }
        Ok(Self::with_owned(handle, None))
    }

    /// The current tokio runtime if there is one, else the process's shared background
    /// runtime (started on first use and kept for the life of the process). For work that
    /// belongs to no executor, such as the driver tasks of combined handles; shutting the
    /// returned value down affects only that value.
    ///
    /// ```
    /// let rt = more_executors_core::Runtime::current_or_shared();
    /// assert!(!rt.is_owned());
    /// let h = rt.handle().spawn(async { 6 * 7 });
    /// # let _ = h;
    /// ```
    pub fn current_or_shared() -> Runtime {
        Self::with_owned(current_or_shared_handle(), None)
    }

    fn owned() -> Runtime {
        let rt = background("more-executors");
        Self::with_owned(rt.handle().clone(), Some(rt))
    }

    fn with_owned(handle: tokio::runtime::Handle, owned: Option<tokio::runtime::Runtime>) -> Runtime {
        Runtime {
            inner: Arc::new(Inner {
                handle,
                owned: Mutex::new(owned),
                tracker: TaskTracker::new(),
                shut_down: AtomicBool::new(false),
                metrics: OnceLock::new(),
            }),
        }
    }

    /// Labels the per-job metrics of executors on this runtime (the first base executor
    /// built on it wins).
    pub(crate) fn init_metrics(&self, kind: &'static str, name: &str) {
        self.inner.metrics.get_or_init(|| StageMetrics::new(kind, name));
    }

    /// The `more_executors_future_*` metrics recorded for every job submitted on this runtime.
    pub(crate) fn job_metrics(&self) -> &StageMetrics {
        self.inner.metrics.get_or_init(|| StageMetrics::new("custom", crate::config::DEFAULT_NAME))
    }

    /// The tokio handle jobs and driver tasks are spawned on.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.inner.handle
    }

    /// True when this value owns a background runtime (it was created outside any runtime).
    pub fn is_owned(&self) -> bool {
        self.inner.owned.lock().map(|o| o.is_some()).unwrap_or(false)
    }

    /// Counts a job that runs without a task of its own (a job submitted straight to a
    /// [`BlockingPool`](crate::BlockingPool)) as one until the token is dropped, for
    /// [`wait_shutdown`](Self::wait_shutdown) and [`task_count`](Self::task_count).
    pub(crate) fn track(&self) -> tokio_util::task::task_tracker::TaskTrackerToken {
        self.inner.tracker.token()
    }

    /// Spawns a task that is tracked for [`wait_shutdown`](Self::wait_shutdown).
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.tracker.spawn_on(fut, &self.inner.handle)
    }

    /// Marks the runtime shut down: executors on it refuse new jobs with
    /// [`Error::ShutDown`](crate::Error::ShutDown). Jobs already submitted keep running (use
    /// the cancel-on-shutdown layer to cancel them). Idempotent. An owned background
    /// runtime stops once its last task has finished.
    pub fn shutdown(&self) {
        if self.inner.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.tracker.close();
        self.stop_owned_when_idle();
    }

    /// True once [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::Acquire)
    }

    /// The number of driver tasks still running, plus the jobs submitted straight to a
    /// [`BlockingPool`](crate::BlockingPool) on this runtime that have not finished (they
    /// run without a driver task; each counts as one).
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let pool = BlockingPool::new(1).unwrap();
    /// let h = pool.submit(|| Ok::<_, ()>(1));
    /// assert_eq!(h.wait(), Ok(1));
    /// pool.shutdown();
    /// pool.runtime().wait_shutdown_blocking();
    /// assert_eq!(pool.runtime().task_count(), 0, "every job done");
    /// ```
    pub fn task_count(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Resolves once the runtime is shut down and every task spawned through it finished
    /// (jobs submitted straight to a [`BlockingPool`](crate::BlockingPool) on it included).
    pub async fn wait_shutdown(&self) {
        self.inner.tracker.wait().await
    }

    /// Blocks until the runtime is shut down and every task spawned through it finished
    /// (jobs submitted straight to a [`BlockingPool`](crate::BlockingPool) on it included).
    ///
    /// # Panics
    /// When called on a thread that drives asynchronous tasks; await
    /// [`wait_shutdown`](Self::wait_shutdown) there instead.
    pub fn wait_shutdown_blocking(&self) {
        let mut fut = Box::pin(self.inner.tracker.wait());
        crate::handle::wait::block_until(&mut fut, None);
    }

    fn stop_owned_when_idle(&self) {
        let owned = self.inner.owned.lock().ok().and_then(|mut o| o.take());
        stop_when_idle(owned, &self.inner.tracker);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.tracker.close();
        stop_when_idle(self.owned.get_mut().ok().and_then(|o| o.take()), &self.tracker);
    }
}

/// The tokio handle of [`Runtime::current_or_shared`], without the wrapper (for callers that
/// only spawn on it).
pub(crate) fn current_or_shared_handle() -> tokio::runtime::Handle {
    static SHARED: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    tokio::runtime::Handle::try_current()
        .unwrap_or_else(|_| SHARED.get_or_init(|| background("more-executors-shared")).handle().clone())
}

/// A small multi-thread runtime for programs that have none.
fn background(thread_name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(thread_name)
        .enable_time()
        .enable_io()
        .build()
        .expect("the background tokio runtime could not be started (out of threads?)")
}

/// Shuts `owned` down (when there is one) once every task `tracker` tracks has finished.
fn stop_when_idle(owned: Option<tokio::runtime::Runtime>, tracker: &TaskTracker) {
    if let Some(rt) = owned {
        let tracker = tracker.clone();
        let handle = rt.handle().clone();
        handle.spawn(async move {
            tracker.wait().await;
            rt.shutdown_background();
        });
    }
}
