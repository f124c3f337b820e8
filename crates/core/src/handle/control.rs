//! The per-job state machine shared by a handle, its driver task and the stages of a stack.
//!
//! Exactly-once resolution is decided here: the first of "the job finished" and "cancel was
//! accepted" moves the phase out of `Running` under the lock, and the loser observes it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, panic_message};

/// Where a job's life stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    Done,
    Cancelled,
}

/// A stage's answer to "may this job be cancelled now?".
///
/// A stage installs a gate with [`JobContext::set_gate`] while the job is in it; the gate of
/// the innermost active stage decides a cancel request.
#[derive(Clone)]
pub enum CancelGate {
    /// Cancel succeeds at once: the job's future is dropped (the default).
    Allow,
    /// Cancel is refused (for example, a blocking job already running on a thread).
    Refuse,
    /// A user-supplied decision (for example, the poll layer's cancel function).
    Hook(Arc<dyn CancelHook>),
}

impl fmt::Debug for CancelGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelGate::Allow => f.write_str("Allow"),
            CancelGate::Refuse => f.write_str("Refuse"),
            CancelGate::Hook(_) => f.write_str("Hook(..)"),
        }
    }
}

/// A future deciding a cancel request asynchronously.
pub type CancelFuture = Pin<Box<dyn Future<Output = bool> + Send + 'static>>;

/// How a [`CancelHook`] answers.
pub enum CancelDecision {
    /// Decided on the spot: `true` lets the cancel go ahead.
    Now(bool),
    /// Decided by a future (for example, an HTTP request to the remote service). `cancel()`
    /// blocks the calling thread on it; `cancel_async()` awaits it.
    Later(CancelFuture),
}

impl fmt::Debug for CancelDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelDecision::Now(b) => f.debug_tuple("Now").field(b).finish(),
            CancelDecision::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// A stage's cancel decision, called when someone cancels a handle while the job is in
/// that stage. It may run on any thread and must not block for long; a panic in it refuses
/// the cancel and is logged.
pub trait CancelHook: Send + Sync + 'static {
    /// Decides whether the job may be cancelled now.
    fn decide(&self) -> CancelDecision;
}

impl<F> CancelHook for F
where
    F: Fn() -> CancelDecision + Send + Sync + 'static,
{
    fn decide(&self) -> CancelDecision {
        self()
    }
}

struct State {
    phase: Phase,
    gate: CancelGate,
}

pub(crate) struct Control {
    state: Mutex<State>,
    id: u64,
    /// Cancel requests that reached the job while it was running (see
    /// [`JobContext::cancel_requests`]).
    requests: AtomicU64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Control {
    pub(crate) fn new() -> Arc<Control> {
        Arc::new(Control {
            state: Mutex::new(State { phase: Phase::Running, gate: CancelGate::Allow }),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            requests: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock, so poisoning cannot leave it inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn phase(&self) -> Phase {
        self.lock().phase
    }

    /// Records the outcome of the job; returns what the handle resolves to.
    pub(crate) fn finish<T, E>(&self, result: Result<T, Error<E>>) -> Result<T, Error<E>> {
        let mut st = self.lock();
        match st.phase {
            Phase::Running => {
                st.phase =
                    if matches!(result, Err(Error::Cancelled)) { Phase::Cancelled } else { Phase::Done };
                result
            }
            Phase::Cancelled => Err(Error::Cancelled),
            Phase::Done => result,
        }
    }

    /// Records an abnormal end of the driver task (panic outside the job, or the runtime
    /// went away); returns what the handle resolves to.
    pub(crate) fn finish_with<T, E>(&self, err: Error<E>) -> Result<T, Error<E>> {
        self.finish(Err(err))
    }

    /// Tries to cancel. `abort` stops the driver task when the cancel is accepted.
    pub(crate) fn cancel_blocking(&self, abort: impl FnOnce()) -> bool {
        match self.begin_cancel() {
            Begin::Answered(b) => {
                if b {
                    abort();
                }
                b
            }
            Begin::Ask(hook) => {
                let ok = match run_hook(&hook) {
                    CancelDecision::Now(b) => b,
                    CancelDecision::Later(fut) => crate::handle::wait::block_on_cancel(fut),
                };
                self.complete_cancel(ok, abort)
            }
        }
    }

    /// Tries to cancel, awaiting an asynchronous cancel decision.
    pub(crate) async fn cancel_async(&self, abort: impl FnOnce()) -> bool {
        match self.begin_cancel() {
            Begin::Answered(b) => {
                if b {
                    abort();
                }
                b
            }
            Begin::Ask(hook) => {
                let ok = match run_hook(&hook) {
                    CancelDecision::Now(b) => b,
                    CancelDecision::Later(fut) => fut.await,
                };
                self.complete_cancel(ok, abort)
            }
        }
    }

    /// Tries to cancel without blocking: an asynchronous decision is awaited on `rt` and
    /// `abort` runs later if it approves. Returns `Some(accepted)` when decided at once.
    pub(crate) fn cancel_detached(
        self: &Arc<Self>,
        rt: &tokio::runtime::Handle,
        abort: impl FnOnce() + Send + 'static,
    ) -> Option<bool> {
        match self.begin_cancel() {
            Begin::Answered(b) => {
                if b {
                    abort();
                }
                Some(b)
            }
            Begin::Ask(hook) => match run_hook(&hook) {
                CancelDecision::Now(b) => Some(self.complete_cancel(b, abort)),
                CancelDecision::Later(fut) => {
                    let ctl = self.clone();
                    rt.spawn(async move {
                        let ok = fut.await;
                        ctl.complete_cancel(ok, abort);
                    });
                    None
                }
            },
        }
    }

    fn begin_cancel(&self) -> Begin {
        let mut st = self.lock();
        match st.phase {
            Phase::Done => Begin::Answered(false),
            Phase::Cancelled => Begin::Answered(true),
            Phase::Running => {
                self.requests.fetch_add(1, Ordering::AcqRel);
                match &st.gate {
                    CancelGate::Allow => {
                        st.phase = Phase::Cancelled;
                        Begin::Answered(true)
                    }
                    CancelGate::Refuse => {
                        tracing::debug!(
                            job_id = self.id,
                            "cancel refused: the job cannot be interrupted now"
                        );
                        Begin::Answered(false)
                    }
                    CancelGate::Hook(h) => Begin::Ask(h.clone()),
                }
            }
        }
    }

    fn complete_cancel(&self, approved: bool, abort: impl FnOnce()) -> bool {
        if !approved {
            tracing::debug!(job_id = self.id, "cancel refused by the stage's cancel function");
            return false;
        }
        let mut st = self.lock();
        match st.phase {
            Phase::Running => {
                st.phase = Phase::Cancelled;
                drop(st);
                abort();
                true
            }
            Phase::Cancelled => true,
            Phase::Done => false,
        }
    }

    fn swap_gate(&self, gate: CancelGate) -> CancelGate {
        std::mem::replace(&mut self.lock().gate, gate)
    }

    /// Moves a running job into an uncancellable stage; false when it was already cancelled.
    fn begin_uncancellable(&self) -> Option<CancelGate> {
        let mut st = self.lock();
        if st.phase != Phase::Running {
            return None;
        }
        Some(std::mem::replace(&mut st.gate, CancelGate::Refuse))
    }
}

enum Begin {
    Answered(bool),
    Ask(Arc<dyn CancelHook>),
}

fn run_hook(hook: &Arc<dyn CancelHook>) -> CancelDecision {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook.decide())) {
        Ok(d) => d,
        Err(p) => {
            tracing::error!(panic = %panic_message(&*p), "cancel function panicked; the cancel is refused");
            CancelDecision::Now(false)
        }
    }
}

/// The job's side of its handle, given to every stage of a stack when the job is submitted.
///
/// Stages use it to say how a cancel request is decided while the job is with them
/// ([`set_gate`](Self::set_gate)) and to learn whether the job was cancelled
/// ([`is_cancelled`](Self::is_cancelled)). Cloning it is cheap.
///
/// ```
/// use more_executors_core::{CancelGate, JobContext};
///
/// let ctx = JobContext::detached();
/// {
///     let _guard = ctx.set_gate(CancelGate::Refuse);
///     // while the guard lives, cancel requests are refused
/// }
/// assert!(!ctx.is_cancelled());
/// ```
#[derive(Clone)]
pub struct JobContext {
    pub(crate) ctl: Arc<Control>,
}

impl fmt::Debug for JobContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobContext").field("id", &self.ctl.id).field("phase", &self.ctl.phase()).finish()
    }
}

impl JobContext {
    pub(crate) fn new(ctl: Arc<Control>) -> Self {
        JobContext { ctl }
    }

    /// A context not attached to any handle, for driving a stage future by hand (tests,
    /// benchmarks, custom executors).
    pub fn detached() -> Self {
        JobContext { ctl: Control::new() }
    }

    /// The job's id, unique in this process; it appears in tracing spans.
    pub fn id(&self) -> u64 {
        self.ctl.id
    }

    /// True once a cancel of this job was accepted.
    pub fn is_cancelled(&self) -> bool {
        self.ctl.phase() == Phase::Cancelled
    }

    /// Installs `gate` as the cancel rule while the returned guard lives; dropping the
    /// guard restores the previous rule. Stages nest, so the innermost active stage decides.
    pub fn set_gate(&self, gate: CancelGate) -> GateGuard {
        let previous = self.ctl.swap_gate(gate);
        GateGuard { ctl: self.ctl.clone(), previous: Some(previous) }
    }

    /// Cancels the job from inside its stack (for example, on shutdown), following the same
    /// rules as [`Handle::cancel`](crate::Handle::cancel) but never blocking: when the
    /// current stage decides asynchronously, the decision is awaited on `runtime`.
    ///
    /// `on_cancel` runs once the cancel is accepted; the stage calling this must then
    /// resolve (for example, wake its future, which returns
    /// [`Error::Cancelled`](crate::Error::Cancelled)). Returns `Some(accepted)` when decided
    /// at once, `None` when the decision is pending.
    pub fn cancel_from_stage(
        &self,
        runtime: &crate::Runtime,
        on_cancel: impl FnOnce() + Send + 'static,
    ) -> Option<bool> {
        self.ctl.cancel_detached(runtime.handle(), on_cancel)
    }

    /// How many cancel requests reached this job while it was running, whatever their
    /// outcome (accepted, refused, or still being decided). A stage that runs inner stages
    /// one after another (retry) compares two readings to learn that a cancel was refused
    /// in between: a request that was accepted would have dropped the stage instead.
    ///
    /// ```
    /// use more_executors_core::JobContext;
    /// assert_eq!(JobContext::detached().cancel_requests(), 0);
    /// ```
    pub fn cancel_requests(&self) -> u64 {
        self.ctl.requests.load(Ordering::Acquire)
    }

    /// Atomically checks that the job was not cancelled and refuses cancels from now on,
    /// until the guard is dropped. `None` means the job was cancelled first and must not
    /// start. Used by executors whose running jobs cannot be interrupted.
    pub fn begin_uncancellable(&self) -> Option<GateGuard> {
        self.ctl
            .begin_uncancellable()
            .map(|previous| GateGuard { ctl: self.ctl.clone(), previous: Some(previous) })
    }
}

/// Restores the previous cancel rule when dropped. See [`JobContext::set_gate`].
#[must_use = "the gate is removed when the guard is dropped"]
pub struct GateGuard {
    ctl: Arc<Control>,
    previous: Option<CancelGate>,
}

impl fmt::Debug for GateGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateGuard").field("previous", &self.previous).finish()
    }
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            self.ctl.swap_gate(previous);
        }
    }
}
