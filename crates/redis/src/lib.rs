//! Jobs on Redis: a [`RedisExecutor`] on the client side, [`RedisWorker`]s in any number
//! of processes on any number of machines, sharing a queue in Redis streams.
//!
//! A `RedisExecutor` is an executor like any other: `retry`, `timeout`, `limit`, `map` and
//! `cancel_on_shutdown` stack on it, and its handles are ordinary
//! [`Handle`](more_executors_core::Handle)s. A `RedisWorker` runs each job through a
//! local executor stack of your choice; that stack's layers apply on the worker.
//!
//! - **Jobs** are data: a type implementing [`RemoteJob`] (a name, a serde request,
//!   serde output and error types).
//! - **Delivery**: at-least-once execution, exactly-once resolution of each handle. A
//!   killed worker's jobs are claimed by another worker after the visibility timeout; a
//!   job that cannot be decoded or keeps killing workers goes to a dead-letter stream
//!   after `max_deliveries`, and its handle fails with [`RemoteError::DeadLettered`].
//! - **Batching**: a client enqueues the jobs submitted close together with one script
//!   call and reads the outcomes of all its pending jobs with one round trip per tick;
//!   a worker reads (reading claims) and acknowledges jobs in batches too. Redis runs
//!   two commands per job (`XADD`, and `SET` of the outcome) and a few per batch.
//! - **Cancel**: a job not yet claimed is cancelled at once and never runs; a running
//!   job's worker decides.
//! - **Cluster**: every key of a queue shares the hash tag `{queue}`, so a queue works on
//!   Redis Cluster (feature `cluster`); spread load over several queues.
//!
//! Metrics (feature `metrics`): the core's `more_executors_future_*` and `_exec_*` with
//! `type="redis"`, and `more_executors_redis_queue_length`, `_submitted_total`,
//! `_claimed_total`, `_reclaimed_total`, `_acked_total`, `_dead_letter_total` labelled
//! `queue`. Spans named `redis_job` carry the job id on both sides; the worker's span
//! also records the client's id and span id (`client_span`).
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use more_executors_core::prelude::*;
//! use more_executors_redis::{RedisExecutor, RedisWorker, RemoteJob};
//! use more_executors_timeout::TimeoutExt;
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct Add(u32, u32);
//! impl RemoteJob for Add {
//!     const NAME: &'static str = "add";
//!     type Output = u32;
//!     type Error = String;
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "redis://127.0.0.1:6379/";
//! // In the worker processes:
//! let local = AsyncExecutor::new().with_concurrency_limit(16)?;
//! let worker = RedisWorker::builder(url, "math")
//!     .handle_with(local, |Add(a, b)| move || async move { Ok::<u32, String>(a + b) })
//!     .start()
//!     .await?;
//! // In the client processes, with client-side layers:
//! let exec = RedisExecutor::builder(url, "math")
//!     .connect()
//!     .await?
//!     .with_timeout(std::time::Duration::from_secs(30))?;
//! assert_eq!(exec.submit(Add(20, 22)).await?, 42);
//! worker.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod call;
mod client;
mod conn;
mod error;
mod job;
mod keys;
mod scripts;
mod settings;
mod wire;
mod worker;

pub use client::{QueueInfo, RedisExecutor, RedisExecutorBuilder, RedisFuture};
pub use error::{RemoteError, SetupError};
pub use job::RemoteJob;
/// The `redis` crate this crate is built on (for `redis::Client`, `redis::RedisError`).
pub use redis;
pub use worker::{RedisWorker, RedisWorkerBuilder, ShutdownReport, WorkerStats};
