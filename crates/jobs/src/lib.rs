//! A scheduler for bounded background jobs with graceful shutdown.
//!
//! A [`Scheduler`] is a container of spawned jobs (the semantics of Python's `aiojobs`,
//! built on tokio): it runs at most `limit` jobs at once and queues the rest in FIFO
//! order; every job's error reaches someone exactly once (the caller awaiting its
//! [`Job`], or the scheduler's error handler); [`Scheduler::close`] cancels everything
//! and escalates to abort after a close timeout; [`Scheduler::wait_and_close`] lets the
//! work finish first; [`Scheduler::shield`] runs work that must complete even if its
//! caller goes away. [`WorkerPool`] is the fixed pool of N workers fed by a bounded
//! queue, built on the scheduler; the `web` feature (off by default) adds an axum integration (`web`).
//!
//! See `docs/jobs.md` in the repository for the full semantics.
//!
//! # Layout
//! `scheduler/` holds [`Scheduler`] (its builder in `builder.rs`, spawning in `spawn.rs`,
//! its shared state in `shared.rs`, closing in `close.rs`); `job/` holds [`Job`] and the
//! per-job cell its handle, its task and the scheduler share; `seam.rs` holds the traits
//! through which they use the cell without knowing each other's types; `pool/` holds
//! [`WorkerPool`]; `web/` the axum integration, whose `atomic` layer is laid out like every
//! layer of the project (service in `mod.rs`, `layer.rs`, `future.rs`).
//!
//! ```
//! use std::time::Duration;
//! use more_executors_jobs::{Outcome, Scheduler};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let scheduler = Scheduler::builder().limit(10).build().unwrap();
//!
//! // Fire and forget: an error would go to the error handler (a tracing event by default).
//! drop(scheduler.spawn(async { Ok::<_, String>(()) }).await.unwrap());
//!
//! // Or keep the Job and wait for it with a timeout.
//! let slow = scheduler
//!     .spawn(async {
//!         tokio::time::sleep(Duration::from_secs(30)).await;
//!         Ok::<_, String>(())
//!     })
//!     .await
//!     .unwrap();
//! let info = slow.info();
//! assert!(slow.wait(Duration::from_secs(1)).await.unwrap_err().is_timed_out());
//! # let _ = info;
//!
//! let report = scheduler.close().await;
//! println!("closed: {report}");
//! # let _ = Outcome::Completed;
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod failure;
mod job;
pub mod pool;
mod scheduler;
mod seam;
#[cfg(feature = "web")]
pub mod web;

pub use error::{Closed, ClosedReason, TrySpawnError};
pub use failure::{ErrorHandler, FailureCause, JobFailure};
pub use job::{
    AlwaysOk, Job, JobClose, JobClosed, JobCtx, JobInfo, JobKind, JobState, Outcome, Wait, WaitFor, always_ok,
};
pub use pool::WorkerPool;
pub use scheduler::{
    Close, CloseReport, ClosedJob, DEFAULT_CLOSE_TIMEOUT, DEFAULT_LIMIT, DEFAULT_PENDING_LIMIT,
    DEFAULT_WAIT_TIMEOUT, JobBuilder, Scheduler, SchedulerBuilder, Spawn, SpawnBlocking,
};
pub use tokio_util::sync::CancellationToken;
