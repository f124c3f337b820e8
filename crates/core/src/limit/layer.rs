use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::{ConcurrencyLimit, DynamicLimit, fixed_limit, read_initial};
use crate::config::ConfigError;

/// Layer producing [`ConcurrencyLimit`].
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::limit::ConcurrencyLimitLayer;
///
/// assert!(ConcurrencyLimitLayer::new(0).is_err(), "a limit of 0 is rejected");
/// let exec = tower::ServiceBuilder::new()
///     .layer(ConcurrencyLimitLayer::new(4).unwrap())
///     .service(InlineExecutor::new());
/// assert_eq!(exec.limit(), 4);
/// ```
#[derive(Clone)]
pub struct ConcurrencyLimitLayer {
    limit: LimitKind,
    name: Option<Arc<str>>,
}

#[derive(Clone)]
enum LimitKind {
    Fixed(usize),
    Dynamic(DynamicLimit, usize),
}

impl fmt::Debug for ConcurrencyLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.limit {
            LimitKind::Fixed(n) => {
                f.debug_struct("ConcurrencyLimitLayer").field("limit", n).field("name", &self.name).finish()
            }
            LimitKind::Dynamic(..) => f
                .debug_struct("ConcurrencyLimitLayer")
                .field("limit", &"dynamic")
                .field("name", &self.name)
                .finish(),
        }
    }
}

impl ConcurrencyLimitLayer {
    /// A fixed limit.
    ///
    /// # Errors
    /// [`ConfigError`] when `limit` is 0 or above [`MAX_LIMIT`](super::MAX_LIMIT).
    pub fn new(limit: usize) -> Result<Self, ConfigError> {
        Ok(ConcurrencyLimitLayer { limit: LimitKind::Fixed(fixed_limit(limit)?), name: None })
    }

    /// A limit decided by `f` whenever a slot is decided (see
    /// [`ConcurrencyLimit::dynamic`]).
    ///
    /// # Errors
    /// [`ConfigError`] when `f` panics when first read, here.
    pub fn dynamic(f: impl Fn() -> usize + Send + Sync + 'static) -> Result<Self, ConfigError> {
        let f: DynamicLimit = Arc::new(f);
        let initial = read_initial(&f)?;
        Ok(ConcurrencyLimitLayer { limit: LimitKind::Dynamic(f, initial), name: None })
    }

    /// Names the executors this layer builds (default: the inner executor's name). The name
    /// labels their tracing events and the `more_executors_throttle_queue` metric.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::limit::ConcurrencyLimitLayer;
    ///
    /// let exec = tower::Layer::layer(&ConcurrencyLimitLayer::new(2).unwrap().name("uploads"), InlineExecutor::new());
    /// assert_eq!(exec.name(), "uploads");
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl<S: crate::Lifecycle> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;
    fn layer(&self, inner: S) -> Self::Service {
        match &self.limit {
            LimitKind::Fixed(n) => ConcurrencyLimit::fixed(inner, *n, self.name.clone()),
            // A function that panics now keeps the value read when the layer was built.
            LimitKind::Dynamic(f, initial) => {
                let now = read_initial(f).unwrap_or(*initial);
                ConcurrencyLimit::dynamic_from(inner, f.clone(), now, self.name.clone())
            }
        }
    }
}
