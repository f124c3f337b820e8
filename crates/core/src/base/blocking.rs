use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use crossbeam_channel::{Receiver, Sender};
use tokio::sync::oneshot;

use crate::config::{ConfigError, nonzero};
use crate::error::{Error, Panic, catch_panic};
use crate::executor::{Executor, Lifecycle};
use crate::handle::control::Control;
use crate::handle::direct::Outcome;
use crate::handle::{GateGuard, Handle, JobContext};
use crate::metrics::StageTimer;
use crate::runtime::Runtime;

type Task = Box<dyn FnOnce() + Send>;

/// A pool of N named OS threads running blocking jobs (plain closures), fed by one FIFO
/// queue.
///
/// A job is `FnOnce() -> Result<T, E> + Send`. Jobs start in submission order as threads
/// become free.
///
/// Cancel: a queued job can be cancelled (it will never run); a running job cannot (cancel
/// returns `false` and the job finishes normally). A job counts as running
/// ([`Handle::is_running`](crate::Handle::is_running)) while a pool thread runs it. A panic in a job resolves its handle to
/// [`Error::Panicked`](crate::Error::Panicked); the thread survives.
///
/// Shutdown: new jobs are refused; jobs already queued still run; the threads exit when the
/// queue is empty. Dropping the last clone of the pool does the same.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// let pool = BlockingPool::builder().threads(2).thread_name("io").build().unwrap();
/// let handles: Vec<_> = (0..4).map(|i| pool.submit(move || Ok::<_, ()>(i * i))).collect();
/// let squares: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
/// assert_eq!(squares, [0, 1, 4, 9]);
/// ```
#[derive(Clone, Debug)]
pub struct BlockingPool {
    base: Arc<super::BaseInner>,
    queue: Arc<Queue>,
}

#[derive(Debug)]
struct Queue {
    tx: Mutex<Option<Sender<Task>>>,
    threads: usize,
}

impl BlockingPool {
    /// A pool of `threads` threads named `more-executors-blocking-N`.
    ///
    /// # Errors
    /// [`ConfigError`] when `threads` is 0.
    pub fn new(threads: usize) -> Result<Self, ConfigError> {
        Self::builder().threads(threads).build()
    }

    /// Configures the pool.
    pub fn builder() -> BlockingPoolBuilder {
        BlockingPoolBuilder { threads: 4, name: None, thread_name: None, runtime: None }
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.queue.threads
    }

    /// Submits `job`; the same as [`Executor::submit`], without a driver task: the pool
    /// thread that runs the job records its outcome and hands it to the handle. (Generic
    /// code calling `Executor::submit`, and any layer over the pool, go through
    /// [`Executor::call`] and one driver task per job instead; the handle behaves the same.)
    ///
    /// Cancel succeeds while the job is queued and resolves the handle at once (the job
    /// never runs), and is refused once a thread runs it. A panic in the job resolves the
    /// handle to [`Error::Panicked`]; the thread survives. After
    /// [`shutdown`](Lifecycle::shutdown) the handle resolves to [`Error::ShutDown`].
    ///
    /// ```
    /// use more_executors_core::BlockingPool;
    ///
    /// let pool = BlockingPool::new(2).unwrap();
    /// let h = pool.submit(|| Ok::<_, ()>(6 * 7));
    /// assert_eq!(h.wait(), Ok(42));
    /// ```
    pub fn submit<F, T, E>(&self, job: F) -> Handle<T, E>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        if self.is_shut_down() {
            return Handle::from_error(Error::ShutDown);
        }
        let ctl = Control::new();
        let outcome = Outcome::new();
        let run = DirectRun {
            ctl: ctl.clone(),
            outcome: outcome.clone(),
            timer: self.base.runtime.job_metrics().start(),
            span: tracing::debug_span!("job", executor = self.name(), layer = "blocking", job_id = ctl.id()),
            _tracked: self.base.runtime.track(),
            taken: false,
        };
        let task: Task = Box::new(move || run.run(job));
        if !self.enqueue(task) {
            // The task was dropped unrun: its drop recorded "shut down".
            return Handle::from_error(Error::ShutDown);
        }
        Handle::from_direct(outcome, ctl)
    }
}

/// Builds a [`BlockingPool`]. Defaults: 4 threads, name `"default"`, thread names
/// `more-executors-blocking-N`.
#[derive(Debug)]
pub struct BlockingPoolBuilder {
    threads: usize,
    name: Option<Arc<str>>,
    thread_name: Option<String>,
    runtime: Option<Runtime>,
}

impl BlockingPoolBuilder {
    /// Number of threads (at least 1).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }
    /// Names the executor.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Prefix of the threads' names; a thread is called `PREFIX-N`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = Some(prefix.into());
        self
    }
    /// The runtime for the jobs' driver tasks (default: [`Runtime::current_or_owned`]).
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Starts the threads.
    ///
    /// # Errors
    /// [`ConfigError`] when the thread count is 0 or a thread cannot be started.
    pub fn build(self) -> Result<BlockingPool, ConfigError> {
        let threads = nonzero("thread count", self.threads)?;
        let prefix = self.thread_name.unwrap_or_else(|| "more-executors-blocking".into());
        let (tx, rx) = crossbeam_channel::unbounded::<Task>();
        for i in 0..threads {
            let rx: Receiver<Task> = rx.clone();
            std::thread::Builder::new()
                .name(format!("{prefix}-{i}"))
                .spawn(move || {
                    while let Ok(task) = rx.recv() {
                        run_task(task);
                    }
                })
                .map_err(|e| ConfigError::new("thread count", format!("could not start thread {i}: {e}")))?;
        }
        let name = self.name.unwrap_or_else(super::default_name);
        let runtime = self.runtime.unwrap_or_else(Runtime::current_or_owned);
        Ok(BlockingPool {
            base: super::BaseInner::new("blocking", name, runtime),
            queue: Arc::new(Queue { tx: Mutex::new(Some(tx)), threads }),
        })
    }
}

impl Lifecycle for BlockingPool {
    crate::base::base_lifecycle!("blocking");
    fn shutdown(&self) {
        self.base.shutdown();
        // Dropping the sender lets the threads drain the queue and exit.
        self.queue.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl<F, T, E> Executor<F> for BlockingPool
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    type Future = BlockingFuture<T, E>;

    fn call(&self, job: F, ctx: &JobContext) -> Self::Future {
        let (tx, rx) = oneshot::channel();
        let ctx = ctx.clone();
        let task: Task = Box::new(move || {
            if tx.is_closed() {
                return; // nobody waits any more (cancelled or timed out while queued)
            }
            let Some(running) = ctx.begin_uncancellable() else {
                return; // cancelled while queued: never runs
            };
            ctx.ctl.set_running(true);
            let result = catch_panic(job).map_err(Panic::into_error).and_then(|r| r.map_err(Error::Job));
            ctx.ctl.set_running(false);
            // The job ran: cancels stay refused until the result is recorded, so the
            // guard travels with it to the stage future.
            let _ = tx.send((result, running));
        });
        let sent = self.enqueue(task);
        BlockingFuture { rx: sent.then_some(rx), ran: None }
    }
}

/// Runs one task on a pool thread. A job's own panic is already its outcome; what can
/// still unwind here is user code the thread runs after the outcome is handed over (the
/// `Drop` of an output nobody claimed): it is logged, and the thread serves on.
fn run_task(task: Task) {
    if let Err(panic) = catch_panic(task) {
        tracing::error!(%panic, "a blocking job's value panicked when dropped on a pool thread; the thread continues");
    }
}

impl BlockingPool {
    /// Queues `task` for the threads; false (and `task` dropped) once the pool is shut down.
    fn enqueue(&self, task: Task) -> bool {
        match &*self.queue.tx.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(q) => q.send(task).is_ok(),
            None => false,
        }
    }
}

/// A job submitted straight to the pool: run on a pool thread, which records the outcome
/// and hands it to the handle.
struct DirectRun<T, E> {
    ctl: Arc<Control>,
    outcome: Arc<Outcome<T, E>>,
    timer: StageTimer,
    span: tracing::Span,
    // Counts the job on its runtime until it is done, as a driver task would be: waiting
    // for the runtime's shutdown waits for it.
    _tracked: tokio_util::task::task_tracker::TaskTrackerToken,
    // Set once a pool thread took the job (it then runs it, or skips it as cancelled);
    // dropped before that (the pool shut down under it), it records "shut down" so the
    // handle and done callbacks still see an outcome.
    taken: bool,
}

impl<T: Send + 'static, E: Send + 'static> DirectRun<T, E> {
    fn run(mut self, job: impl FnOnce() -> Result<T, E>) {
        self.taken = true;
        let ctl = &self.ctl;
        // Cancelled while queued: the cancel resolved the handle; the job never runs.
        if ctl.begin_uncancellable().is_none() {
            return;
        }
        let _entered = self.span.enter();
        ctl.set_running(true);
        let result = catch_panic(job).map_err(Panic::into_error).and_then(|r| r.map_err(Error::Job));
        ctl.set_running(false);
        let result = ctl.finish(result);
        self.timer.finish(&result);
        self.outcome.send(result);
    }
}

impl<T, E> Drop for DirectRun<T, E> {
    fn drop(&mut self) {
        if !self.taken {
            self.ctl.abandon();
        }
    }
}

/// What a pool thread sends back: the job's result and the guard refusing cancels.
type Ran<T, E> = (Result<T, Error<E>>, GateGuard);

/// Stage future of a [`BlockingPool`] job: resolves when a pool thread has run it.
///
/// Once the job has run, cancels are refused for as long as this future lives (the driver
/// drops it after recording the outcome), so a job that ran is never reported cancelled.
#[derive(Debug)]
pub struct BlockingFuture<T, E> {
    rx: Option<oneshot::Receiver<Ran<T, E>>>,
    ran: Option<GateGuard>,
}

impl<T, E> Future for BlockingFuture<T, E> {
    type Output = Result<T, Error<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Ready(Err(Error::ShutDown));
        };
        // The sender is dropped unsent only when the job was cancelled while queued.
        let Ok((result, running)) = ready!(Pin::new(rx).poll(cx)) else {
            return Poll::Ready(Err(Error::Cancelled));
        };
        self.ran = Some(running);
        Poll::Ready(result)
    }
}
