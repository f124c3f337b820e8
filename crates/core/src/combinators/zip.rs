//! `zip`, `zip_all`, `sequence` and `apply`: wait for every input, fail on the first error.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use super::combined::{self, Indexed};
use crate::error::{Error, Panic, catch_panic};
use crate::handle::Handle;

type Erased<E> = Pin<Box<dyn Future<Output = Result<Box<dyn Any + Send>, Error<E>>> + Send>>;

mod sealed {
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// A group of handles that [`zip`] and [`apply`] can wait on together: a tuple of 1 to 8
/// handles with the same error type (outputs may differ), or a `Vec` of handles.
///
/// The zipped output is the tuple (or `Vec`) of the inputs' values, in input order.
///
/// ```
/// use more_executors_core::Handle;
/// use more_executors_core::combinators::{Zip, zip};
///
/// fn both<Z: Zip>(group: Z) -> Handle<Z::Output, Z::Error> {
///     zip(group)
/// }
/// let h = both((Handle::<_, ()>::ready(1), Handle::ready("one")));
/// assert_eq!(h.wait(), Ok((1, "one")));
/// ```
pub trait Zip: sealed::Sealed {
    /// The values of the inputs, in input order.
    type Output: Send + 'static;
    /// The inputs' common job error type.
    type Error: Send + 'static;

    /// Spawns the combined handle, applying `finish` to the values (a panic in `finish`
    /// fails the handle). Used by [`zip`] and [`apply`].
    #[doc(hidden)]
    fn zip_with<R, M>(self, kind: &'static str, finish: M) -> Handle<R, Self::Error>
    where
        M: FnOnce(Self::Output) -> R + Send + 'static,
        R: Send + 'static;
}

impl<T: Send + 'static, E: Send + 'static> sealed::Sealed for Vec<Handle<T, E>> {}

impl<T: Send + 'static, E: Send + 'static> Zip for Vec<Handle<T, E>> {
    type Output = Vec<T>;
    type Error = E;

    fn zip_with<R, M>(self, kind: &'static str, finish: M) -> Handle<R, E>
    where
        M: FnOnce(Vec<T>) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (inputs, tagged) = combined::register(combined::runtime(), self);
        let drive_inputs = inputs.clone();
        combined::spawn_with_inputs(&inputs, kind, async move {
            let values = combined::try_all(&drive_inputs, tagged).await?;
            catch_panic(|| finish(values)).map_err(Panic::into_error)
        })
    }
}

fn erase<T: Send + 'static, E: Send + 'static>(h: Handle<T, E>) -> Erased<E> {
    Box::pin(async move { h.await.map(|v| Box::new(v) as Box<dyn Any + Send>) })
}

fn unerase<T: 'static>(v: Option<Box<dyn Any + Send>>) -> T {
    *v.and_then(|v| v.downcast::<T>().ok()).expect("zip slots keep their types")
}

macro_rules! zip_tuple {
    ($($T:ident $h:ident),+) => {
        impl<E: Send + 'static, $($T: Send + 'static),+> sealed::Sealed for ($(Handle<$T, E>,)+) {}

        impl<E: Send + 'static, $($T: Send + 'static),+> Zip for ($(Handle<$T, E>,)+) {
            type Output = ($($T,)+);
            type Error = E;

            fn zip_with<R, M>(self, kind: &'static str, finish: M) -> Handle<R, E>
            where
                M: FnOnce(Self::Output) -> R + Send + 'static,
                R: Send + 'static,
            {
                let ($($h,)+) = self;
                let inputs = combined::Inputs::new(combined::runtime());
                let tagged: Vec<Indexed<Erased<E>>> = vec![$({
                    let key = inputs.add($h.canceller());
                    (key, erase($h))
                }),+]
                .into_iter()
                .enumerate()
                .map(|(index, (key, fut))| Indexed { fut, index, key })
                .collect();
                let drive_inputs = inputs.clone();
                combined::spawn_with_inputs(&inputs, kind, async move {
                    let values = combined::try_all(&drive_inputs, tagged).await?;
                    let mut values = values.into_iter();
                    let out = ($(unerase::<$T>(values.next()),)+);
                    catch_panic(|| finish(out)).map_err(Panic::into_error)
                })
            }
        }
    };
}

zip_tuple!(T1 h1);
zip_tuple!(T1 h1, T2 h2);
zip_tuple!(T1 h1, T2 h2, T3 h3);
zip_tuple!(T1 h1, T2 h2, T3 h3, T4 h4);
zip_tuple!(T1 h1, T2 h2, T3 h3, T4 h4, T5 h5);
zip_tuple!(T1 h1, T2 h2, T3 h3, T4 h4, T5 h5, T6 h6);
zip_tuple!(T1 h1, T2 h2, T3 h3, T4 h4, T5 h5, T6 h6, T7 h7);
zip_tuple!(T1 h1, T2 h2, T3 h3, T4 h4, T5 h5, T6 h6, T7 h7, T8 h8);

/// Combines a tuple of handles (2 to 8, or 1) into one handle of the tuple of their values;
/// a `Vec` of handles gives a handle of a `Vec`.
///
/// - **Values** are in input order, whatever order the inputs finish in.
/// - **Errors:** the first input to fail (in completion order) fails the zipped handle with
///   its error, and the other inputs are cancelled. An input cancelled by someone else is
///   such a failure: the zipped handle resolves to [`Error::Cancelled`].
/// - **Cancel:** cancelling the zipped handle cancels every input still pending; it is
///   accepted when at least one of them accepts (the others, such as blocking jobs already
///   running, finish unobserved). When every input has already finished, it is refused.
///
/// The zipped handle is eager like any other: a driver task (on the current tokio runtime,
/// or the library's background runtime) watches the inputs whether or not it is polled.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::zip;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let name = exec.submit(|| async { Ok::<_, String>("ada") });
/// let age = exec.submit(|| async { Ok::<_, String>(36) });
/// assert_eq!(zip((name, age)).await, Ok(("ada", 36)));
///
/// // The first error wins and cancels the rest.
/// let slow = exec.submit(|| std::future::pending::<Result<u8, String>>());
/// let slow_canceller = slow.canceller();
/// let failing = exec.submit(|| async { Err::<u8, _>("no".to_string()) });
/// assert_eq!(zip((slow, failing)).await, Err(Error::Job("no".to_string())));
/// assert!(slow_canceller.is_cancelled());
/// # }
/// ```
pub fn zip<Z: Zip>(handles: Z) -> Handle<Z::Output, Z::Error> {
    handles.zip_with("zip", |values| values)
}

/// Combines any number of handles of the same type into a handle of the `Vec` of their
/// values, in input order: [`sequence`] under the `zip` family's name.
///
/// Same rules as [`zip`]: the first error fails it and cancels the other inputs;
/// cancelling it cancels every pending input. No inputs give an empty `Vec` at once.
/// Any number of inputs works (100,000 and more): each input is polled only when it wakes.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::zip_all;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let handles: Vec<_> = (0..5u32).map(|i| exec.submit(move || async move { Ok::<_, ()>(i * i) })).collect();
/// assert_eq!(zip_all(handles).await, Ok(vec![0, 1, 4, 9, 16]));
/// # }
/// ```
pub fn zip_all<T, E, I>(handles: I) -> Handle<Vec<T>, E>
where
    I: IntoIterator<Item = Handle<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
{
    collect_all("zip_all", handles)
}

/// Turns a sequence of handles into one handle of the `Vec` of their values (input order
/// kept, whatever order they finish in).
///
/// - **Errors:** the first input to fail (completion order) fails the result with its
///   error and cancels the other inputs; an input cancelled by someone else makes the
///   result resolve to [`Error::Cancelled`].
/// - **Cancel:** cancelling the result cancels every input still pending (accepted when at
///   least one of them accepts).
/// - No inputs give an empty `Vec` at once. 100,000 inputs and more are fine: each input is
///   polled only when it wakes, so the cost is linear.
///
/// Works from synchronous code too (the result can be [`wait`](Handle::wait)ed):
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::sequence;
///
/// let pool = BlockingPool::new(2).unwrap();
/// let handles: Vec<_> = ["a", "b", "c"].into_iter().map(|s| pool.submit(move || Ok::<_, ()>(s.to_uppercase()))).collect();
/// assert_eq!(sequence(handles).wait(), Ok(vec!["A".to_string(), "B".into(), "C".into()]));
/// ```
pub fn sequence<T, E, I>(handles: I) -> Handle<Vec<T>, E>
where
    I: IntoIterator<Item = Handle<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
{
    collect_all("sequence", handles)
}

fn collect_all<T, E, I>(kind: &'static str, handles: I) -> Handle<Vec<T>, E>
where
    I: IntoIterator<Item = Handle<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
{
    let handles: Vec<_> = handles.into_iter().collect();
    if handles.is_empty() {
        return Handle::ready(Vec::new());
    }
    handles.zip_with(kind, |values| values)
}

/// Applies `f` to the values of several handles once they all succeeded: `handles` is a
/// tuple of 1 to 8 handles (then `f` takes the tuple of values) or a `Vec` of handles
/// (then `f` takes the `Vec`).
///
/// - **Errors:** as [`zip`]: the first failing input fails the result and cancels the
///   others, and `f` is not called. A panic in `f` resolves the result to
///   [`Error::Panicked`].
/// - **Cancel:** cancelling the result before `f` runs cancels the pending inputs (as
///   [`zip`]).
///
/// `f` runs once, on the driver task: keep it quick (submit slow work to an executor and
/// flatten it with [`FlatMap`](crate::flat_map::FlatMap) instead).
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::combinators::apply;
///
/// # #[tokio::main] async fn main() {
/// let exec = AsyncExecutor::new();
/// let price = exec.submit(|| async { Ok::<_, ()>(12.5) });
/// let count = exec.submit(|| async { Ok::<_, ()>(4) });
/// let total = apply(|(price, count): (f64, i32)| price * f64::from(count), (price, count));
/// assert_eq!(total.await, Ok(50.0));
/// # }
/// ```
pub fn apply<Z, F, R>(f: F, handles: Z) -> Handle<R, Z::Error>
where
    Z: Zip,
    F: FnOnce(Z::Output) -> R + Send + 'static,
    R: Send + 'static,
{
    handles.zip_with("apply", f)
}
