//! The timeout layer of more-executors: a deadline for every job.
//!
//! [`Timeout`] wraps any executor; [`timeout`](fn@timeout) gives a deadline to a handle you
//! already have; [`timeout_after`] gives one to any future, with no executor (the argument
//! order of `tokio::time::timeout`).
//!
//! # Semantics
//! - **Deadline.** A job's handle resolves to [`Error::TimedOut`] (carrying the timeout)
//!   if the job is not done within the timeout, measured from its **submission**: from the
//!   moment the layer builds the job's stage future. Time the job spends queued in a
//!   concurrency limit inside the timeout counts; put the timeout inside the limit to time
//!   only the running job.
//! - **Expiry** drops the inner stage future, which cancels the job as far as the inner
//!   stage allows: an async job stops at its next `.await`, a queued job never starts. A
//!   blocking job already running on a thread cannot be stopped: it runs to the end, its
//!   result is discarded, and the handle still reports timed out.
//! - **Timers.** The inner stage is polled before the timer, and the timer is only created
//!   when the job is found pending, so a job that finishes at once never touches the timer
//!   wheel; each job has at most one timer, inside its stage future (no task).
//! - **Per job.** [`TimeoutLayer::per_job`] computes the timeout from each job;
//!   [`Timeout::submit_with_timeout`] (or [`TimeoutExt::submit_with_timeout`] on any executor)
//!   gives one submission its own.
//! - **Cancel and shutdown** pass straight to the inner stage; the timeout adds no rule.
//! - **Bad values.** A zero, negative or NaN timeout is rejected when the layer is built
//!   ([`ConfigError`](more_executors_core::ConfigError)); a per-job or per-submission zero
//!   gives the job no time (it times out unless finished at its first poll).
//!
//! # Order matters
//! With a retry layer, a timeout *inside* the retry gives each attempt its own deadline,
//! and a timed-out attempt is retried (the default retry policy retries timeouts); a
//! timeout *outside* the retry is one deadline for the whole job, delays included.
//!
//! ```
//! use std::time::Duration;
//! use more_executors_core::prelude::*;
//! use more_executors_timeout::TimeoutBuilderExt;
//!
//! # fn main() -> Result<(), ConfigError> {
//! let exec = ExecutorBuilder::new()
//!     .timeout(Duration::from_millis(50))?
//!     .build(BlockingPool::new(1)?);
//! let slow = exec.submit(|| { std::thread::sleep(Duration::from_millis(500)); Ok::<_, ()>("late") });
//! assert!(slow.wait().unwrap_err().is_timed_out(), "reported at the deadline, not after 500 ms");
//! # Ok(()) }
//! ```
//!
//! # Tracing and metrics
//! A timed-out job emits a `debug` event "job timed out" inside its span. With the
//! `metrics` feature, `more_executors_timeout_total` counts timed-out jobs, labelled
//! `executor`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod combinator;
mod ext;
mod oneshot;
mod timeout;

pub use combinator::timeout;
pub use ext::{TimeoutBuilderExt, TimeoutExt};
pub use oneshot::timeout_after;
pub use timeout::{JobTimeout, PerJob, Timeout, TimeoutFuture, TimeoutLayer};

#[doc(no_inline)]
pub use more_executors_core::Error;
