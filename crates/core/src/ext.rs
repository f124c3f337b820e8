//! [`ExecutorExt`]: the `with_*` chain, for users of the original library.

use tower_layer::Layer;

use crate::boxed::{BoxCloneExecutor, BoxExecutor};
use crate::cancel_on_shutdown::CancelOnShutdown;
use crate::config::ConfigError;
use crate::flat_map::FlatMap;
use crate::limit::ConcurrencyLimit;
use crate::map::{Map, MapErr};
use crate::map_result::{AndThen, MapResult, OrElse};
use crate::service::ExecutorService;
use crate::{Error, ErrorOf, Handle, OutputOf, SubmitExecutor};

/// Wraps an executor in a layer with a method call: `exec.with_map(f).with_concurrency_limit(4)?`.
///
/// Each call wraps everything before it, so the *last* call is the *outermost* layer
/// (the reverse of [`ExecutorBuilder`](crate::ExecutorBuilder)'s reading order, and the
/// same as the original library's chains).
///
/// ```
/// use more_executors_core::prelude::*;
///
/// # fn main() -> Result<(), ConfigError> {
/// let exec = BlockingPool::new(2)?
///     .with_concurrency_limit(1)?
///     .with_map(|s: String| s.to_uppercase());
/// assert_eq!(exec.submit(|| Ok::<_, ()>("hi".to_string())).wait(), Ok("HI".to_string()));
/// # Ok(()) }
/// ```
pub trait ExecutorExt: crate::Lifecycle + Sized {
    /// Wraps `self` in any layer.
    fn with_layer<L: Layer<Self>>(self, layer: L) -> L::Service {
        layer.layer(self)
    }

    /// Wraps `self` in a [`Map`].
    fn with_map<M>(self, f: M) -> Map<Self, M> {
        Map::new(self, f)
    }

    /// Wraps `self` in a [`MapErr`].
    fn with_map_err<M>(self, f: M) -> MapErr<Self, M> {
        MapErr::new(self, f)
    }

    /// Wraps `self` in a [`FlatMap`].
    fn with_flat_map<M, T, G>(self, f: M) -> FlatMap<Self, M, T>
    where
        M: Fn(T) -> G,
    {
        FlatMap::new(self, f)
    }

    /// Wraps `self` in a [`ConcurrencyLimit`] of `limit`.
    ///
    /// # Errors
    /// [`ConfigError`] when `limit` is 0.
    fn with_concurrency_limit(self, limit: usize) -> Result<ConcurrencyLimit<Self>, ConfigError> {
        ConcurrencyLimit::new(self, limit)
    }

    /// Wraps `self` in a [`ConcurrencyLimit`] whose limit is `f()`.
    ///
    /// # Errors
    /// [`ConfigError`] when `f` panics when first read, here.
    fn with_dynamic_concurrency_limit(
        self,
        f: impl Fn() -> usize + Send + Sync + 'static,
    ) -> Result<ConcurrencyLimit<Self>, ConfigError> {
        ConcurrencyLimit::dynamic(self, f)
    }

    /// Wraps `self` in a [`CancelOnShutdown`].
    fn with_cancel_on_shutdown(self) -> CancelOnShutdown<Self> {
        CancelOnShutdown::new(self)
    }

    /// Uses `self` as a `tower::Service` ([`ExecutorService`]): `poll_ready` reserves a slot
    /// of the stack's concurrency limit, `call` submits, and dropping the response future
    /// cancels the job.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main] async fn main() {
    /// let svc = AsyncExecutor::new().with_concurrency_limit(4).unwrap().into_service();
    /// assert_eq!(svc.oneshot(|| async { Ok::<_, ()>(1) }).await, Ok(1));
    /// # }
    /// ```
    fn into_service<J>(self) -> ExecutorService<Self, J> {
        ExecutorService::new(self)
    }

    /// Erases the stack's type ([`BoxExecutor`]): one allocation per job, and a type that
    /// can be named.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::boxed::BoxExecutor;
    ///
    /// let exec: BoxExecutor<fn() -> Result<u32, ()>, String, ()> =
    ///     InlineExecutor::new().with_map(|n: u32| n.to_string()).boxed();
    /// assert_eq!(exec.submit(|| Ok(7)).wait(), Ok("7".to_string()));
    /// ```
    fn boxed<J>(self) -> BoxExecutor<J, crate::OutputOf<Self, J>, crate::ErrorOf<Self, J>>
    where
        Self: crate::SubmitExecutor<J> + 'static,
    {
        BoxExecutor::new(self)
    }

    /// Erases the stack's type, keeping it `Clone` ([`BoxCloneExecutor`]).
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::boxed::BoxCloneExecutor;
    ///
    /// let exec: BoxCloneExecutor<fn() -> Result<u32, ()>, u32, ()> =
    ///     InlineExecutor::new().with_map(|n: u32| n * 3).boxed_clone();
    /// assert_eq!(exec.clone().submit(|| Ok(2)).wait(), Ok(6));
    /// ```
    fn boxed_clone<J>(self) -> BoxCloneExecutor<J, crate::OutputOf<Self, J>, crate::ErrorOf<Self, J>>
    where
        Self: crate::SubmitExecutor<J> + 'static,
    {
        BoxCloneExecutor::new(self)
    }

    // Fallible transforms and bound submission.

    /// Wraps `self` in an [`AndThen`]: a transform of each output that may fail.
    fn with_and_then<M>(self, f: M) -> AndThen<Self, M> {
        AndThen::new(self, f)
    }

    /// Wraps `self` in an [`OrElse`]: recovery from failures.
    fn with_or_else<M>(self, f: M) -> OrElse<Self, M> {
        OrElse::new(self, f)
    }

    /// Wraps `self` in a [`MapResult`]: a transform of the whole outcome.
    fn with_map_result<M>(self, f: M) -> MapResult<Self, M> {
        MapResult::new(self, f)
    }

    /// A callable that submits a job on each call (the original's `bind`): `f` turns the
    /// call's arguments into the job, and the callable returns the job's [`Handle`].
    ///
    /// In Rust a job already is a closure capturing its inputs, so `f` maps arguments to
    /// that closure (`|url| move || async move { .. }`). The job type stays static: a stack
    /// that re-runs jobs (retry) works when the job `f` builds is `Clone`.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let exec = AsyncExecutor::new();
    /// let square = exec.bind(|n: u64| move || async move { Ok::<_, ()>(n * n) });
    /// let (a, b) = (square(3), square(4));
    /// assert_eq!((a.await, b.await), (Ok(9), Ok(16)));
    /// # }
    /// ```
    fn bind<A, J, F>(self, f: F) -> impl Fn(A) -> Handle<OutputOf<Self, J>, ErrorOf<Self, J>> + Send + Sync
    where
        Self: SubmitExecutor<J>,
        F: Fn(A) -> J + Send + Sync,
    {
        move |args| self.submit(f(args))
    }

    /// A callable like [`bind`](Self::bind) for jobs whose output is itself a future or a
    /// [`Handle`] (the original's `flat_bind`): the returned handle resolves to the inner
    /// result, and a cancel goes to the job, then to the inner handle.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let lookups = AsyncExecutor::new();
    /// let exec = AsyncExecutor::new();
    /// let fetch = exec.flat_bind(move |id: u32| {
    ///     let lookups = lookups.clone();
    ///     move || async move {
    ///         // The job decides which follow-up to run and hands back its handle.
    ///         Ok::<_, String>(lookups.submit(move || async move { Ok::<_, String>(format!("user-{id}")) }))
    ///     }
    /// });
    /// assert_eq!(fetch(7).await, Ok("user-7".to_string()));
    /// # }
    /// ```
    fn flat_bind<A, J, F, U, E2>(self, f: F) -> impl Fn(A) -> Handle<U, ErrorOf<Self, J>> + Send + Sync
    where
        Self: SubmitExecutor<J>,
        F: Fn(A) -> J + Send + Sync,
        OutputOf<Self, J>: std::future::IntoFuture<Output = Result<U, E2>>,
        <OutputOf<Self, J> as std::future::IntoFuture>::IntoFuture: Send + 'static,
        U: Send + 'static,
        E2: Into<Error<ErrorOf<Self, J>>> + 'static,
    {
        move |args| self.submit(f(args)).then(|inner| inner)
    }
}

impl<T: crate::Lifecycle> ExecutorExt for T {}
