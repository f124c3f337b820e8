//! [`WorkerPool`]: N workers fed by a bounded queue, each item's output a core [`Handle`].
//!
//! The pool is a [`Scheduler`] with limit N underneath ([`WorkerPool::scheduler`] returns
//! it): each submitted item becomes one job running the pool's worker function, so the N
//! "workers" are the N slots of the scheduler and the bounded queue is its pending queue.
//! Items start in submission order, at most N at a time. Shutdown is the scheduler's:
//! [`close`](WorkerPool::close) cancels running items, drops queued ones and escalates to
//! abort after the close timeout; [`wait_and_close`](WorkerPool::wait_and_close) lets them
//! finish first.
//!
//! Each item's [`Handle`] is bridged from its job by one small driver task (the core's
//! `submit_stage`), so an item costs two tasks; cancelling the handle closes the job (a
//! queued item is removed unrun).

mod future;

pub use future::PoolFuture;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use more_executors_core::stage::{JobContext, catch_panic};
use more_executors_core::{ConfigError, Error, Executor, Handle, Lifecycle, Runtime};

use crate::scheduler::{Close, CloseReport, Scheduler};

/// A fixed pool of `n` workers fed by a bounded queue (the "pipeliner" pattern): submit an
/// item, get a [`Handle`] to the worker's output for it.
///
/// It is also a core [`Executor`] (the job is the item), so layers such as retry or
/// timeout can wrap it, and [`Executor::submit`] never blocks: when the queue is full the
/// item takes its place behind the items already waiting for room (so items start in
/// submission order) and its handle's driver task waits. [`submit_ready`](Self::submit_ready)
/// waits for room before returning instead (back pressure on the submitter).
///
/// ```
/// use more_executors_core::Executor;
/// use more_executors_jobs::WorkerPool;
///
/// # #[tokio::main] async fn main() {
/// let pool = WorkerPool::new(2, 100, |url: String| async move { Ok::<_, String>(url.len()) }).unwrap();
/// let handles: Vec<_> = ["a", "bb", "ccc"].iter().map(|u| pool.submit(u.to_string())).collect();
/// let mut lengths = Vec::new();
/// for h in handles {
///     lengths.push(h.await.unwrap());
/// }
/// assert_eq!(lengths, [1, 2, 3]);
/// assert_eq!(pool.scheduler().limit(), Some(2), "a scheduler with limit N underneath");
/// let report = pool.wait_and_close(None).await;
/// assert_eq!(report.total(), 0);
/// # }
/// ```
pub struct WorkerPool<W> {
    scheduler: Scheduler,
    worker: Arc<W>,
}

impl<W> Clone for WorkerPool<W> {
    fn clone(&self) -> Self {
        WorkerPool { scheduler: self.scheduler.clone(), worker: self.worker.clone() }
    }
}

impl<W> fmt::Debug for WorkerPool<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool").field("scheduler", &self.scheduler).finish()
    }
}

impl<W> WorkerPool<W> {
    /// `workers` workers and a queue of at most `queue` items, running `worker` for each
    /// item, with the scheduler's other defaults.
    ///
    /// # Errors
    /// [`ConfigError`] when `workers` is 0.
    ///
    /// ```
    /// use more_executors_jobs::WorkerPool;
    /// let pool = WorkerPool::new(4, 100, |n: u32| async move { Ok::<_, String>(n) }).unwrap();
    /// assert_eq!(pool.scheduler().limit(), Some(4));
    /// assert!(WorkerPool::new(0, 1, |n: u32| async move { Ok::<_, String>(n) }).is_err());
    /// ```
    pub fn new(workers: usize, queue: usize, worker: W) -> Result<Self, ConfigError> {
        let workers = more_executors_core::config::nonzero("worker count", workers)?;
        let scheduler = Scheduler::builder().name("pool").limit(workers).pending_limit(queue).build()?;
        Ok(Self::with_scheduler(scheduler, worker))
    }

    /// A pool on a scheduler you configured (its limit is the number of workers, its
    /// pending limit the queue bound; close timeout, error handler and name are its own).
    ///
    /// ```
    /// use more_executors_jobs::{Scheduler, WorkerPool};
    /// let scheduler = Scheduler::builder().limit(4).pending_limit(16).build().unwrap();
    /// let pool = WorkerPool::with_scheduler(scheduler, |n: u32| async move { Ok::<_, String>(n) });
    /// assert_eq!(pool.scheduler().pending_limit(), 16);
    /// ```
    pub fn with_scheduler(scheduler: Scheduler, worker: W) -> Self {
        WorkerPool { scheduler, worker: Arc::new(worker) }
    }

    /// The scheduler underneath: introspect it (`active_count`, `jobs`), change its limit.
    ///
    /// ```
    /// let pool = more_executors_jobs::WorkerPool::new(2, 8, |n: u8| async move { Ok::<_, String>(n) }).unwrap();
    /// assert_eq!(pool.scheduler().pending_limit(), 8);
    /// ```
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// Closes the pool's scheduler; see [`Scheduler::close`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use more_executors_core::Executor;
    /// let pool = more_executors_jobs::WorkerPool::new(1, 8, |_: u8| std::future::pending::<Result<(), String>>()).unwrap();
    /// let h = pool.submit(1);
    /// let report = pool.close().await;
    /// assert_eq!(report.total(), 1);
    /// assert!(h.await.unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn close(&self) -> Close {
        self.scheduler.close()
    }

    /// Lets queued and running items finish, then closes; see
    /// [`Scheduler::wait_and_close`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use more_executors_core::Executor;
    /// let pool = more_executors_jobs::WorkerPool::new(1, 8, |n: u8| async move { Ok::<_, String>(n) }).unwrap();
    /// let h = pool.submit(1);
    /// assert_eq!(pool.wait_and_close(None).await.total(), 0);
    /// assert_eq!(h.await, Ok(1));
    /// # }
    /// ```
    pub async fn wait_and_close(&self, timeout: Option<Duration>) -> CloseReport {
        self.scheduler.wait_and_close(timeout).await
    }

    /// Waits until the queue has room for `item`, queues it, and returns its handle.
    /// Resolves to a handle failed with [`Error::ShutDown`] once the pool is closed.
    ///
    /// ```
    /// use more_executors_jobs::WorkerPool;
    /// # #[tokio::main] async fn main() {
    /// let pool = WorkerPool::new(1, 0, |n: u32| async move { Ok::<_, String>(n * 2) }).unwrap();
    /// let h = pool.submit_ready(21).await;
    /// assert_eq!(h.await, Ok(42));
    /// # }
    /// ```
    pub async fn submit_ready<I, Fut, T, E>(&self, item: I) -> Handle<T, E>
    where
        W: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let fut = match catch_panic(|| (self.worker)(item)) {
            Ok(fut) => fut,
            Err(panic) => return Handle::from_error(panic.into_error()),
        };
        match self.scheduler.spawn(fut).await {
            Ok(job) => {
                more_executors_core::stage::submit_stage(self, move |_| PoolFuture::<Fut, T, E>::running(job))
            }
            Err(_) => Handle::from_error(Error::ShutDown),
        }
    }
}

impl<W: Send + Sync + 'static> Lifecycle for WorkerPool<W> {
    fn name(&self) -> &str {
        self.scheduler.name()
    }

    fn kind(&self) -> &'static str {
        "pool"
    }

    fn runtime(&self) -> &Runtime {
        self.scheduler.shared.rt()
    }

    /// Closes the scheduler (see [`Scheduler::close`]); the runtime is marked shut down
    /// once the close has finished.
    fn shutdown(&self) {
        let close = self.scheduler.close();
        let rt = self.scheduler.shared.rt().clone();
        drop(self.scheduler.shared.rt().spawn(async move {
            close.await;
            rt.shutdown();
        }));
    }

    fn is_shut_down(&self) -> bool {
        self.scheduler.is_closed()
    }
}

impl<W, I, Fut, T, E> Executor<I> for WorkerPool<W>
where
    W: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    type Future = PoolFuture<Fut, T, E>;

    fn call(&self, item: I, _ctx: &JobContext) -> Self::Future {
        let fut = match catch_panic(|| (self.worker)(item)) {
            Ok(fut) => fut,
            Err(panic) => return PoolFuture::failed(panic.into_error()),
        };
        // Enter the scheduler now, so the item takes its place in submission order and is
        // counted by `wait_and_close`, also when the queue is full: the spawn is polled
        // once here, which queues it behind the spawners already waiting for room; the
        // driver's first poll replaces the no-op waker with its own.
        let mut spawn = self.scheduler.spawn(fut);
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        match Pin::new(&mut spawn).poll(&mut cx) {
            Poll::Ready(Ok(job)) => PoolFuture::running(job),
            Poll::Ready(Err(_closed)) => PoolFuture::failed(Error::ShutDown),
            Poll::Pending => PoolFuture::spawning(spawn),
        }
    }
}
