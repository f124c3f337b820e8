//! [`StageFuture`] and [`StageFn`]: naming a stage's output and a user function's result
//! through associated types.

use std::future::Future;

use crate::error::Error;

/// A future that resolves to `Result<Ok, Error<Err>>`: the shape of every stage future.
///
/// Implemented for every such future. Bound a generic stage future by `StageFuture` and name
/// its output types as `F::Ok` and `F::Err` rather than introducing free type parameters
/// (see the [module docs](crate::stage) for why).
pub trait StageFuture:
    Future<Output = Result<<Self as StageFuture>::Ok, Error<<Self as StageFuture>::Err>>>
{
    /// The value of a successful stage.
    type Ok;
    /// The job's own error type.
    type Err;
}

impl<F, T, E> StageFuture for F
where
    F: Future<Output = Result<T, Error<E>>> + ?Sized,
{
    type Ok = T;
    type Err = E;
}

/// A function called once with a value of type `T`: what [`Map`](crate::map::Map) and
/// the other transforming layers take.
///
/// Implemented for every `FnOnce(T) -> U`; a layer bounds its function by `StageFn<T>` and
/// names the result `M::Output` instead of a free type parameter `U` (see the
/// [module docs](crate::stage)).
pub trait StageFn<T> {
    /// What the function returns.
    type Output;

    /// Calls the function.
    fn call_once(self, value: T) -> Self::Output;
}

impl<M, T, U> StageFn<T> for M
where
    M: FnOnce(T) -> U,
{
    type Output = U;

    fn call_once(self, value: T) -> U {
        self(value)
    }
}
