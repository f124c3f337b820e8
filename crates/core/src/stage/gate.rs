//! How a cancel request is decided while a job is in a stage: [`CancelGate`],
//! [`CancelHook`] and their answer, [`CancelDecision`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A stage's answer to "may this job be cancelled now?".
///
/// A stage installs a gate with [`JobContext::set_gate`](super::JobContext::set_gate) while the job is in it; the gate of
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
