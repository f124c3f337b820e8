//! Base executors: where jobs actually run.

mod async_executor;
mod blocking;
mod inline;

pub use async_executor::{AsyncExecutor, AsyncExecutorBuilder, AsyncJobFuture};
pub use blocking::{BlockingFuture, BlockingPool, BlockingPoolBuilder};
pub use inline::{InlineExecutor, InlineFuture};

use std::sync::Arc;

pub(crate) const DEFAULT_NAME: &str = "default";

pub(crate) fn default_name() -> Arc<str> {
    Arc::from(DEFAULT_NAME)
}
