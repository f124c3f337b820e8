//! `nocancel`: a handle that refuses every cancel.

use super::combined;
use crate::handle::{CancelGate, Handle};

/// Wraps `handle` in a handle that refuses every cancel request and resolves to the same
/// result.
///
/// - `cancel()` on the returned handle returns `false` and changes nothing: the input
///   keeps running and the returned handle resolves to its result.
/// - The input can still be cancelled through its own [`CancelHandle`](crate::CancelHandle)
///   (take one with [`Handle::canceller`] before wrapping); the returned handle then resolves
///   to [`Error::Cancelled`](crate::Error::Cancelled), like any handle whose inner job was
///   cancelled, and from then on reports `is_cancelled()` (and `cancel()` answers `true`, as
///   it does for every cancelled handle).
/// - Use it to protect work that must land when the code holding the handle gives up, for
///   example when it is passed to a combinator that cancels its inputs.
///
/// A handle that is already resolved is returned as it is.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::{nocancel, zip};
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let (tx, rx) = tokio::sync::oneshot::channel::<()>();
/// let write = nocancel(exec.submit(move || async move {
///     rx.await.ok();
///     Ok::<_, ()>("written")
/// }));
/// assert!(!write.cancel(), "refused");
/// tx.send(()).unwrap();
/// assert_eq!(write.await, Ok("written"));
///
/// // Inside a combinator, the protected input survives the combinator's cancel.
/// let protected = nocancel(exec.submit(|| async { Ok::<_, ()>(1) }));
/// let other = exec.submit(|| std::future::pending::<Result<i32, ()>>());
/// let both = zip((protected, other));
/// assert!(both.cancel(), "accepted: `other` was cancelled");
/// # }
/// ```
pub fn nocancel<T, E>(handle: Handle<T, E>) -> Handle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    if handle.id().is_none() {
        return handle; // already resolved: there is nothing to cancel
    }
    combined::spawn(&combined::runtime(), "nocancel", CancelGate::Refuse, handle)
}
