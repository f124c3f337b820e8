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
use std::future::Future;
use std::sync::Arc;

use crate::error::Error;
use crate::executor::{Executor, Lifecycle};
use crate::handle::{Handle, JobContext};

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
#[derive(Clone)]
pub struct FlatMap<S, M> {
    inner: S,
    f: M,
    name: Option<Arc<str>>,
}

impl<S, M> FlatMap<S, M> {
    /// Wraps `inner`.
    pub fn new(inner: S, f: M) -> Self {
        FlatMap { inner, f, name: None }
    }
}

impl<S: fmt::Debug, M> fmt::Debug for FlatMap<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlatMap").field("inner", &self.inner).field("name", &self.name).finish()
    }
}

impl<S: Lifecycle, M: Send + Sync> Lifecycle for FlatMap<S, M> {
    crate::forward_lifecycle!("flat_map");
}

impl<S, M, J, G, U, E2> Executor<J> for FlatMap<S, M>
where
    S: Executor<J>,
    M: Fn(S::Output) -> G + Clone + Send + Sync + 'static,
    G: Future<Output = Result<U, E2>> + Send + 'static,
    E2: Into<Error<S::Error>>,
    U: Send + 'static,
{
    type Output = U;
    type Error = S::Error;
    type Future = FlatMapFuture<S::Future, M, G, U, S::Error>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        let rt = self.inner.runtime().handle().clone();
        FlatMapFuture::new(self.inner.call(job, ctx), self.f.clone(), ctx.clone(), rt)
    }
}

// Used by FlatMapFuture to recognise a returned handle so cancel can reach it.
pub(crate) fn as_handle<G: 'static, U: 'static, E: 'static>(g: &G) -> Option<&Handle<U, E>> {
    (g as &dyn std::any::Any).downcast_ref::<Handle<U, E>>()
}
