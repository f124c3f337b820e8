//! Composable executors and futures for tokio.
//!
//! An [`Executor`] takes a job and immediately returns a [`Handle`] to its eventual result.
//! Handles are **eager** (the work runs whether or not anyone polls), **cancellable**
//! ([`Handle::cancel`] asks the stage the job is in), **awaitable**, and can be waited on
//! from synchronous code. Every handle resolves exactly once.
//!
//! Layers add behaviour around any executor, statically composed like tower middleware:
//! [`map`], [`map_result`], [`flat_map`], [`limit`] (concurrency limit), [`cancel_on_shutdown`]; the
//! sibling crates add poll, retry and timeout. Stack them with [`ExecutorBuilder`], with
//! `tower::ServiceBuilder`, or with the [`ExecutorExt`] `with_*` chain.
//!
//! [`service`] bridges tower both ways (a `tower::Service` as a base executor, any stack as
//! a `tower::Service`), and [`boxed`] erases a stack's type so it can be named.
//!
//! [`combinators`] work on handles: `zip`, `sequence`, `as_completed`, `wait_first`, ...
//!
//! ```
//! use more_executors_core::prelude::*;
//!
//! # fn main() -> Result<(), ConfigError> {
//! // Works in plain synchronous code: the library runs its own small runtime.
//! let exec = ExecutorBuilder::new()
//!     .map(|body: String| body.len())
//!     .concurrency_limit(2)?
//!     .build(BlockingPool::new(4)?);
//! let handles: Vec<_> = ["a", "bb", "ccc"]
//!     .into_iter()
//!     .map(|s| exec.submit(move || Ok::<_, std::io::Error>(s.repeat(2))))
//!     .collect();
//! let lengths: Vec<usize> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
//! assert_eq!(lengths, [2, 4, 6]);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod base;
pub mod boxed;
mod builder;
pub mod cancel_on_shutdown;
pub mod combinators;
pub mod config;
mod error;
mod executor;
mod ext;
pub mod flat_map;
mod handle;
mod job_task;
pub mod limit;
mod macros;
pub mod map;
pub mod map_result;
pub mod metrics;
mod runtime;
pub mod service;
pub mod stage;
mod sync;

pub use base::{
    AsyncExecutor, AsyncExecutorBuilder, AsyncJobFuture, BlockingFuture, BlockingPool, BlockingPoolBuilder,
    InlineExecutor, InlineExecutorBuilder, InlineFuture,
};
pub use builder::ExecutorBuilder;
pub use config::ConfigError;
pub use error::{Error, JobResultExt};
pub use executor::{ErrorOf, Executor, Lifecycle, OutputOf, SubmitExecutor};
pub use ext::ExecutorExt;
pub use handle::{CancelHandle, Handle, SharedHandle};
pub use runtime::Runtime;

/// The traits and types most programs need: `use more_executors_core::prelude::*;`.
pub mod prelude {
    pub use crate::combinators::{as_completed, sequence, wait_first, zip};
    pub use crate::{
        AsyncExecutor, BlockingPool, ConfigError, Error, Executor, ExecutorBuilder, ExecutorExt, Handle,
        InlineExecutor, JobResultExt, Lifecycle, Runtime, SubmitExecutor,
    };
}
