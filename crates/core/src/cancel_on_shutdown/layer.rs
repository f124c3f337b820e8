use tower_layer::Layer;

use super::CancelOnShutdown;

/// Layer producing [`CancelOnShutdown`].
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::cancel_on_shutdown::CancelOnShutdownLayer;
///
/// let exec = tower::ServiceBuilder::new()
///     .layer(CancelOnShutdownLayer::new())
///     .service(InlineExecutor::new());
/// assert_eq!(exec.pending(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelOnShutdownLayer {
    _priv: (),
}

impl CancelOnShutdownLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for CancelOnShutdownLayer {
    type Service = CancelOnShutdown<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CancelOnShutdown::new(inner)
    }
}
