//! Chain a further asynchronous step onto a job's output ([`FlatMap`]).
//!
//! The function receives the successful output and returns a future (or a [`Handle`] from
//! any executor) whose result becomes the handle's result. An error from either step fails
//! the handle; a panic in the function fails only that handle.
//!
//! Cancel: while the first step runs, cancel goes to it; while the second runs, cancel
//! goes to the second (a returned `Handle` is cancelled through its own rules; a plain
//! future is dropped). An inner handle cancelled by someone else resolves this handle as
//! cancelled.

mod future;
mod layer;

pub use future::FlatMapFuture;
pub use layer::FlatMapLayer;

use std::fmt;
use std::marker::PhantomData;

use crate::executor::{Executor, Lifecycle};
use crate::handle::{Handle, JobContext};
use crate::stage::StageFn;

/// An executor whose handles resolve to the result of `f(output).await`.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// # #[tokio::main] async fn main() {
/// let lengths = AsyncExecutor::new();
/// let exec = AsyncExecutor::new().with_flat_map(move |s: String| {
///     lengths.submit(move || async move { Ok::<_, ()>(s.len()) })
/// });
/// let h = exec.submit(|| async { Ok::<_, ()>("hello".to_string()) });
/// assert_eq!(h.await, Ok(5));
/// # }
/// ```
pub struct FlatMap<S, M, T> {
    inner: S,
    f: M,
    // The input of `f` (the inner executor's output): a parameter of the type so the
    // future `f` returns can be named without a bound on the inner executor's types.
    _input: PhantomData<fn(T)>,
}

impl<S, M, T> FlatMap<S, M, T> {
    /// Wraps `inner`; `f` receives each successful output of `inner` and returns the second
    /// step (a future, or a [`Handle`]).
    pub fn new<G>(inner: S, f: M) -> Self
    where
        M: Fn(T) -> G,
    {
        Self::wrap(inner, f)
    }

    pub(crate) fn wrap(inner: S, f: M) -> Self {
        FlatMap { inner, f, _input: PhantomData }
    }

    crate::macros::core_accessors!("flat_map::FlatMap", ", |n: u8| async move { Ok::<u8, Error<()>>(n) }");
}

impl<S: Clone, M: Clone, T> Clone for FlatMap<S, M, T> {
    fn clone(&self) -> Self {
        FlatMap { inner: self.inner.clone(), f: self.f.clone(), _input: PhantomData }
    }
}

impl<S: fmt::Debug, M, T> fmt::Debug for FlatMap<S, M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlatMap").field("inner", &self.inner).finish()
    }
}

impl<S: Lifecycle, M: Send + Sync, T> Lifecycle for FlatMap<S, M, T> {
    crate::forward_lifecycle!("flat_map");
}

impl<S, M, T, J> Executor<J> for FlatMap<S, M, T>
where
    S: Executor<J>,
    M: StageFn<T, Output: Send + 'static> + Clone + Send + Sync + 'static,
{
    type Future = FlatMapFuture<S::Future, M, M::Output>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        let rt = self.inner.runtime().handle().clone();
        FlatMapFuture::new(self.inner.call(job, ctx), self.f.clone(), ctx.clone(), rt)
    }
}

// Used by FlatMapFuture to recognise a returned handle so cancel can reach it.
pub(crate) fn as_handle<G: 'static, U: 'static, E: 'static>(g: &G) -> Option<&Handle<U, E>> {
    (g as &dyn std::any::Any).downcast_ref::<Handle<U, E>>()
}
