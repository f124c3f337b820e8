//! Building blocks for layer authors: the traits a stage future and a user function are
//! named through.
//!
//! A layer's [`Executor`](crate::Executor) impl and its stage future's [`Future`] impl
//! should have no type parameter that is fixed only by a `where` clause (such as the `U`
//! in `M: Fn(T) -> U`, or the `T` in `F: Future<Output = Result<T, Error<E>>>`). Each such
//! parameter makes the compiler solve the inner stack's obligations afresh for every
//! mention, so type-checking time doubles with each layer of a deep stack. Naming the
//! output through an associated type instead ([`StageFuture::Ok`], [`StageFn::Output`])
//! keeps it linear in the depth of the stack.
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::task::{Context, Poll, ready};
//! use more_executors_core::stage::{StageFn, StageFuture};
//! use more_executors_core::Error;
//!
//! /// Applies `f` to the successful output of a stage future.
//! struct Then<F, M> {
//!     inner: Pin<Box<F>>,
//!     f: Option<M>,
//! }
//!
//! impl<F, M> Future for Then<F, M>
//! where
//!     F: StageFuture,
//!     M: StageFn<F::Ok> + Unpin,
//! {
//!     type Output = Result<M::Output, Error<F::Err>>;
//!
//!     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
//!         let out = ready!(self.inner.as_mut().poll_stage(cx));
//!         let f = self.f.take().expect("polled after completion");
//!         Poll::Ready(out.map(|v| f.call_once(v)))
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let fut = Then { inner: Box::pin(async { Ok::<u32, Error<()>>(2) }), f: Some(|n: u32| n * 10) };
//! assert_eq!(fut.await, Ok(20));
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Error;

/// A future that resolves to `Result<Ok, Error<Err>>`: the shape of every stage future.
///
/// Implemented for every such future. Bound a generic stage future by `StageFuture` and name
/// its output types as `F::Ok` and `F::Err` rather than introducing free type parameters
/// (see the [module docs](self) for why).
pub trait StageFuture: Future {
    /// The value of a successful stage.
    type Ok;
    /// The job's own error type.
    type Err;

    /// Polls the stage: [`Future::poll`] with the output named through `Ok` and `Err`.
    fn poll_stage(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Self::Ok, Error<Self::Err>>>;
}

impl<F, T, E> StageFuture for F
where
    F: Future<Output = Result<T, Error<E>>> + ?Sized,
{
    type Ok = T;
    type Err = E;

    fn poll_stage(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Error<E>>> {
        self.poll(cx)
    }
}

/// A function called once with a value of type `T`: what [`Map`](crate::map::Map) and
/// the other transforming layers take.
///
/// Implemented for every `FnOnce(T) -> U`; a layer bounds its function by `StageFn<T>` and
/// names the result `M::Output` instead of a free type parameter `U` (see the
/// [module docs](self)).
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
