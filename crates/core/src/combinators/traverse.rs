//! `traverse`: make a handle per item with bounded concurrency, collect the values.

use futures_util::stream::FuturesUnordered;

use super::combined::{self, Indexed};
use crate::config::{ConfigError, nonzero};
use crate::error::{Error, catch_panic};
use crate::handle::Handle;

/// Calls `make` on each item of `items` to get a handle, with at most `max_concurrency`
/// of those handles pending at once, and resolves to the `Vec` of their values in item
/// order.
///
/// - **Bounded:** `make` is called for the first `max_concurrency` items, then once more
///   each time one of the pending handles resolves; so at most `max_concurrency` handles
///   created by `make` are pending at any moment, and items are taken from the iterator
///   lazily, in order.
/// - **Errors:** the first handle to fail (completion order) fails the result with its
///   error: the pending handles are cancelled and no more items are taken. A panic in
///   `make` (or in the iterator) resolves the result to [`Error::Panicked`] the same way.
///   A handle cancelled by someone else fails the result with [`Error::Cancelled`].
/// - **Cancel:** cancelling the result stops taking items and cancels the pending handles;
///   it is accepted while items remain, or when at least one pending handle accepts.
/// - `make` and the iterator run on the result's driver task (the current tokio runtime,
///   or the library's background runtime): they should return quickly, which submitting a
///   job to an executor does.
///
/// No items give an empty `Vec`. Any number of items works: each pending handle is polled
/// only when it wakes.
///
/// # Errors
/// [`ConfigError`] when `max_concurrency` is 0 (nothing could ever start).
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::traverse;
///
/// # #[tokio::main] async fn main() -> Result<(), ConfigError> {
/// let exec = AsyncExecutor::new();
/// let urls = vec!["/a", "/bb", "/ccc"];
/// let lengths = traverse(urls, 2, move |url: &'static str| {
///     exec.submit(move || async move { Ok::<_, ()>(url.len()) })
/// })?;
/// assert_eq!(lengths.await, Ok(vec![2, 3, 4]));
///
/// assert!(traverse(Vec::<u8>::new(), 0, |_| Handle::<u8, ()>::ready(0)).is_err());
/// # Ok(()) }
/// ```
pub fn traverse<I, M, T, E>(
    items: I,
    max_concurrency: usize,
    make: M,
) -> Result<Handle<Vec<T>, E>, ConfigError>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    M: FnMut(I::Item) -> Handle<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let limit = nonzero("traverse concurrency", max_concurrency)?;
    let inputs = combined::Inputs::new(combined::runtime());
    inputs.set_more_to_come(true);
    let drive_inputs = inputs.clone();
    let items = items.into_iter();
    Ok(combined::spawn_with_inputs(&inputs, "traverse", async move {
        let inputs = drive_inputs;
        let mut items = items.enumerate();
        let mut make = make;
        let mut slots: Vec<Option<T>> = Vec::new();
        let mut pending = FuturesUnordered::new();
        let mut exhausted = false;
        loop {
            while !exhausted && pending.len() < limit {
                if inputs.is_closed() {
                    return Err(Error::Cancelled);
                }
                let next = match catch_panic(|| items.next()) {
                    Ok(next) => next,
                    Err(panic) => {
                        inputs.cancel_rest();
                        return Err(panic.into_error());
                    }
                };
                let Some((index, item)) = next else {
                    exhausted = true;
                    inputs.set_more_to_come(false);
                    break;
                };
                let handle = match catch_panic(|| make(item)) {
                    Ok(h) => h,
                    Err(panic) => {
                        inputs.cancel_rest();
                        return Err(panic.into_error());
                    }
                };
                slots.push(None);
                let key = inputs.add(handle.canceller());
                pending.push(Indexed { fut: handle, index, key });
            }
            let Some((index, key, result)) = combined::next_coop(&mut pending).await else {
                break;
            };
            combined::store(&inputs, &mut slots, index, key, result)?;
        }
        Ok(slots.into_iter().map(|v| v.expect("every item produced a value")).collect())
    }))
}
