//! tower both ways: a `tower::Service` as the base executor of a stack
//! ([`ServiceExecutor`]), and any executor as a `tower::Service` ([`ExecutorService`]).
//!
//! An executor is not a `Service` by itself: its [`call`](crate::Executor::call) builds a
//! lazy stage future for the layers above it, and [`submit`](crate::Executor::submit)
//! returns an eager, cancellable [`Handle`](crate::Handle). The two adapters bridge the
//! gap in each direction, so tower's middleware (timeout, rate limit, load shed, buffer)
//! and this project's layers (retry, timeout, poll, concurrency limit, map) compose in one
//! stack.
//!
//! - **[`ServiceExecutor`]**: requests are the jobs. Each job clones the service, waits on
//!   its `poll_ready`, then calls it; the service's error is the job's
//!   [`Error::Job`](crate::Error::Job). Every layer of this project stacks on it; the retry
//!   layer re-sends a clone of the request, so retried requests must be `Clone`.
//! - **[`ExecutorService`]**: `Service<J>` for any executor taking jobs `J`. `poll_ready`
//!   reserves a slot of the stack's outermost concurrency limit, if it has one (so nothing
//!   queues behind `Ready`); `call` submits the job with that slot; the response future
//!   cancels the job when it is dropped unfinished (so tower's `Timeout`, a `select!`, or
//!   a web framework dropping a request's future stop the job).
//! - **Layers** for `tower::ServiceBuilder`: [`ServiceExecutorLayer`] turns the service
//!   below into an executor, [`ExecutorServiceLayer`] turns the executor below into a
//!   service, so one builder can alternate tower middleware and this project's layers.
//!
//! ```
//! use std::time::Duration;
//! use more_executors_core::prelude::*;
//! use more_executors_core::service::ServiceExecutor;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main] async fn main() {
//! // A tower service (a client, in real code) as the base of a stack ...
//! let lengths = ServiceExecutor::new(tower::service_fn(|s: String| async move {
//!     Ok::<_, std::io::Error>(s.len())
//! }))
//! .with_concurrency_limit(4)
//! .unwrap()
//! .with_map(|n: usize| n * 2);
//! assert_eq!(lengths.submit("abc".to_string()).await.unwrap(), 6);
//!
//! // ... and the stack as a tower service, under tower's own middleware.
//! let svc = ServiceBuilder::new().timeout(Duration::from_secs(5)).service(lengths.into_service());
//! assert_eq!(svc.oneshot("four".to_string()).await.unwrap(), 8);
//! # }
//! ```

mod adapter;
mod executor;
mod future;
mod layer;
mod response;

pub use adapter::ExecutorService;
pub use executor::{ServiceExecutor, ServiceExecutorBuilder};
pub use future::ServiceJobFuture;
pub use layer::{ExecutorServiceLayer, ServiceExecutorLayer};
pub use response::ResponseFuture;
