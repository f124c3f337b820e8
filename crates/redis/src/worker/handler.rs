//! Type-erased job handlers: decode a payload, run it through a local executor stack,
//! encode the outcome.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use more_executors_core::stage::StageFuture;
use more_executors_core::stage::catch_panic;
use more_executors_core::{CancelHandle, Error, Executor, Handle};

use crate::job::RemoteJob;
use crate::wire;

pub(crate) type Encoded = Option<(&'static str, String)>;

/// A started job: its local cancel handle and the future of its encoded outcome (`None`:
/// the local stack was shut down under it, hand it back).
pub(crate) type Started = (CancelHandle, Pin<Box<dyn Future<Output = Encoded> + Send>>);

pub(crate) trait Dispatch: Send + Sync + 'static {
    /// Decodes `payload` and submits it to the local stack; `Err` when it cannot be decoded.
    fn start(&self, payload: &str) -> Result<Started, String>;
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
    fn start(&self, payload: &str) -> Result<Started, String> {
        let job: J = serde_json::from_str(payload)
            .map_err(|e| format!("the payload could not be decoded as job type {:?}: {e}", J::NAME))?;
        let handle: Handle<J::Output, J::Error> = match catch_panic(|| (self.make)(job)) {
            Ok(local) => self.exec.submit(local),
            Err(panic) => Handle::from_error(panic.into_error()),
        };
        let canceller = handle.canceller();
        let fut = async move {
            let r: Result<J::Output, Error<J::Error>> = handle.await;
            wire::encode(r)
        };
        Ok((canceller, Box::pin(fut)))
    }
}
