//! The retry layer of more-executors: run a failed job again, as a policy decides.
//!
//! [`Retry`] wraps any executor. Each attempt is a fresh submission of a clone of the job
//! to the inner executor, so everything inside the retry (a concurrency limit, a timeout,
//! a poll layer) sees each attempt as a job of its own. Between attempts the job waits on a
//! timer inside its own stage future: no thread and no extra task.
//!
//! # Semantics
//! - **Attempts.** After each attempt the [`RetryPolicy`] is asked, with the attempt number
//!   (1 for the first), the time since submission and the attempt's outcome, and answers
//!   done or "retry after this delay". The handle resolves to the outcome of the last
//!   attempt. The default policy, [`ExponentialBackoff`], makes 3 attempts with delays of
//!   1 s and 2 s and retries job errors, panics and timeouts.
//! - **Always final**, whatever the policy: [`Error::Cancelled`] (an attempt cancelled by
//!   someone else ends the retrying handle as cancelled) and [`Error::ShutDown`].
//! - **Cancel.** While a job waits between attempts, cancel succeeds at once and no further
//!   attempt starts. During an attempt, cancel is decided by the inner stage; if the inner
//!   stage refuses (a blocking job already running), the job is not retried any more: the
//!   running attempt's outcome is final.
//! - **Shutdown.** [`Lifecycle::shutdown`] ends every job waiting between attempts with
//!   [`Error::ShutDown`] at once; a running attempt finishes, and if the policy would retry
//!   it, the job ends with [`Error::ShutDown`] too. No attempt starts after shutdown.
//! - **Policy panics** fail the job with [`Error::Panicked`] (no further attempt; a job whose
//!   policy panics in [`RetryPolicy::start`] does not run), and a `tracing` error is logged.
//! - **Budget** (optional, [`RetryBudget`]): retries are capped at a fraction of recent
//!   jobs, across the whole executor; a retry the budget refuses leaves the attempt's
//!   outcome final and logs a warning.
//!
//! # Order matters
//! A concurrency limit *inside* the retry counts attempts: a job waiting between attempts
//! holds no slot, so other jobs run meanwhile. A limit *outside* the retry counts whole
//! jobs: a job keeps its slot through its delays. The same holds for a timeout: inside, each
//! attempt has its own deadline (and a timed-out attempt is retried); outside, one deadline
//! covers every attempt and delay.
//!
//! ```
//! use std::time::Duration;
//! use more_executors_core::prelude::*;
//! use more_executors_retry::{ExponentialBackoff, RetryBuilderExt};
//!
//! # fn main() -> Result<(), ConfigError> {
//! let policy = ExponentialBackoff::builder()
//!     .max_attempts(5)
//!     .sleep(Duration::from_millis(10))
//!     .jitter(0.5)
//!     .build()?;
//! let exec = ExecutorBuilder::new()
//!     .retry(policy)
//!     .concurrency_limit(4)? // at most 4 attempts run at once
//!     .build(BlockingPool::new(4)?);
//! let h = exec.submit(|| std::fs::read_to_string("/definitely/missing"));
//! assert!(h.wait().unwrap_err().is_job(), "5 attempts, then the last error");
//! # Ok(()) }
//! ```
//!
//! # One call, no executor
//! [`retry`](fn@retry) retries one call in place, with the same policies and semantics:
//! `retry(policy, || client.get(url)).await`.
//!
//! # Tracing and metrics
//! Each scheduled retry emits a `debug` event "retry scheduled" with the attempt number,
//! the delay and the error (inside the job's span, which names the executor). With the
//! `metrics` feature the layer reports `more_executors_retry_total` (retries scheduled),
//! `more_executors_retry_queue` (jobs waiting between attempts) and
//! `more_executors_retry_delay_total` (seconds of delay scheduled), labelled `executor`.
//!
//! # Requirements
//! Jobs must be `Clone` (each attempt runs a clone); the job's error type must be `Debug` (it is
//! logged with each retry).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod budget;
mod ext;
mod oneshot;
pub mod policy;
mod retry;

pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use ext::{RetryBuilderExt, RetryExt};
pub use oneshot::retry;
pub use policy::{
    Attempt, DefaultRetryIf, ExponentialBackoff, ExponentialBackoffBuilder, RetryDecision, RetryIf,
    RetryPolicy, Schedule,
};
pub use retry::{Retry, RetryFuture, RetryLayer};

#[doc(no_inline)]
pub use more_executors_core::{Error, Lifecycle};
