//! `and` / `or`: short-circuit over several handles, the first deciding input wins.

use super::combined;
use crate::error::Error;
use crate::handle::Handle;

fn decide<T, E, D>(kind: &'static str, handles: Vec<Handle<T, E>>, decides: D) -> Handle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
    D: FnMut(&Result<T, Error<E>>) -> bool + Send + 'static,
{
    assert!(!handles.is_empty(), "{kind}() needs at least one handle to decide on; none were given");
    let (inputs, tagged) = combined::register(combined::runtime(), handles);
    let drive_inputs = inputs.clone();
    combined::spawn_with_inputs(&inputs, kind, async move {
        combined::first_deciding(&drive_inputs, tagged, decides).await
    })
}

/// Short-circuiting AND over handles, like chaining [`Result::and`]: resolves to the first
/// error, or, when every input succeeds, to the value of the **last input** (in input
/// order).
///
/// **Why input order and not completion order.** Python's `f_and` returns the value of
/// whichever input finished last, which depends on timing. Here the value is the one
/// `h1.and(h2)...` would give: the same inputs give the same result on every run, the way
/// `Result::and` and `Option::and` behave. To know which input finished last, use
/// [`as_completed`](super::as_completed) and keep the final item. [`or`] follows the same
/// rule for its all-failed case.
///
/// - **Short-circuit:** the first input to fail (completion order) decides at once: the
///   result takes its error and the other inputs are cancelled. An input cancelled by
///   someone else counts as failing with [`Error::Cancelled`].
/// - **Cancel:** cancelling the result cancels every input still pending (accepted when at
///   least one of them accepts).
///
/// # Panics
/// When `handles` is empty: there is no value to resolve to.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::and;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let checks = vec![
///     exec.submit(|| async { Ok::<_, &str>("disk ok") }),
///     exec.submit(|| async { Ok::<_, &str>("network ok") }),
/// ];
/// assert_eq!(and(checks).await, Ok("network ok"));
///
/// let checks = vec![
///     exec.submit(|| std::future::pending::<Result<&str, &str>>()),
///     exec.submit(|| async { Err("network down") }),
/// ];
/// assert_eq!(and(checks).await, Err(Error::Job("network down")));
/// # }
/// ```
pub fn and<T, E, I>(handles: I) -> Handle<T, E>
where
    I: IntoIterator<Item = Handle<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
{
    decide("and", handles.into_iter().collect(), |r| r.is_err())
}

/// Short-circuiting OR over handles, like chaining [`Result::or`]: resolves to the first
/// successful value, or, when every input fails, to the error of the **last input** (in
/// input order).
///
/// Input order, not completion order, for the same reason as [`and`]: a result that does
/// not depend on timing.
///
/// - **Short-circuit:** the first input to succeed (completion order) decides at once: the
///   result takes its value and the other inputs are cancelled. Errors, including an input
///   cancelled by someone else, do not decide.
/// - **Cancel:** cancelling the result cancels every input still pending (accepted when at
///   least one of them accepts).
///
/// A typical use is hedging: ask several replicas, keep the first answer.
///
/// # Panics
/// When `handles` is empty: there is no error to resolve to.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::or;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let replicas = vec![
///     exec.submit(|| async { Err::<&str, _>("replica a is down") }),
///     exec.submit(|| async {
///         tokio::time::sleep(Duration::from_millis(5)).await;
///         Ok("from replica b")
///     }),
/// ];
/// assert_eq!(or(replicas).await, Ok("from replica b"));
/// # }
/// ```
pub fn or<T, E, I>(handles: I) -> Handle<T, E>
where
    I: IntoIterator<Item = Handle<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
{
    decide("or", handles.into_iter().collect(), |r| r.is_ok())
}

/// [`and`] with a predicate for "truthy" values: resolves to the first error or the first
/// value for which `truthy` returns `false` (completion order), cancelling the other
/// inputs; when every value is truthy, to the last input's value (input order).
///
/// A panic in `truthy` resolves the result to [`Error::Panicked`] and cancels the other
/// inputs. Cancel as [`and`].
///
/// # Panics
/// When `handles` is empty.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::and_with;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let free_space = vec![
///     exec.submit(|| async { Ok::<u64, ()>(120) }),
///     exec.submit(|| async { Ok::<u64, ()>(0) }),
///     exec.submit(|| async { Ok::<u64, ()>(300) }),
/// ];
/// // Finds a full disk (0 bytes free) as soon as one reports.
/// assert_eq!(and_with(free_space, |free| *free > 0).await, Ok(0));
/// # }
/// ```
pub fn and_with<T, E, I, P>(handles: I, truthy: P) -> Handle<T, E>
where
    I: IntoIterator<Item = Handle<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
    P: Fn(&T) -> bool + Send + 'static,
{
    decide("and_with", handles.into_iter().collect(), move |r| match r {
        Ok(v) => !truthy(v),
        Err(_) => true,
    })
}

/// [`or`] with a predicate for "truthy" values: resolves to the first value for which
/// `truthy` returns `true` (completion order), cancelling the other inputs; when no input
/// gives one, to the last input's result, value or error (input order). Errors never
/// decide.
///
/// A panic in `truthy` resolves the result to [`Error::Panicked`] and cancels the other
/// inputs. Cancel as [`or`].
///
/// # Panics
/// When `handles` is empty.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::or_with;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let lookups = vec![
///     exec.submit(|| async { Ok::<Option<&str>, ()>(None) }),
///     exec.submit(|| async { Ok::<Option<&str>, ()>(Some("found in cache b")) }),
/// ];
/// assert_eq!(or_with(lookups, Option::is_some).await, Ok(Some("found in cache b")));
/// # }
/// ```
pub fn or_with<T, E, I, P>(handles: I, truthy: P) -> Handle<T, E>
where
    I: IntoIterator<Item = Handle<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
    P: Fn(&T) -> bool + Send + 'static,
{
    decide("or_with", handles.into_iter().collect(), move |r| match r {
        Ok(v) => truthy(v),
        Err(_) => false,
    })
}
