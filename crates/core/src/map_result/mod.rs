//! Fallible and recovering transforms of a job's outcome: [`AndThen`] (a transform that may
//! fail), [`OrElse`] (turn a failure into a value), [`MapResult`] (the whole outcome into a
//! new result). Together with [`Map`](crate::map::Map) they cover the original's
//! `map(fn, error_fn)`.
//!
//! Like [`map`](crate::map), the transform runs in the job's driver task right after the
//! inner stage resolves and adds no task. A cancelled job stays cancelled: the transform is
//! not called for it (so a `true` from `cancel()` always means a cancelled handle). A
//! panic in the transform resolves that handle to [`Error::Panicked`](crate::Error::Panicked).
//! Cancel passes straight to the inner stage.

mod future;
mod layer;

pub use future::{AndThenFuture, MapResultFuture, OrElseFuture};
pub use layer::{AndThenLayer, MapResultLayer, OrElseLayer};

use std::fmt;

use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;

macro_rules! transform_executor {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name<S, M> {
            inner: S,
            f: M,
        }

        impl<S, M> $name<S, M> {
            /// Wraps `inner`.
            pub fn new(inner: S, f: M) -> Self {
                $name { inner, f }
            }

            crate::macros::core_accessors!(concat!("map_result::", stringify!($name)), ", |r: Result<u8, Error<()>>| r");
        }

        impl<S: fmt::Debug, M> fmt::Debug for $name<S, M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("inner", &self.inner).finish()
            }
        }

        impl<S: Lifecycle, M: Send + Sync> Lifecycle for $name<S, M> {
            crate::forward_lifecycle!("map");
        }
    };
}

transform_executor! {
    /// An executor whose successful outputs go through `f`, which may fail: `Ok(u)` is the
    /// new value, `Err(e)` fails the handle with [`Error::Job`](crate::Error::Job)`(e)`. Errors pass through.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let exec = InlineExecutor::new().with_and_then(|s: &str| s.parse::<u16>().map_err(|e| e.to_string()));
    /// assert_eq!(exec.submit(|| Ok::<_, String>("80")).wait(), Ok(80));
    /// assert!(exec.submit(|| Ok::<_, String>("eighty")).wait().unwrap_err().job_error().is_some());
    /// ```
    AndThen
}

transform_executor! {
    /// An executor that recovers from failures: `f` receives the error (the job's own, a
    /// timeout, a panic, a shut-down inner stage: anything but a cancel) and returns a value
    /// or a job error. Successes pass through.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let exec = InlineExecutor::new().with_or_else(|e: Error<i32>| match e {
    ///     Error::Job(404) => Ok(String::new()),
    ///     other => Err(other.into_job_error().unwrap_or(500)),
    /// });
    /// assert_eq!(exec.submit(|| Err::<String, _>(404)).wait(), Ok(String::new()));
    /// assert_eq!(exec.submit(|| Err::<String, _>(503)).wait(), Err(Error::Job(503)));
    /// ```
    OrElse
}

transform_executor! {
    /// An executor whose outcomes (value or error, except a cancel) go through `f`, which
    /// returns the new result with its own value and error types.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let exec = InlineExecutor::new().with_map_result(|r: Result<u8, Error<()>>| match r {
    ///     Ok(v) if v > 9 => Err(format!("{v} is too big")),
    ///     Ok(v) => Ok(v),
    ///     Err(_) => Ok(0),
    /// });
    /// assert_eq!(exec.submit(|| Ok::<_, ()>(3)).wait(), Ok(3));
    /// assert_eq!(exec.submit(|| Err::<u8, _>(())).wait(), Ok(0));
    /// assert_eq!(exec.submit(|| Ok::<_, ()>(10)).wait(), Err(Error::Job("10 is too big".to_string())));
    /// ```
    MapResult
}

impl<S, M, J> Executor<J> for AndThen<S, M>
where
    S: Executor<J>,
    M: Clone + Send + Sync + 'static,
{
    type Future = AndThenFuture<S::Future, M>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        AndThenFuture::new(self.inner.call(job, ctx), self.f.clone())
    }
}

impl<S, M, J> Executor<J> for OrElse<S, M>
where
    S: Executor<J>,
    M: Clone + Send + Sync + 'static,
{
    type Future = OrElseFuture<S::Future, M>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        OrElseFuture::new(self.inner.call(job, ctx), self.f.clone())
    }
}

impl<S, M, J> Executor<J> for MapResult<S, M>
where
    S: Executor<J>,
    M: Clone + Send + Sync + 'static,
{
    type Future = MapResultFuture<S::Future, M>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        MapResultFuture::new(self.inner.call(job, ctx), self.f.clone())
    }
}
