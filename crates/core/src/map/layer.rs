use std::fmt;

use tower_layer::Layer;

use super::{Map, MapErr};

/// Layer producing [`Map`]: transforms each successful output with `f`.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::map::MapLayer;
///
/// let exec = tower::ServiceBuilder::new()
///     .layer(MapLayer::new(|n: i32| n * 2))
///     .service(InlineExecutor::new());
/// assert_eq!(exec.submit(|| Ok::<_, ()>(21)).wait(), Ok(42));
/// ```
#[derive(Clone)]
pub struct MapLayer<M> {
    f: M,
}

impl<M> MapLayer<M> {
    /// A layer applying `f` to every successful output.
    pub fn new(f: M) -> Self {
        MapLayer { f }
    }
}

impl<M> fmt::Debug for MapLayer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MapLayer")
    }
}

impl<S, M: Clone> Layer<S> for MapLayer<M> {
    type Service = Map<S, M>;
    fn layer(&self, inner: S) -> Self::Service {
        Map::new(inner, self.f.clone())
    }
}

/// Layer producing [`MapErr`]: transforms each job error with `f`.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::map::MapErrLayer;
///
/// let exec = tower::ServiceBuilder::new()
///     .layer(MapErrLayer::new(|e: &str| e.len()))
///     .service(InlineExecutor::new());
/// assert_eq!(exec.submit(|| Err::<(), _>("bad")).wait().unwrap_err().into_job_error(), Some(3));
/// ```
#[derive(Clone)]
pub struct MapErrLayer<M> {
    f: M,
}

impl<M> MapErrLayer<M> {
    /// A layer applying `f` to every job error.
    pub fn new(f: M) -> Self {
        MapErrLayer { f }
    }
}

impl<M> fmt::Debug for MapErrLayer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MapErrLayer")
    }
}

impl<S, M: Clone> Layer<S> for MapErrLayer<M> {
    type Service = MapErr<S, M>;
    fn layer(&self, inner: S) -> Self::Service {
        MapErr::new(inner, self.f.clone())
    }
}
