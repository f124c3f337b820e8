//! [`JobContext`]: the job's side of its handle, handed to every stage of a stack.

use std::fmt;
use std::sync::Arc;

use super::{CancelDecision, CancelGate};
use crate::handle::control::Control;

/// The job's side of its handle, given to every stage of a stack when the job is submitted.
///
/// Stages use it to say how a cancel request is decided while the job is with them
/// ([`set_gate`](Self::set_gate)) and to learn whether the job was cancelled
/// ([`is_cancelled`](Self::is_cancelled)). Cloning it is cheap.
///
/// ```
/// use more_executors_core::stage::{CancelGate, JobContext};
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
        self.ctl.is_cancelled()
    }

    /// Installs `gate` as the cancel rule while the returned guard lives. Gates stack: the
    /// most recently installed gate whose guard is still alive decides, so the stage the job
    /// entered last (the innermost active one) decides. Dropping a guard removes only its
    /// own gate, whatever the order guards are dropped in.
    pub fn set_gate(&self, gate: CancelGate) -> GateGuard {
        GateGuard { token: self.ctl.push_gate(gate), ctl: self.ctl.clone() }
    }

    /// Cancels the job from inside its stack (for example, on shutdown), following the same
    /// rules as [`Handle::cancel`](crate::Handle::cancel) but never blocking: when the
    /// current stage decides asynchronously, the decision is awaited on `runtime`.
    ///
    /// `on_cancel` runs once the cancel is accepted; the stage calling this must then
    /// resolve (for example, wake its future, which returns
    /// [`Error::Cancelled`](crate::Error::Cancelled)). The answer is
    /// [`CancelDecision::Now`] when decided at once, else [`CancelDecision::Later`] with a
    /// future resolving to the final answer (the decision goes on whether or not that future
    /// is polled).
    ///
    /// ```
    /// use more_executors_core::Runtime;
    /// use more_executors_core::stage::{CancelDecision, JobContext};
    ///
    /// let ctx = JobContext::detached();
    /// let decision = ctx.cancel_from_stage(&Runtime::current_or_owned(), || {});
    /// assert!(matches!(decision, CancelDecision::Now(true)));
    /// assert!(ctx.is_cancelled());
    /// ```
    pub fn cancel_from_stage(
        &self,
        runtime: &crate::Runtime,
        on_cancel: impl FnOnce() + Send + 'static,
    ) -> CancelDecision {
        self.ctl.cancel_detached(runtime.handle(), on_cancel)
    }

    /// How many cancel requests reached this job while it was running, whatever their
    /// outcome (accepted, refused, or still being decided). A stage that runs inner stages
    /// one after another (retry) compares two readings to learn that a cancel was refused
    /// in between: a request that was accepted would have dropped the stage instead.
    ///
    /// ```
    /// use more_executors_core::stage::JobContext;
    /// assert_eq!(JobContext::detached().cancel_requests(), 0);
    /// ```
    pub fn cancel_requests(&self) -> u64 {
        self.ctl.cancel_requests()
    }

    /// Keeps `item` until the base executor's run of this job ends, or drops it at once when
    /// the job is not running (see [`Handle::is_running`](crate::Handle::is_running)).
    ///
    /// For a stage that must hold a resource as long as the job's body really runs, even
    /// after the stage itself resolved: a concurrency limit keeps a timed-out blocking job's
    /// slot this way until its thread returns. Costs one atomic load when the job is not
    /// running; otherwise one allocation.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use more_executors_core::stage::JobContext;
    ///
    /// let resource = Arc::new(());
    /// JobContext::detached().hold_while_running(resource.clone());
    /// assert_eq!(Arc::strong_count(&resource), 1, "not running: dropped at once");
    /// ```
    pub fn hold_while_running<T: Send + 'static>(&self, item: T) {
        self.ctl.hold_while_running(item);
    }

    /// Atomically checks that the job was not cancelled and refuses cancels from now on,
    /// until the guard is dropped. `None` means the job was cancelled first and must not
    /// start. Used by executors whose running jobs cannot be interrupted.
    pub fn begin_uncancellable(&self) -> Option<GateGuard> {
        self.ctl.begin_uncancellable().map(|token| GateGuard { ctl: self.ctl.clone(), token })
    }
}

/// Removes its gate when dropped. See [`JobContext::set_gate`].
#[must_use = "the gate is removed when the guard is dropped"]
pub struct GateGuard {
    ctl: Arc<Control>,
    token: crate::handle::control::GateToken,
}

impl fmt::Debug for GateGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateGuard").field("job_id", &self.ctl.id).field("token", &self.token).finish()
    }
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.ctl.remove_gate(self.token);
    }
}
