//! Errors of the Redis executor and worker.

use std::time::Duration;

use more_executors_core::ConfigError;

/// Why a job submitted through a [`RedisExecutor`](crate::RedisExecutor) failed, besides
/// the core errors (cancelled, timed out, panicked, shut down), which a worker's outcome
/// maps to as well: a job that timed out on the worker resolves the client's handle to
/// [`Error::TimedOut`](more_executors_core::Error::TimedOut), one that panicked there to
/// [`Error::Panicked`](more_executors_core::Error::Panicked).
///
/// ```
/// use more_executors_redis::RemoteError;
///
/// let e: RemoteError<String> = RemoteError::QueueFull { queue: "mail".into(), max: 10 };
/// assert!(e.to_string().contains("queue \"mail\" is full"));
/// assert_eq!(RemoteError::Job("bad input".to_string()).job_error().map(String::as_str), Some("bad input"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError<E> {
    /// The job ran on a worker and returned this error.
    #[error("{0}")]
    Job(E),
    /// The job was moved to the queue's dead-letter stream and will not run again: its
    /// payload could not be decoded by the worker, no worker knows its name, or it was
    /// delivered the maximum number of times without being acknowledged (it keeps killing
    /// workers, or they keep stopping under it). Inspect the dead-letter stream
    /// (`mx:{queue}:dead`) to see the payload.
    #[error("job {id} was dead-lettered after {deliveries} deliveries: {reason}")]
    DeadLettered {
        /// The job's id.
        id: String,
        /// Why it was dead-lettered.
        reason: String,
        /// How many times it was delivered to workers.
        deliveries: u64,
    },
    /// The queue held its maximum number of jobs (waiting or running) when the job was
    /// submitted; it was not enqueued. Use `submit_ready` to wait for room instead, add
    /// workers, or raise the limit.
    #[error(
        "queue {queue:?} is full ({max} jobs); the job was not enqueued: retry later, add workers, or use submit_ready to wait for room"
    )]
    QueueFull {
        /// The queue's name.
        queue: String,
        /// Its configured maximum length.
        max: u64,
    },
    /// Redis could not be reached for longer than the executor's unavailable timeout; the
    /// job may still run (if it was enqueued) but this handle stopped waiting. Use
    /// [`RedisExecutor::attach`](crate::RedisExecutor::attach) with the job id to wait again.
    #[error("Redis was unreachable for {after:?} (queue {queue:?}): {message}")]
    Unavailable {
        /// The queue's name.
        queue: String,
        /// How long the executor kept trying.
        after: Duration,
        /// The last connection error.
        message: String,
    },
    /// No job with this id exists in the queue: it never did, or it finished longer ago
    /// than the result TTL and its result was removed.
    #[error(
        "no job {id:?} in queue {queue:?}: it never existed, or it finished more than the result TTL ({ttl:?}) ago and its result was removed"
    )]
    NotFound {
        /// The id asked for.
        id: String,
        /// The queue's name.
        queue: String,
        /// The result TTL of the executor asking.
        ttl: Duration,
    },
    /// The job's outcome was stored but could not be decoded as this job type's output or
    /// error: client and worker disagree on the job type.
    #[error(
        "the outcome of job {id} could not be decoded (do client and worker use the same job type?): {message}"
    )]
    Decode {
        /// The job's id.
        id: String,
        /// The decoder's message.
        message: String,
    },
    /// The job could not be encoded, or its idempotency key is not valid; nothing was
    /// enqueued.
    #[error("the job could not be submitted: {0}")]
    Invalid(String),
}

impl<E> RemoteError<E> {
    /// The job's own error, if this is [`RemoteError::Job`].
    pub fn job_error(&self) -> Option<&E> {
        match self {
            RemoteError::Job(e) => Some(e),
            _ => None,
        }
    }

    /// True for [`RemoteError::DeadLettered`].
    pub fn is_dead_lettered(&self) -> bool {
        matches!(self, RemoteError::DeadLettered { .. })
    }

    /// True for [`RemoteError::QueueFull`].
    pub fn is_queue_full(&self) -> bool {
        matches!(self, RemoteError::QueueFull { .. })
    }
}

/// Building or starting a client or worker failed.
///
/// ```
/// use more_executors_redis::{RedisExecutor, SetupError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let err = RedisExecutor::builder("redis://127.0.0.1:1/", "bad{name}").connect().await.unwrap_err();
/// assert!(matches!(err, SetupError::Config(_)));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A setting was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Redis could not be reached or refused a setup command.
    #[error("could not set up the queue in Redis: {0}; is the server running at the given URL?")]
    Redis(#[from] redis::RedisError),
}
