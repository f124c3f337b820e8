use std::fmt;
use std::marker::PhantomData;

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
pub struct FlatMapLayer<M, T> {
    f: M,
    _input: PhantomData<fn(T)>,
}

impl<M, T> FlatMapLayer<M, T> {
    /// A layer chaining `f` after every successful output.
    pub fn new<G>(f: M) -> Self
    where
        M: Fn(T) -> G,
    {
        FlatMapLayer { f, _input: PhantomData }
    }
}

impl<M: Clone, T> Clone for FlatMapLayer<M, T> {
    fn clone(&self) -> Self {
        FlatMapLayer { f: self.f.clone(), _input: PhantomData }
    }
}

impl<M, T> fmt::Debug for FlatMapLayer<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlatMapLayer")
    }
}

impl<S, M: Clone, T> Layer<S> for FlatMapLayer<M, T> {
    type Service = FlatMap<S, M, T>;
    fn layer(&self, inner: S) -> Self::Service {
        FlatMap::wrap(inner, self.f.clone())
    }
}
