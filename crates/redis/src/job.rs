//! The job shape: what a client submits and a worker runs.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A job that can travel through Redis: a serializable request with a name, and the
/// serializable output and error types its handler produces.
///
/// The client encodes the job (JSON) into the queue's stream under [`NAME`](Self::NAME);
/// a worker that registered a handler for that name decodes it and runs it through its
/// local executor stack; the output or error comes back encoded and resolves the
/// client's handle. Client and worker may be different programs: they share only this
/// type (or any types with the same name and the same serialized form).
///
/// Why this shape: a job must be data, not a closure, to cross a process boundary; the
/// name routes it to the right handler when one queue carries several job types; typed
/// output and error keep the client's handle as typed as a local one
/// (`Handle<Output, RemoteError<Error>>`).
///
/// A job that a client-side retry layer may submit again must be `Clone`. Give it an
/// [`idempotency_key`](Self::idempotency_key) to make every submission of the same
/// request one job in Redis.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use more_executors_redis::RemoteJob;
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Resize {
///     image: String,
///     width: u32,
/// }
///
/// impl RemoteJob for Resize {
///     const NAME: &'static str = "resize";
///     type Output = String;
///     type Error = String;
///
///     fn idempotency_key(&self) -> Option<String> {
///         Some(format!("resize-{}-{}", self.image, self.width))
///     }
/// }
/// assert_eq!(Resize { image: "a.png".into(), width: 64 }.idempotency_key().as_deref(), Some("resize-a.png-64"));
/// ```
pub trait RemoteJob: Serialize + DeserializeOwned + Send + 'static {
    /// The name workers route the job by; unique per job type on a queue, without line
    /// breaks.
    const NAME: &'static str;
    /// What a successful run produces.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The job's own error.
    type Error: Serialize + DeserializeOwned + Send + 'static;

    /// A key identifying this request across submissions, or `None` (the default) for a
    /// new job each time. Submitting a job whose key is already in the queue (pending, or
    /// finished within the result TTL) does not enqueue it again: the new handle resolves
    /// with the first job's outcome. Keys are 1 to 200 characters of `A-Z a-z 0-9 - _ . :`.
    fn idempotency_key(&self) -> Option<String> {
        None
    }
}
