//! Done callbacks: registered on a [`Handle`](super::Handle), kept by the job's
//! [`Control`](super::control::Control), and run exactly once by whoever records the
//! outcome (the driver task, the accepted cancel, or the end of an abandoned driver).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::control::Phase;
use super::{CancelHandle, CancelRepr, Handle, Repr};

use crate::error::{Error, Panic};

/// The outcome as the recording side sees it: the typed result, or one of the outcomes the
/// untyped state machine decides by itself.
#[derive(Clone, Copy)]
pub(crate) enum Resolved<'a> {
    /// `&Result<T, Error<E>>` of the job.
    Value(&'a dyn Any),
    /// A cancel was accepted.
    Cancelled,
    /// The driver task was dropped before it finished (its runtime shut down).
    ShutDown,
}

/// A registered callback, with its types erased.
pub(crate) type Callback = Box<dyn FnOnce(Resolved<'_>) + Send>;

/// Erases the types of `f`, a callback on `&Result<T, Error<E>>`.
pub(crate) fn erase<T, E, F>(f: F) -> Callback
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&Result<T, Error<E>>) + Send + 'static,
{
    Box::new(move |resolved: Resolved<'_>| match resolved {
        Resolved::Value(any) => match any.downcast_ref::<Result<T, Error<E>>>() {
            Some(r) => f(r),
            None => f(&Err(Error::Panicked("a done callback saw a result of another type".into()))),
        },
        Resolved::Cancelled => f(&Err(Error::Cancelled)),
        Resolved::ShutDown => f(&Err(Error::ShutDown)),
    })
}

/// Runs every callback once, in registration order. A panicking callback is contained:
/// it is logged, and the others still run.
pub(crate) fn run(job_id: u64, callbacks: Vec<Callback>, resolved: Resolved<'_>) {
    for cb in callbacks {
        run_one(job_id, cb, resolved);
    }
}

pub(crate) fn run_one(job_id: u64, cb: Callback, resolved: Resolved<'_>) {
    if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(|| cb(resolved))) {
        tracing::error!(job_id, panic = %Panic::from_payload(&*p), "a done callback panicked; other callbacks are unaffected");
    }
}

impl<T, E> Handle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Calls `f` exactly once with a reference to the outcome: when the job resolves, or at
    /// once if it already has (the original's `add_done_callback`).
    ///
    /// - `f` runs on the thread that records the outcome: the job's driver task, the thread
    ///   whose cancel was accepted, or this one when the outcome is already known. It needs no
    ///   runtime in the caller, so it can be registered from synchronous code. It should be
    ///   quick and must not block; spawn or send elsewhere for more work.
    /// - Callbacks run in registration order, before the handle yields the result.
    /// - A panicking callback is contained: it is logged as an error event and neither the
    ///   job, the handle nor the other callbacks are affected.
    /// - On a handle that already handed out its result (it was awaited, or
    ///   [`wait_timeout`](Self::wait_timeout) returned it), the value is gone: `f` is called
    ///   with [`Error::Cancelled`] if that result was a cancel, and otherwise is dropped
    ///   uncalled (logged as a warning).
    ///
    /// Registering a callback does not consume the handle: await it as usual.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use more_executors_core::{BlockingPool, Executor};
    ///
    /// let pool = BlockingPool::new(1).unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// let mut h = pool.submit(|| Ok::<_, String>(21));
    /// h.on_done(move |r| tx.send(r.as_ref().map(|v| v * 2).ok()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), Some(42));
    /// assert_eq!(h.wait(), Ok(21), "the handle still yields its result");
    /// ```
    pub fn on_done<F>(&mut self, f: F)
    where
        F: FnOnce(&Result<T, Error<E>>) + Send + 'static,
    {
        let id = self.id().unwrap_or(0);
        match &mut self.repr {
            Repr::Ready(r) => run_one(id, erase(f), Resolved::Value(&*r)),
            Repr::Taken { cancelled: true, .. } => run_one(id, erase(f), Resolved::Cancelled),
            Repr::Taken { cancelled: false, .. } => {
                tracing::warn!(
                    job_id = id,
                    "on_done on a handle that already returned its result: not called"
                );
            }
            Repr::Pending { join, ctl } => match ctl.add_callback(erase(f)) {
                Ok(()) => {}
                Err((cb, Phase::Cancelled)) => run_one(id, cb, Resolved::Cancelled),
                Err((cb, _)) => {
                    // The outcome is recorded and on its way into the task's output: no user
                    // code of this job runs any more, only the task's completion.
                    while !join.is_finished() {
                        std::thread::yield_now();
                    }
                    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
                    // Outside tokio's cooperative budget: a caller whose task has spent its
                    // budget would otherwise see the finished task as pending.
                    let polled = {
                        let output = std::future::poll_fn(|cx| join.poll(ctl, cx));
                        let mut output = tokio::task::coop::unconstrained(output);
                        Pin::new(&mut output).poll(&mut cx)
                    };
                    let Poll::Ready(r) = polled else { unreachable!("a finished task is ready") };
                    run_one(id, cb, Resolved::Value(&r));
                    self.repr = Repr::Ready(r);
                }
            },
        }
    }
}

impl<T, E> Handle<T, E> {
    /// True while the job is really running in its base executor and has not resolved: an
    /// async job from the first poll of its future until that future resolves, a blocking
    /// job while a pool thread runs it (the original's `running()`).
    ///
    /// A job waiting in a stage is not running: queued by a concurrency limit, waiting
    /// between retry attempts, waiting in a poll layer's poll set for the poll function to
    /// resolve it, or still queued in a pool. A handle created already resolved is never
    /// running.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::prelude::*;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    /// let job = || async { tokio::time::sleep(Duration::from_secs(1)).await; Ok::<_, ()>(()) };
    /// let (first, second) = (exec.submit(job), exec.submit(job));
    /// tokio::task::yield_now().await;
    /// assert!(first.is_running());
    /// assert!(!second.is_running(), "queued by the limit");
    /// first.await.unwrap();
    /// tokio::task::yield_now().await;
    /// assert!(second.is_running());
    /// # }
    /// ```
    pub fn is_running(&self) -> bool {
        match &self.repr {
            Repr::Pending { join, ctl } => ctl.is_running() && !join.is_finished(),
            _ => false,
        }
    }
}

impl CancelHandle {
    /// True while the job runs in its base executor; see [`Handle::is_running`].
    ///
    /// ```
    /// use more_executors_core::Handle;
    /// let h: Handle<(), ()> = Handle::ready(());
    /// assert!(!h.canceller().is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        match &self.repr {
            CancelRepr::Pending { ctl, .. } => ctl.is_running(),
            CancelRepr::Fixed(_) => false,
        }
    }

    /// True once the job's outcome is recorded (value, error or cancelled).
    ///
    /// ```
    /// use more_executors_core::{AsyncExecutor, Executor};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let exec = AsyncExecutor::new();
    /// let h = exec.submit(|| async { Ok::<_, ()>(1) });
    /// let watch = h.canceller();
    /// assert!(!watch.is_done());
    /// h.await.unwrap();
    /// assert!(watch.is_done());
    /// # }
    /// ```
    pub fn is_done(&self) -> bool {
        match &self.repr {
            CancelRepr::Pending { ctl, .. } => ctl.phase() != Phase::Running,
            CancelRepr::Fixed(_) => true,
        }
    }
}
