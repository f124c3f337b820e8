//! The synchronisation primitives of the per-job state machine ([`Control`]): the
//! standard library's, or [loom]'s when the crate is built with `--cfg loom`, so the model
//! checker can explore every interleaving of finish, cancel and gate changes.
//!
//! `Arc` stays the standard one in both builds: reference counting is not part of the
//! protocol being checked, and `Arc<dyn CancelHook>` needs the unsized coercion that loom's
//! `Arc` does not offer.
//!
//! Run the models with `RUSTFLAGS="--cfg loom" cargo test --release -p more-executors-core --lib loom`.
//!
//! [`Control`]: crate::handle::control
//! [loom]: https://docs.rs/loom

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
