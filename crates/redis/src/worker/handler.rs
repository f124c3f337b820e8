//! Type-erased job handlers: decode a payload, run it through a local executor stack,
//! encode the outcome.

use std::marker::PhantomData;

use serde::Serialize;

use more_executors_core::stage::StageFuture;
use more_executors_core::stage::catch_panic;
use more_executors_core::{CancelHandle, Executor, Handle};

use crate::job::RemoteJob;
use crate::wire;

pub(crate) type Encoded = Option<(&'static str, String)>;

/// What to do with a job's encoded outcome (`None`: the local stack was shut down under
/// it, hand it back).
pub(crate) type OnDone = Box<dyn FnOnce(Encoded) + Send>;

/// A job submitted to the local stack.
pub(crate) trait Started: Send {
    /// Cancels the job in the local stack (the stack's own rules decide).
    fn canceller(&self) -> CancelHandle;

    /// Calls `f` once with the encoded outcome: where the local stack records it (no task
    /// of its own), or at once if it is already known.
    fn on_done(self: Box<Self>, f: OnDone);
}

pub(crate) trait Dispatch: Send + Sync + 'static {
    /// Decodes `payload` and submits it to the local stack; `Err` when it cannot be decoded.
    fn start(&self, payload: &str) -> Result<Box<dyn Started>, String>;
}

pub(crate) struct Handler<J, X, XJ, F> {
    pub(crate) exec: X,
    pub(crate) make: F,
    pub(crate) _types: PhantomData<fn(J) -> XJ>,
}

impl<J, X, XJ, F> Dispatch for Handler<J, X, XJ, F>
where
    J: RemoteJob,
    X: Executor<XJ, Future: StageFuture<Ok = J::Output, Err = J::Error>> + 'static,
    F: Fn(J) -> XJ + Send + Sync + 'static,
    XJ: 'static,
{
    fn start(&self, payload: &str) -> Result<Box<dyn Started>, String> {
        let job: J = serde_json::from_str(payload)
            .map_err(|e| format!("the payload could not be decoded as job type {:?}: {e}", J::NAME))?;
        let handle: Handle<J::Output, J::Error> = match catch_panic(|| (self.make)(job)) {
            Ok(local) => self.exec.submit(local),
            Err(panic) => Handle::from_error(panic.into_error()),
        };
        Ok(Box::new(handle))
    }
}

impl<T, E> Started for Handle<T, E>
where
    T: Serialize + Send + 'static,
    E: Serialize + Send + 'static,
{
    fn canceller(&self) -> CancelHandle {
        Handle::canceller(self)
    }

    fn on_done(mut self: Box<Self>, f: OnDone) {
        Handle::on_done(&mut *self, move |r| f(wire::encode(r)));
    }
}
