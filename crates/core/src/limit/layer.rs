use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::{ConcurrencyLimit, DynamicLimit};
use crate::config::{ConfigError, nonzero};

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
}

#[derive(Clone)]
enum LimitKind {
    Fixed(usize),
    Dynamic(DynamicLimit),
}

impl fmt::Debug for ConcurrencyLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.limit {
            LimitKind::Fixed(n) => f.debug_struct("ConcurrencyLimitLayer").field("limit", n).finish(),
            LimitKind::Dynamic(_) => {
                f.debug_struct("ConcurrencyLimitLayer").field("limit", &"dynamic").finish()
            }
        }
    }
}

impl ConcurrencyLimitLayer {
    /// A fixed limit.
    ///
    /// # Errors
    /// [`ConfigError`] when `limit` is 0.
    pub fn new(limit: usize) -> Result<Self, ConfigError> {
        Ok(ConcurrencyLimitLayer { limit: LimitKind::Fixed(nonzero("concurrency limit", limit)?) })
    }

    /// A limit decided by `f` whenever a slot is decided.
    pub fn dynamic(f: impl Fn() -> usize + Send + Sync + 'static) -> Self {
        ConcurrencyLimitLayer { limit: LimitKind::Dynamic(Arc::new(f)) }
    }
}

impl<S: crate::Lifecycle> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;
    fn layer(&self, inner: S) -> Self::Service {
        match &self.limit {
            LimitKind::Fixed(n) => ConcurrencyLimit::new(inner, *n).expect("validated at construction"),
            LimitKind::Dynamic(f) => {
                let f = f.clone();
                ConcurrencyLimit::dynamic(inner, move || f())
            }
        }
    }
}
