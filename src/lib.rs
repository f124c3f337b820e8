#![doc = include_str!("../README.md")]
//!
//! # This crate
//!
//! The facade re-exports [`more_executors_core`] at its root and each optional crate as a
//! module: [`poll`], [`retry`], [`timeout`], [`jobs`] (cargo features of the same names,
//! all on by default), and `redis` (feature `redis`, off by default: jobs on Redis streams
//! run by worker processes on many machines). The [`prelude`] brings the traits that add methods (`submit`,
//! `shutdown`, the `with_*` chain and the builder methods of every enabled crate).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use more_executors_core::*;

/// Everything most programs need: `use more_executors::prelude::*;`.
///
/// The core prelude plus the extension traits of every enabled crate, so the builder
/// methods (`.poll(..)`, `.retry(..)`, `.timeout(..)`) and the `with_*` chain are in scope,
/// and the main types of each crate.
pub mod prelude {
    pub use more_executors_core::prelude::*;

    #[cfg(feature = "jobs")]
    pub use more_executors_jobs::{Job, Scheduler, WorkerPool};
    #[cfg(feature = "poll")]
    pub use more_executors_poll::{PollBuilderExt, PollDescriptor, PollExt, PollLayer, Poller};
    #[cfg(feature = "redis")]
    pub use more_executors_redis::{RedisExecutor, RedisWorker, RemoteJob};
    #[cfg(feature = "retry")]
    pub use more_executors_retry::{ExponentialBackoff, RetryBuilderExt, RetryExt, RetryPolicy};
    #[cfg(feature = "timeout")]
    pub use more_executors_timeout::{TimeoutBuilderExt, TimeoutExt};
}
#[cfg(feature = "jobs")]
pub use more_executors_jobs as jobs;
#[cfg(feature = "poll")]
pub use more_executors_poll as poll;
#[cfg(feature = "redis")]
pub use more_executors_redis as redis;
#[cfg(feature = "retry")]
pub use more_executors_retry as retry;
#[cfg(feature = "timeout")]
pub use more_executors_timeout as timeout;

/// The user guide (`docs/*.md`), compiled as doctests so that its examples cannot drift
/// from the code: `cargo test --all-features --doc` builds every `rust` block of every page.
#[cfg(doctest)]
pub mod guide {
    #[doc = include_str!("../docs/README.md")]
    pub mod readme {}
    #[doc = include_str!("../docs/building-a-layer.md")]
    pub mod building_a_layer {}
    #[doc = include_str!("../docs/concepts.md")]
    pub mod concepts {}
    #[doc = include_str!("../docs/core.md")]
    pub mod core {}
    #[doc = include_str!("../docs/guarantees.md")]
    pub mod guarantees {}
    #[doc = include_str!("../docs/jobs.md")]
    pub mod jobs {}
    #[doc = include_str!("../docs/observability.md")]
    pub mod observability {}
    #[doc = include_str!("../docs/performance.md")]
    pub mod performance {}
    #[doc = include_str!("../docs/poll.md")]
    pub mod poll {}
    #[cfg(feature = "redis")]
    #[doc = include_str!("../docs/redis.md")]
    pub mod redis {}
    #[doc = include_str!("../docs/retry.md")]
    pub mod retry {}
    #[doc = include_str!("../docs/timeout.md")]
    pub mod timeout {}
}
