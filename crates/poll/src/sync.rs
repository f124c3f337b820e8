//! The synchronisation primitives of the poll set and its nodes: the standard library's,
//! or [loom]'s when the crate is built with `--cfg loom`, so the model checker can explore
//! every interleaving of a poll delivering a result, a cancel and the stage future's drop.
//!
//! `Arc` stays the standard one in both builds: reference counting is not part of the
//! protocol being checked, and the set hands `Arc<dyn CancelHook>` to the core crate, which
//! needs the unsized coercion that loom's `Arc` does not offer.
//!
//! Run the models with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p more-executors-poll --lib --target-dir target/loom loom`.
//!
//! [loom]: https://docs.rs/loom

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
