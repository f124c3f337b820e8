//! [`Handle`]: the eager, cancellable, awaitable result of a submitted job.

pub(crate) mod callbacks;
pub(crate) mod control;
pub(crate) mod direct;
#[cfg(all(test, loom))]
mod loom_tests;
mod map;
mod shared;
pub(crate) mod wait;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::task::{AbortHandle, JoinError, JoinHandle};

use crate::error::{Error, Panic};
use control::{Control, Phase};

pub(crate) use crate::stage::{CancelDecision, CancelGate, GateGuard, JobContext};
pub use shared::SharedHandle;

/// The eventual result of a job: eager, cancellable, awaitable, and waitable from
/// synchronous code.
///
/// # Semantics
/// - **Eager.** The job runs whether or not the handle is polled. Dropping the handle
///   detaches from the job; it never cancels it (like [`tokio::task::JoinHandle`]).
/// - **Exactly once.** The handle resolves once: to the job's value, to
///   [`Error::Job`] with the job's own error, or to a library error (cancelled, timed out,
///   panicked, shut down). A result and a cancel never both happen.
/// - **Cancel** ([`cancel`](Self::cancel)) asks the stage the job is in: a job queued or
///   running as a future is cancelled at once; a blocking job already running on a thread
///   refuses; a stage with a cancel function (the poll layer) lets it decide. `true` means
///   the handle now resolves to [`Error::Cancelled`]; a cancelled handle keeps answering
///   `true`, a finished one `false`.
/// - Await it in async code; call [`wait`](Self::wait) or [`wait_timeout`](Self::wait_timeout)
///   from synchronous code.
///
/// ```
/// use more_executors_core::{AsyncExecutor, Executor};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let exec = AsyncExecutor::new();
/// let handle = exec.submit(|| async { Ok::<_, std::io::Error>(6 * 7) });
/// assert_eq!(handle.await.unwrap(), 42);
/// # }
/// ```
pub struct Handle<T, E> {
    repr: Repr<T, E>,
}

enum Repr<T, E> {
    Ready(Result<T, Error<E>>),
    // Submitted and not yet handed out: the job's state, and where its outcome arrives.
    Pending { join: Join<T, E>, ctl: Arc<Control> },
    // The result was handed out (the handle was polled by reference, or waited with a
    // timeout); what it was is remembered so the handle keeps answering consistently.
    Taken { cancelled: bool, id: Option<u64> },
}

/// How a pending handle receives its job's outcome.
enum Join<T, E> {
    /// As the output of the job's driver task (the error boxed, to keep the task small).
    Task(JoinHandle<Result<T, Box<Error<E>>>>),
    /// Handed over by the thread that ran the job, with no driver task (a job submitted to
    /// a [`BlockingPool`](crate::BlockingPool) directly). One pointer, like the task's, so
    /// handles stay as small as before.
    Direct(Arc<dyn direct::Receive<T, E>>),
}

impl<T, E> Join<T, E> {
    fn abort(&self) {
        match self {
            Join::Task(join) => join.abort(),
            Join::Direct(outcome) => outcome.abort(),
        }
    }

    fn abort_job(&self) -> AbortJob {
        match self {
            Join::Task(join) => AbortJob::Task(join.abort_handle()),
            Join::Direct(outcome) => AbortJob::Direct(outcome.clone()),
        }
    }

    /// True once the outcome can be taken without waiting.
    fn is_finished(&self) -> bool {
        match self {
            Join::Task(join) => join.is_finished(),
            Join::Direct(outcome) => outcome.is_ready(),
        }
    }

    fn poll(&mut self, ctl: &Control, cx: &mut Context<'_>) -> Poll<Result<T, Error<E>>> {
        match self {
            Join::Task(join) => Poll::Ready(match ready!(Pin::new(join).poll(cx)) {
                Ok(r) => r.map_err(|e| *e),
                Err(e) => map_join_error(ctl, e),
            }),
            // The sender is dropped unsent only when the job was dropped without running
            // (its pool went away); its drop recorded "shut down" (or it was cancelled).
            Join::Direct(outcome) => Poll::Ready(match ready!(outcome.poll_receive(cx)) {
                Some(r) => r,
                None => ctl.finish_with(Error::ShutDown),
            }),
        }
    }
}

/// Stops a job whose cancel was accepted.
#[derive(Clone)]
enum AbortJob {
    Task(AbortHandle),
    Direct(Arc<dyn direct::Abort>),
}

impl AbortJob {
    fn abort(&self) {
        match self {
            AbortJob::Task(a) => a.abort(),
            AbortJob::Direct(a) => a.abort(),
        }
    }
}

// Handles never pin their payload: the value is moved out, the task handle is Unpin.
impl<T, E> Unpin for Handle<T, E> {}

impl<T, E> fmt::Debug for Handle<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.repr {
            Repr::Ready(Ok(_)) => "ready",
            Repr::Ready(Err(_)) => "failed",
            Repr::Pending { .. } if self.is_cancelled() => "cancelled",
            Repr::Pending { .. } if self.is_done() => "done",
            Repr::Pending { .. } => "pending",
            Repr::Taken { .. } => "taken",
        };
        f.debug_struct("Handle").field("id", &self.id()).field("state", &state).finish()
    }
}

impl<T, E> Handle<T, E> {
    pub(crate) fn from_task(join: JoinHandle<Result<T, Box<Error<E>>>>, ctl: Arc<Control>) -> Self {
        Handle { repr: Repr::Pending { join: Join::Task(join), ctl } }
    }

    /// A handle whose outcome the thread that runs the job hands over through `outcome`.
    pub(crate) fn from_direct(outcome: Arc<dyn direct::Receive<T, E>>, ctl: Arc<Control>) -> Self {
        Handle { repr: Repr::Pending { join: Join::Direct(outcome), ctl } }
    }

    pub(crate) fn from_result(result: Result<T, Error<E>>) -> Self {
        Handle { repr: Repr::Ready(result) }
    }

    /// A handle already resolved to `value`.
    ///
    /// ```
    /// use more_executors_core::Handle;
    /// let h: Handle<i32, ()> = Handle::ready(1);
    /// assert!(h.is_done());
    /// assert_eq!(h.wait(), Ok(1));
    /// ```
    pub fn ready(value: T) -> Self {
        Handle { repr: Repr::Ready(Ok(value)) }
    }

    /// A handle already resolved to the job error `error`.
    ///
    /// ```
    /// use more_executors_core::{Error, Handle};
    /// let h: Handle<i32, &str> = Handle::failed("boom");
    /// assert_eq!(h.wait(), Err(Error::Job("boom")));
    /// ```
    pub fn failed(error: E) -> Self {
        Handle { repr: Repr::Ready(Err(Error::Job(error))) }
    }

    /// A handle already resolved to `error` (any variant).
    ///
    /// ```
    /// use more_executors_core::{Error, Handle};
    /// let h: Handle<i32, ()> = Handle::from_error(Error::ShutDown);
    /// assert!(h.wait().unwrap_err().is_shut_down());
    /// ```
    pub fn from_error(error: Error<E>) -> Self {
        Handle { repr: Repr::Ready(Err(error)) }
    }

    /// A handle already cancelled: it resolves to [`Error::Cancelled`] and `cancel()`
    /// returns `true`.
    ///
    /// ```
    /// use more_executors_core::Handle;
    /// let h: Handle<i32, ()> = Handle::cancelled();
    /// assert!(h.is_cancelled() && h.cancel());
    /// ```
    pub fn cancelled() -> Self {
        Self::from_error(Error::Cancelled)
    }

    /// A unique id of the job (shown in tracing spans); `None` for handles created already
    /// resolved.
    pub fn id(&self) -> Option<u64> {
        match &self.repr {
            Repr::Pending { ctl, .. } => Some(ctl.id()),
            Repr::Taken { id, .. } => *id,
            Repr::Ready(_) => None,
        }
    }

    /// True once the handle has a result (value, error or cancelled); awaiting it will
    /// not wait.
    pub fn is_done(&self) -> bool {
        match &self.repr {
            Repr::Pending { join, ctl } => ctl.phase() != Phase::Running || join.is_finished(),
            _ => true,
        }
    }

    /// True when the handle was cancelled (by [`cancel`](Self::cancel), through a
    /// [`CancelHandle`], or because an inner stage was cancelled).
    pub fn is_cancelled(&self) -> bool {
        match &self.repr {
            Repr::Pending { ctl, .. } => ctl.is_cancelled(),
            Repr::Ready(r) => matches!(r, Err(Error::Cancelled)),
            Repr::Taken { cancelled, .. } => *cancelled,
        }
    }

    /// Requests cancellation; see the type's documentation for the rules.
    ///
    /// Returns `true` when the handle is now cancelled (also when it already was), `false`
    /// when the job already finished or its stage refused. A refused cancel leaves the job
    /// untouched. When the stage decides asynchronously (an async cancel function), this
    /// blocks the calling thread; use [`cancel_async`](Self::cancel_async) in async code.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::{AsyncExecutor, Executor};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let exec = AsyncExecutor::new();
    /// let h = exec.submit(|| async {
    ///     tokio::time::sleep(Duration::from_secs(3600)).await;
    ///     Ok::<_, ()>(())
    /// });
    /// assert!(h.cancel());
    /// assert!(h.cancel(), "cancel is idempotent");
    /// assert!(h.await.unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn cancel(&self) -> bool {
        match &self.repr {
            Repr::Pending { join, ctl } => ctl.cancel_blocking(|| join.abort()),
            Repr::Ready(r) => matches!(r, Err(Error::Cancelled)),
            Repr::Taken { cancelled, .. } => *cancelled,
        }
    }

    /// Like [`cancel`](Self::cancel), but awaits an asynchronous cancel decision instead of
    /// blocking the thread.
    pub async fn cancel_async(&self) -> bool {
        match &self.repr {
            Repr::Pending { join, ctl } => ctl.cancel_async(|| join.abort()).await,
            _ => self.cancel(),
        }
    }

    /// A cloneable handle that can cancel this job from elsewhere (for example, while this
    /// handle is being awaited).
    ///
    /// ```
    /// use more_executors_core::{AsyncExecutor, Executor};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let exec = AsyncExecutor::new();
    /// let h = exec.submit(|| std::future::pending::<Result<(), ()>>());
    /// let c = h.canceller();
    /// tokio::spawn(async move { c.cancel() });
    /// assert!(h.await.unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn canceller(&self) -> CancelHandle {
        match &self.repr {
            Repr::Pending { join, ctl } => {
                CancelHandle { repr: CancelRepr::Pending { abort: join.abort_job(), ctl: ctl.clone() } }
            }
            Repr::Ready(r) => CancelHandle { repr: CancelRepr::Fixed(matches!(r, Err(Error::Cancelled))) },
            Repr::Taken { cancelled, .. } => CancelHandle { repr: CancelRepr::Fixed(*cancelled) },
        }
    }

    /// Blocks the current thread until the job resolves, and returns its result.
    ///
    /// # Panics
    /// When called on a thread that drives asynchronous tasks (a tokio worker, or inside
    /// `block_on`), because blocking there would deadlock; the message names the fix
    /// (`.await`, or `spawn_blocking`). Calling it from a plain thread, `main`, a
    /// blocking-pool job or `spawn_blocking` is fine.
    ///
    /// ```
    /// use more_executors_core::{BlockingPool, Executor};
    ///
    /// let pool = BlockingPool::new(2).unwrap();
    /// let h = pool.submit(|| Ok::<_, ()>("hello"));
    /// assert_eq!(h.wait(), Ok("hello"));
    /// ```
    pub fn wait(mut self) -> Result<T, Error<E>> {
        wait::block_until(&mut self, None).expect("no deadline was set")
    }

    /// Blocks for at most `timeout`. Returns `None` if the job has not resolved by then;
    /// the handle stays usable (wait again, await it, or cancel it).
    ///
    /// # Panics
    /// As [`wait`](Self::wait).
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::{BlockingPool, Executor};
    ///
    /// let pool = BlockingPool::new(1).unwrap();
    /// let mut h = pool.submit(|| { std::thread::sleep(Duration::from_millis(200)); Ok::<_, ()>(1) });
    /// assert_eq!(h.wait_timeout(Duration::from_millis(1)), None);
    /// assert_eq!(h.wait_timeout(Duration::from_secs(30)), Some(Ok(1)));
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T, Error<E>>> {
        let deadline = Instant::now().checked_add(timeout);
        wait::block_until(self, deadline)
    }
}

fn map_join_error<T, E>(ctl: &Control, err: JoinError) -> Result<T, Error<E>> {
    if err.is_panic() {
        ctl.finish_with(Panic::from_payload(&*err.into_panic()).into_error())
    } else {
        // The task was aborted: either by an accepted cancel (the phase says so), or
        // because its runtime shut down underneath it.
        ctl.finish_with(Error::ShutDown)
    }
}

impl<T, E> Future for Handle<T, E> {
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let out = match &mut this.repr {
            Repr::Pending { join, ctl } => ready!(join.poll(ctl, cx)),
            Repr::Ready(r) => {
                let taken = Repr::Taken { cancelled: matches!(r, Err(Error::Cancelled)), id: None };
                match std::mem::replace(&mut this.repr, taken) {
                    Repr::Ready(r) => return Poll::Ready(r),
                    _ => unreachable!(),
                }
            }
            Repr::Taken { .. } => panic!("a Handle was polled after it had already returned its result"),
        };
        let id = this.id();
        this.repr = Repr::Taken { cancelled: matches!(out, Err(Error::Cancelled)), id };
        Poll::Ready(out)
    }
}

/// Cancels a job from anywhere; obtained from [`Handle::canceller`]. Same rules and return
/// value as [`Handle::cancel`].
///
/// ```
/// use more_executors_core::Handle;
/// let h: Handle<(), ()> = Handle::ready(());
/// assert!(!h.canceller().cancel(), "a finished job cannot be cancelled");
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    repr: CancelRepr,
}

#[derive(Clone)]
enum CancelRepr {
    Pending { abort: AbortJob, ctl: Arc<Control> },
    Fixed(bool),
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle").field("is_cancelled", &self.is_cancelled()).finish()
    }
}

impl CancelHandle {
    /// Requests cancellation; see [`Handle::cancel`].
    pub fn cancel(&self) -> bool {
        match &self.repr {
            CancelRepr::Pending { abort, ctl } => ctl.cancel_blocking(|| abort.abort()),
            CancelRepr::Fixed(b) => *b,
        }
    }

    /// Requests cancellation, awaiting an asynchronous decision; see
    /// [`Handle::cancel_async`].
    pub async fn cancel_async(&self) -> bool {
        match &self.repr {
            CancelRepr::Pending { abort, ctl } => ctl.cancel_async(|| abort.abort()).await,
            CancelRepr::Fixed(b) => *b,
        }
    }

    /// True when the job was cancelled.
    pub fn is_cancelled(&self) -> bool {
        match &self.repr {
            CancelRepr::Pending { ctl, .. } => ctl.is_cancelled(),
            CancelRepr::Fixed(b) => *b,
        }
    }

    /// Requests cancellation without ever blocking the calling thread: what a
    /// [`CancelHook`](crate::stage::CancelHook) forwarding a cancel to another handle should use, since hooks must not
    /// block. [`CancelDecision::Now`] when decided at once; otherwise the stage decides
    /// asynchronously (awaited on `rt`) and [`CancelDecision::Later`]'s future resolves to
    /// the decision. Dropping that future does not withdraw the request.
    ///
    /// ```
    /// use more_executors_core::Handle;
    /// use more_executors_core::stage::CancelDecision;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let h: Handle<(), ()> = Handle::cancelled();
    /// let rt = tokio::runtime::Handle::current();
    /// // A hook forwarding a cancel returns this decision as it is.
    /// let decision = h.canceller().cancel_nonblocking(&rt);
    /// assert!(matches!(decision, CancelDecision::Now(true)));
    /// # }
    /// ```
    pub fn cancel_nonblocking(&self, rt: &tokio::runtime::Handle) -> CancelDecision {
        match &self.repr {
            CancelRepr::Pending { abort, ctl } => {
                let abort = abort.clone();
                ctl.cancel_detached(rt, move || abort.abort())
            }
            CancelRepr::Fixed(b) => CancelDecision::Now(*b),
        }
    }
}
