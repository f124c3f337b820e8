//! [`ExecutorBuilder`]: configure a stack of layers with named methods.

use std::fmt;

use tower_layer::{Identity, Layer, Stack};

use crate::cancel_on_shutdown::CancelOnShutdownLayer;
use crate::config::ConfigError;
use crate::flat_map::FlatMapLayer;
use crate::limit::ConcurrencyLimitLayer;
use crate::map::{MapErrLayer, MapLayer};
use crate::map_result::{AndThenLayer, MapResultLayer, OrElseLayer};

/// Builds a stack of layers around an executor, like `tower::ServiceBuilder`.
///
/// Layers are listed outermost first: the first method called wraps everything added
/// after it. Methods whose settings can be invalid return `Result` and reject the setting
/// at once with a [`ConfigError`]. Sub-crates add their own methods through extension
/// traits (`.retry(..)`, `.timeout(..)`, `.poll(..)`); any `tower_layer::Layer` fits
/// through [`layer`](Self::layer).
///
/// ```
/// use more_executors_core::prelude::*;
///
/// # fn main() -> Result<(), ConfigError> {
/// let exec = ExecutorBuilder::new()
///     .map(|n: u64| n * 10)      // outermost: sees the final output
///     .concurrency_limit(8)?     // then at most 8 in flight in the pool
///     .build(BlockingPool::new(2)?);
/// assert_eq!(exec.submit(|| Ok::<_, ()>(4)).wait(), Ok(40));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ExecutorBuilder<L> {
    layer: L,
}

impl<L> fmt::Debug for ExecutorBuilder<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExecutorBuilder")
    }
}

impl Default for ExecutorBuilder<Identity> {
    fn default() -> Self {
        Self::new()
    }
}

impl ExecutorBuilder<Identity> {
    /// An empty stack.
    pub fn new() -> Self {
        ExecutorBuilder { layer: Identity::new() }
    }
}

impl<L> ExecutorBuilder<L> {
    /// Adds any layer, inside the ones added so far.
    pub fn layer<T>(self, layer: T) -> ExecutorBuilder<Stack<T, L>> {
        ExecutorBuilder { layer: Stack::new(layer, self.layer) }
    }

    /// Adds a [`Map`](crate::map::Map) layer.
    pub fn map<M>(self, f: M) -> ExecutorBuilder<Stack<MapLayer<M>, L>> {
        self.layer(MapLayer::new(f))
    }

    /// Adds a [`MapErr`](crate::map::MapErr) layer.
    pub fn map_err<M>(self, f: M) -> ExecutorBuilder<Stack<MapErrLayer<M>, L>> {
        self.layer(MapErrLayer::new(f))
    }

    /// Adds an [`AndThen`](crate::map_result::AndThen) layer (a transform that may fail).
    pub fn and_then<M>(self, f: M) -> ExecutorBuilder<Stack<AndThenLayer<M>, L>> {
        self.layer(AndThenLayer::new(f))
    }

    /// Adds an [`OrElse`](crate::map_result::OrElse) layer (recovery from failures).
    pub fn or_else<M>(self, f: M) -> ExecutorBuilder<Stack<OrElseLayer<M>, L>> {
        self.layer(OrElseLayer::new(f))
    }

    /// Adds a [`MapResult`](crate::map_result::MapResult) layer (the whole outcome).
    pub fn map_result<M>(self, f: M) -> ExecutorBuilder<Stack<MapResultLayer<M>, L>> {
        self.layer(MapResultLayer::new(f))
    }

    /// Adds a [`FlatMap`](crate::flat_map::FlatMap) layer.
    pub fn flat_map<M, T, G>(self, f: M) -> ExecutorBuilder<Stack<FlatMapLayer<M, T>, L>>
    where
        M: Fn(T) -> G,
    {
        self.layer(FlatMapLayer::new(f))
    }

    /// Adds a [`ConcurrencyLimit`](crate::limit::ConcurrencyLimit) of `limit`.
    ///
    /// # Errors
    /// [`ConfigError`] when `limit` is 0.
    pub fn concurrency_limit(
        self,
        limit: usize,
    ) -> Result<ExecutorBuilder<Stack<ConcurrencyLimitLayer, L>>, ConfigError> {
        Ok(self.layer(ConcurrencyLimitLayer::new(limit)?))
    }

    /// Adds a [`ConcurrencyLimit`](crate::limit::ConcurrencyLimit) whose limit is `f()`.
    ///
    /// # Errors
    /// [`ConfigError`] when `f` panics when first read, here.
    pub fn dynamic_concurrency_limit(
        self,
        f: impl Fn() -> usize + Send + Sync + 'static,
    ) -> Result<ExecutorBuilder<Stack<ConcurrencyLimitLayer, L>>, ConfigError> {
        Ok(self.layer(ConcurrencyLimitLayer::dynamic(f)?))
    }

    /// Adds a [`CancelOnShutdown`](crate::cancel_on_shutdown::CancelOnShutdown) layer.
    pub fn cancel_on_shutdown(self) -> ExecutorBuilder<Stack<CancelOnShutdownLayer, L>> {
        self.layer(CancelOnShutdownLayer::new())
    }

    /// Wraps `inner` in the configured layers.
    pub fn build<S>(&self, inner: S) -> L::Service
    where
        L: Layer<S>,
    {
        self.layer.layer(inner)
    }

    /// The configured stack as one layer (for use with `tower::ServiceBuilder`).
    pub fn into_inner(self) -> L {
        self.layer
    }
}
