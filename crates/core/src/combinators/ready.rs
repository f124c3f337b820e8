//! Handles that are resolved from the start.

use crate::handle::Handle;

/// A handle already resolved to `value` (same as [`Handle::ready`]). Its `cancel()`
/// returns `false`; combinators treat it like any input that has finished.
///
/// ```
/// use more_executors_core::combinators::{ready, zip};
/// let h = zip((ready::<_, ()>(1), ready("one")));
/// assert_eq!(h.wait(), Ok((1, "one")));
/// ```
pub fn ready<T, E>(value: T) -> Handle<T, E> {
    Handle::ready(value)
}

/// A handle already failed with the job error `error` (same as [`Handle::failed`]); it
/// resolves to [`Error::Job`](crate::Error::Job). Its `cancel()` returns `false`.
///
/// ```
/// use more_executors_core::Error;
/// use more_executors_core::combinators::failed;
/// assert_eq!(failed::<u8, _>("no such user").wait(), Err(Error::Job("no such user")));
/// ```
pub fn failed<T, E>(error: E) -> Handle<T, E> {
    Handle::failed(error)
}

/// A handle already cancelled (same as [`Handle::cancelled`]): it resolves to
/// [`Error::Cancelled`](crate::Error::Cancelled), and `cancel()` returns `true`.
///
/// ```
/// use more_executors_core::combinators::{cancelled, ready, sequence};
/// // A cancelled input makes a combined handle resolve as cancelled.
/// let all = sequence(vec![ready::<u8, ()>(1), cancelled()]);
/// assert!(all.wait().unwrap_err().is_cancelled());
/// ```
pub fn cancelled<T, E>() -> Handle<T, E> {
    Handle::cancelled()
}
