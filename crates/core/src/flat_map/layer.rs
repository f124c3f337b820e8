use std::fmt;

use tower_layer::Layer;

use super::FlatMap;

/// Layer producing [`FlatMap`].
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::flat_map::FlatMapLayer;
///
/// let exec = tower::ServiceBuilder::new()
///     .layer(FlatMapLayer::new(|n: u8| async move { Ok::<_, ()>(n + 1) }))
///     .service(InlineExecutor::new());
/// assert_eq!(exec.submit(|| Ok::<_, ()>(1)).wait(), Ok(2));
/// ```
#[derive(Clone)]
pub struct FlatMapLayer<M> {
    f: M,
}

impl<M> FlatMapLayer<M> {
    /// A layer chaining `f` after every successful output.
    pub fn new(f: M) -> Self {
        FlatMapLayer { f }
    }
}

impl<M> fmt::Debug for FlatMapLayer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlatMapLayer")
    }
}

impl<S, M: Clone> Layer<S> for FlatMapLayer<M> {
    type Service = FlatMap<S, M>;
    fn layer(&self, inner: S) -> Self::Service {
        FlatMap::new(inner, self.f.clone())
    }
}
