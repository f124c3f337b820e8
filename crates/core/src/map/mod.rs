//! Transform a job's successful output ([`Map`]) or its error ([`MapErr`]).
//!
//! The transform runs in the job's driver task right after the inner stage resolves; it
//! adds no task. A panic in the transform resolves that handle to
//! [`Error::Panicked`](crate::Error::Panicked) and affects no other job. Cancel passes
//! straight to the inner stage.

mod future;
mod layer;

pub use future::{MapErrFuture, MapFuture};
pub use layer::{MapErrLayer, MapLayer};

use std::fmt;

use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;

/// An executor whose handles resolve to `f(output)` instead of `output`.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// let exec = InlineExecutor::new().with_map(|s: &str| s.len());
/// assert_eq!(exec.submit(|| Ok::<_, ()>("four")).wait(), Ok(4));
/// ```
#[derive(Clone)]
pub struct Map<S, M> {
    inner: S,
    f: M,
}

impl<S, M> Map<S, M> {
    /// Wraps `inner`.
    pub fn new(inner: S, f: M) -> Self {
        Map { inner, f }
    }

    crate::macros::core_accessors!("map::Map", ", |n: u8| n");
}

impl<S: fmt::Debug, M> fmt::Debug for Map<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map").field("inner", &self.inner).finish()
    }
}

impl<S: Lifecycle, M: Send + Sync> Lifecycle for Map<S, M> {
    crate::forward_lifecycle!("map");
}

impl<S, M, J> Executor<J> for Map<S, M>
where
    S: Executor<J>,
    M: Clone + Send + Sync + 'static,
{
    type Future = MapFuture<S::Future, M>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        MapFuture::new(self.inner.call(job, ctx), self.f.clone())
    }
}

/// An executor whose job errors are transformed by `f` (other errors pass unchanged).
///
/// ```
/// use more_executors_core::prelude::*;
///
/// let exec = InlineExecutor::new().with_map_err(|code: i32| format!("exit code {code}"));
/// let err = exec.submit(|| Err::<(), _>(2)).wait().unwrap_err();
/// assert_eq!(err.job_error().map(String::as_str), Some("exit code 2"));
/// ```
#[derive(Clone)]
pub struct MapErr<S, M> {
    inner: S,
    f: M,
}

impl<S, M> MapErr<S, M> {
    /// Wraps `inner`.
    pub fn new(inner: S, f: M) -> Self {
        MapErr { inner, f }
    }

    crate::macros::core_accessors!("map::MapErr", ", |e: u8| e");
}

impl<S: fmt::Debug, M> fmt::Debug for MapErr<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapErr").field("inner", &self.inner).finish()
    }
}

impl<S: Lifecycle, M: Send + Sync> Lifecycle for MapErr<S, M> {
    crate::forward_lifecycle!("map");
}

impl<S, M, J> Executor<J> for MapErr<S, M>
where
    S: Executor<J>,
    M: Clone + Send + Sync + 'static,
{
    type Future = MapErrFuture<S::Future, M>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        MapErrFuture::new(self.inner.call(job, ctx), self.f.clone())
    }
}
