//! [`ExecutorExt`]: the `with_*` chain, for users of the original library.

use tower_layer::Layer;

use crate::boxed::{BoxCloneExecutor, BoxExecutor};
use crate::cancel_on_shutdown::CancelOnShutdown;
use crate::config::ConfigError;
use crate::flat_map::FlatMap;
use crate::limit::ConcurrencyLimit;
use crate::map::{Map, MapErr};
use crate::service::ExecutorService;

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
}

impl<T: crate::Lifecycle> ExecutorExt for T {}
