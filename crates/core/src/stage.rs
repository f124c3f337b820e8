//! Building blocks for layer authors: the traits a stage future and a user function are
//! named through.
//!
//! A layer's [`Executor`] impl and its stage future's [`Future`] impl
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
//!         let out = ready!(self.inner.as_mut().poll(cx));
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
use std::sync::Arc;

use crate::error::Error;
use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;

/// A future that resolves to `Result<Ok, Error<Err>>`: the shape of every stage future.
///
/// Implemented for every such future. Bound a generic stage future by `StageFuture` and name
/// its output types as `F::Ok` and `F::Err` rather than introducing free type parameters
/// (see the [module docs](self) for why).
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

/// An executor's [`call`](Executor::call) with the executor's type erased.
///
/// A stage future that calls its inner executor later (a job queued by a concurrency limit,
/// a retried job) keeps a [`StageCaller`] instead of the inner executor itself, so the
/// future's type names the inner *future* once and not the whole inner stack a second time.
/// Calling it costs one dynamic call, once per attempt. The erased executor's
/// [`Lifecycle`] (name, runtime, shutdown state) stays reachable through it.
///
/// ```
/// use std::sync::Arc;
/// use more_executors_core::prelude::*;
/// use more_executors_core::stage::{StageCaller, StageFuture};
/// use more_executors_core::{JobContext, submit_stage};
///
/// fn caller<X, J>(exec: X) -> StageCaller<J, X::Future>
/// where
///     X: Executor<J> + 'static,
/// {
///     Arc::new(exec)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let exec = AsyncExecutor::new();
/// let call = caller(exec.clone());
/// let h = submit_stage(&exec, move |ctx: &JobContext| call.call_stage(|| async { Ok::<_, ()>(7) }, ctx));
/// assert_eq!(h.await, Ok(7));
/// # }
/// ```
pub trait CallStage<J>: Lifecycle {
    /// The stage future [`call_stage`](Self::call_stage) builds.
    type Future;

    /// Builds the stage future of `job`: [`Executor::call`] of the erased executor.
    fn call_stage(&self, job: J, ctx: &JobContext) -> Self::Future;
}

impl<X, J> CallStage<J> for X
where
    X: Executor<J>,
{
    type Future = X::Future;

    fn call_stage(&self, job: J, ctx: &JobContext) -> X::Future {
        self.call(job, ctx)
    }
}

/// A shared, type-erased [`CallStage`]: what a queued or retrying stage future holds to
/// reach its inner executor.
pub type StageCaller<J, F> = Arc<dyn CallStage<J, Future = F>>;
