//! Layers converting between executors and services inside a `tower::ServiceBuilder`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tower_layer::Layer;

use super::{ExecutorService, ServiceExecutor, ServiceExecutorBuilder};
use crate::executor::Lifecycle;
use crate::runtime::Runtime;

/// Layer turning the tower service below it into a [`ServiceExecutor`], so this project's
/// layers can be listed above tower middleware in one `ServiceBuilder`.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_core::limit::ConcurrencyLimitLayer;
/// use more_executors_core::service::ServiceExecutorLayer;
///
/// # #[tokio::main] async fn main() {
/// let exec = tower::ServiceBuilder::new()
///     .layer(ConcurrencyLimitLayer::new(8).unwrap()) // this project's layer ...
///     .layer(ServiceExecutorLayer::new())
///     .timeout(Duration::from_secs(1))               // ... over tower's timeout
///     .service(tower::service_fn(|n: u32| async move { Ok::<_, tower::BoxError>(n + 1) }));
/// assert_eq!(exec.submit(1).await.unwrap(), 2);
/// # }
/// ```
#[derive(Clone)]
pub struct ServiceExecutorLayer {
    /// The settings of the executors it builds, on a builder that has no service yet.
    settings: ServiceExecutorBuilder<()>,
}

impl Default for ServiceExecutorLayer {
    fn default() -> Self {
        ServiceExecutorLayer { settings: ServiceExecutor::builder(()) }
    }
}

impl fmt::Debug for ServiceExecutorLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceExecutorLayer").field("name", &self.settings.name).finish_non_exhaustive()
    }
}

impl ServiceExecutorLayer {
    /// Executors named `"default"` on the current runtime (or an owned one).
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the executors this layer builds ([`ServiceExecutorBuilder::name`]).
    pub fn name(self, name: impl Into<Arc<str>>) -> Self {
        ServiceExecutorLayer { settings: self.settings.name(name) }
    }

    /// Runs the executors this layer builds on `runtime` ([`ServiceExecutorBuilder::runtime`]).
    pub fn runtime(self, runtime: Runtime) -> Self {
        ServiceExecutorLayer { settings: self.settings.runtime(runtime) }
    }
}

impl<S> Layer<S> for ServiceExecutorLayer {
    type Service = ServiceExecutor<S>;

    fn layer(&self, service: S) -> Self::Service {
        self.settings.with_service(service).build()
    }
}

/// Layer turning the executor below it into an [`ExecutorService`], so tower middleware
/// can be listed above this project's layers in one `ServiceBuilder`.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_core::limit::ConcurrencyLimitLayer;
/// use more_executors_core::service::ExecutorServiceLayer;
/// use tower::ServiceExt;
///
/// # #[tokio::main] async fn main() {
/// let svc = tower::ServiceBuilder::new()
///     .timeout(Duration::from_secs(1))               // tower's timeout ...
///     .layer(ExecutorServiceLayer::new())
///     .layer(ConcurrencyLimitLayer::new(8).unwrap()) // ... over this project's layers
///     .service(AsyncExecutor::new());
/// assert_eq!(svc.oneshot(|| async { Ok::<_, std::io::Error>(3) }).await.unwrap(), 3);
/// # }
/// ```
pub struct ExecutorServiceLayer<J> {
    _job: PhantomData<fn(J)>,
}

impl<J> ExecutorServiceLayer<J> {
    /// The layer, for jobs of type `J` (usually inferred).
    pub fn new() -> Self {
        ExecutorServiceLayer { _job: PhantomData }
    }
}

impl<J> Default for ExecutorServiceLayer<J> {
    fn default() -> Self {
        Self::new()
    }
}

impl<J> Clone for ExecutorServiceLayer<J> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<J> fmt::Debug for ExecutorServiceLayer<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExecutorServiceLayer")
    }
}

impl<X: Lifecycle, J> Layer<X> for ExecutorServiceLayer<J> {
    type Service = ExecutorService<X, J>;

    fn layer(&self, exec: X) -> Self::Service {
        ExecutorService::new(exec)
    }
}
