//! [`ServiceExecutor`]: a `tower::Service` as a base executor.

use std::fmt;
use std::sync::{Arc, Mutex};

use tower_service::Service;

use super::future::ServiceJobFuture;
use crate::base::BaseInner;
use crate::error::catch_panic;
use crate::executor::{Executor, Lifecycle};
use crate::handle::JobContext;
use crate::runtime::Runtime;

/// A base executor whose jobs are the requests of a `tower::Service`.
///
/// # Semantics
/// - **A job is a request.** `submit(req)` clones the service (tower's usual
///   clone-then-call pattern, as `ServiceExt::oneshot` does), waits until the clone's
///   `poll_ready` is ready (the service's back pressure is respected: the job waits, the
///   submitter does not), then calls it and awaits the response, inside the job's one
///   driver task.
/// - **Errors.** An error from `poll_ready` or from the response is the job's own error,
///   [`Error::Job`](crate::Error::Job) with the service's error type; a panic in the
///   service resolves the handle to [`Error::Panicked`](crate::Error::Panicked).
/// - **Cancel** always succeeds while the job runs: the response future (or the wait for
///   readiness) is dropped, which is how a tower service is cancelled.
/// - **Layers.** Every layer stacks on it. The retry layer re-sends a clone of the
///   request for each attempt, so with retry the request type must be `Clone`; a timeout
///   drops the response future at the deadline.
/// - **Bounds.** `S: Service<Req> + Clone + Send + 'static` with `Send` futures, responses
///   and errors. The service need not be `Sync`: the executor keeps it behind a lock that is
///   held only to clone it.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_core::service::ServiceExecutor;
///
/// # #[tokio::main] async fn main() {
/// let double = ServiceExecutor::builder(tower::service_fn(|n: u32| async move {
///     if n > 100 { Err("too big") } else { Ok(n * 2) }
/// }))
/// .name("doubler")
/// .build();
/// assert_eq!(double.name(), "doubler");
/// assert_eq!(double.submit(21).await, Ok(42));
/// assert_eq!(double.submit(500).await, Err(Error::Job("too big")));
/// # }
/// ```
pub struct ServiceExecutor<S> {
    service: Arc<Mutex<S>>,
    base: Arc<BaseInner>,
}

impl<S> Clone for ServiceExecutor<S> {
    fn clone(&self) -> Self {
        ServiceExecutor { service: self.service.clone(), base: self.base.clone() }
    }
}

impl<S> fmt::Debug for ServiceExecutor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceExecutor").field("name", &self.base.name).finish_non_exhaustive()
    }
}

impl<S> ServiceExecutor<S> {
    /// An executor named `"default"` calling `service`, on the current runtime (or an
    /// owned background runtime when there is none).
    pub fn new(service: S) -> Self {
        Self::builder(service).build()
    }

    /// Configures name and runtime.
    pub fn builder(service: S) -> ServiceExecutorBuilder<S> {
        ServiceExecutorBuilder { service, name: None, runtime: None }
    }

    fn clone_service(&self) -> S
    where
        S: Clone,
    {
        // The lock is held only to clone; a panic while cloning leaves nothing half done.
        let guard = self.service.lock().unwrap_or_else(|p| p.into_inner());
        guard.clone()
    }
}

/// Builds a [`ServiceExecutor`].
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::service::ServiceExecutor;
///
/// let exec = ServiceExecutor::builder(tower::service_fn(|n: u8| async move { Ok::<_, ()>(n) }))
///     .name("api")
///     .runtime(Runtime::current_or_owned())
///     .build();
/// assert_eq!(exec.kind(), "service");
/// assert_eq!(exec.submit(7).wait(), Ok(7));
/// ```
#[derive(Clone)]
pub struct ServiceExecutorBuilder<S> {
    service: S,
    pub(super) name: Option<Arc<str>>,
    runtime: Option<Runtime>,
}

impl<S> fmt::Debug for ServiceExecutorBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceExecutorBuilder").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<S> ServiceExecutorBuilder<S> {
    /// Names the executor (default `"default"`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Runs on this runtime (default: [`Runtime::current_or_owned`]).
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The same settings, for `service` (the layer keeps its settings on a builder of `()`).
    pub(super) fn with_service<T>(&self, service: T) -> ServiceExecutorBuilder<T> {
        ServiceExecutorBuilder { service, name: self.name.clone(), runtime: self.runtime.clone() }
    }

    /// Builds the executor.
    pub fn build(self) -> ServiceExecutor<S> {
        let name = self.name.unwrap_or_else(crate::config::default_name);
        let runtime = self.runtime.unwrap_or_else(Runtime::current_or_owned);
        ServiceExecutor {
            service: Arc::new(Mutex::new(self.service)),
            base: BaseInner::new("service", name, runtime),
        }
    }
}

impl<S: Send> Lifecycle for ServiceExecutor<S> {
    crate::base::base_lifecycle!("service");
    fn shutdown(&self) {
        self.base.shutdown();
    }
}

impl<S, Req> Executor<Req> for ServiceExecutor<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Send + 'static,
{
    type Future = ServiceJobFuture<S, Req>;

    fn call(&self, req: Req, _ctx: &JobContext) -> Self::Future {
        match catch_panic(|| self.clone_service()) {
            Ok(service) => ServiceJobFuture::new(service, req),
            Err(e) => ServiceJobFuture::failed(e),
        }
    }
}
