//! Where errors nobody waits for go: [`JobFailure`] and the error handler.

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::job::JobKind;

/// The error handler's signature: called with every failure that no caller received.
///
/// ```
/// let handler: more_executors_jobs::ErrorHandler = std::sync::Arc::new(|f| eprintln!("{f}"));
/// # let _ = handler;
/// ```
pub type ErrorHandler = Arc<dyn Fn(&JobFailure<'_>) + Send + Sync>;

/// A job's error or panic that no caller was waiting for, as given to the scheduler's error
/// handler (see [`SchedulerBuilder::error_handler`](crate::SchedulerBuilder::error_handler)).
///
/// It borrows the job's error: read it (or [`downcast_ref`](Self::downcast_ref) it to
/// the job's error type) inside the handler; a caller who awaits the [`Job`](crate::Job)
/// later still receives the value itself.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use more_executors_jobs::Scheduler;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let scheduler = Scheduler::builder()
///     .error_handler(move |f| sink.lock().unwrap().push((f.name().to_owned(), f.message())))
///     .build()
///     .unwrap();
/// let job = scheduler.job().name("upload").spawn(async { Err::<(), _>("disk full") }).await.unwrap();
/// drop(job); // nobody waits: the error goes to the handler
/// scheduler.wait_and_close(None).await;
/// assert_eq!(*seen.lock().unwrap(), [("upload".to_string(), "disk full".to_string())]);
/// # }
/// ```
pub struct JobFailure<'a> {
    pub(crate) id: u64,
    pub(crate) name: &'a str,
    pub(crate) kind: JobKind,
    pub(crate) location: &'static Location<'static>,
    pub(crate) error: FailureValue<'a>,
    pub(crate) late: bool,
}

pub(crate) enum FailureValue<'a> {
    Error {
        display: &'a dyn fmt::Display,
        any: &'a dyn Any,
    },
    Panic(&'a str),
    /// The job did not stop within the close timeout and was aborted (or, blocking, detached).
    Overrun(Duration),
}

/// What kind of failure a [`JobFailure`] reports.
///
/// ```
/// use more_executors_jobs::FailureCause;
/// assert_ne!(FailureCause::Error, FailureCause::CloseOverrun);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCause {
    /// The job returned an error.
    Error,
    /// The job panicked.
    Panic,
    /// The job was asked to stop (closed, timed out, or its scheduler closed) and did not
    /// stop within the close timeout: an async job was aborted (its future dropped), a
    /// blocking job detached (its thread runs on). Any cleanup it was doing was cut short.
    CloseOverrun,
}

impl JobFailure<'_> {
    /// The job's id (unique within its scheduler).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(move |f| *sink.lock().unwrap() = Some(f.id()))
    ///     .build()
    ///     .unwrap();
    /// drop(s.job().name("n").spawn(async { Err::<(), _>("e") }).await.unwrap());
    /// s.idle().await;
    /// assert_eq!(seen.lock().unwrap().clone(), Some(1));
    /// # }
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The job's name: the one it was given, else `job-N` (N its id).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(move |f| *sink.lock().unwrap() = Some(f.name().to_owned()))
    ///     .build()
    ///     .unwrap();
    /// drop(s.job().name("n").spawn(async { Err::<(), _>("e") }).await.unwrap());
    /// s.idle().await;
    /// assert_eq!(seen.lock().unwrap().clone(), Some("n".to_string()));
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        self.name
    }

    /// What kind of job failed (a job, a blocking job, a shield).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(move |f| *sink.lock().unwrap() = Some(f.kind()))
    ///     .build()
    ///     .unwrap();
    /// drop(s.job().name("n").spawn(async { Err::<(), _>("e") }).await.unwrap());
    /// s.idle().await;
    /// assert_eq!(seen.lock().unwrap().clone(), Some(more_executors_jobs::JobKind::Async));
    /// # }
    /// ```
    pub fn kind(&self) -> JobKind {
        self.kind
    }

    /// Where the job was spawned (the caller of `spawn`, `try_spawn`, `shield`, ...).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(move |f| *sink.lock().unwrap() = Some(f.location().file().to_owned()))
    ///     .build()
    ///     .unwrap();
    /// drop(s.job().name("n").spawn(async { Err::<(), _>("e") }).await.unwrap());
    /// s.idle().await;
    /// assert_eq!(seen.lock().unwrap().clone(), Some(file!().to_string()));
    /// # }
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// True when the job panicked, false when it returned an error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(move |f| *sink.lock().unwrap() = Some(f.is_panic()))
    ///     .build()
    ///     .unwrap();
    /// drop(s.job().name("n").spawn(async { Err::<(), _>("e") }).await.unwrap());
    /// s.idle().await;
    /// assert_eq!(seen.lock().unwrap().clone(), Some(false));
    /// # }
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.error, FailureValue::Panic(_))
    }

    /// What kind of failure this is: an error, a panic, or a close overrun.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use more_executors_jobs::{CancellationToken, FailureCause, Scheduler};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = seen.clone();
    /// let s = Scheduler::builder()
    ///     .close_timeout(Duration::from_secs(1))
    ///     .error_handler(move |f| sink.lock().unwrap().push((f.cause(), f.name().to_owned())))
    ///     .build()
    ///     .unwrap();
    /// // A job that ignores its token: closing it overruns the close timeout.
    /// let job = s.job().name("stubborn").token(CancellationToken::new())
    ///     .spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// let closed = job.close().await;
    /// assert!(closed.is_aborted());
    /// assert_eq!(*seen.lock().unwrap(), [(FailureCause::CloseOverrun, "stubborn".to_string())]);
    /// # }
    /// ```
    pub fn cause(&self) -> FailureCause {
        match self.error {
            FailureValue::Error { .. } => FailureCause::Error,
            FailureValue::Panic(_) => FailureCause::Panic,
            FailureValue::Overrun(_) => FailureCause::CloseOverrun,
        }
    }

    /// True for a close overrun ([`FailureCause::CloseOverrun`]).
    pub fn is_overrun(&self) -> bool {
        matches!(self.error, FailureValue::Overrun(_))
    }

    /// True when the failure happened after the job had already been closed or timed out
    /// (its caller received the cancel or timeout; the error came while it was stopping).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(move |f| *sink.lock().unwrap() = Some(f.is_late()))
    ///     .build()
    ///     .unwrap();
    /// drop(s.job().name("n").spawn(async { Err::<(), _>("e") }).await.unwrap());
    /// s.idle().await;
    /// assert_eq!(seen.lock().unwrap().clone(), Some(false));
    /// # }
    /// ```
    pub fn is_late(&self) -> bool {
        self.late
    }

    /// The error's `Display` text, or the panic message.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let s = more_executors_jobs::Scheduler::builder()
    ///     .error_handler(move |f| *sink.lock().unwrap() = Some(f.message()))
    ///     .build()
    ///     .unwrap();
    /// drop(s.job().name("n").spawn(async { Err::<(), _>("e") }).await.unwrap());
    /// s.idle().await;
    /// assert_eq!(seen.lock().unwrap().clone(), Some("e".to_string()));
    /// # }
    /// ```
    pub fn message(&self) -> String {
        match &self.error {
            FailureValue::Error { display, .. } => display.to_string(),
            FailureValue::Panic(m) => (*m).to_string(),
            FailureValue::Overrun(d) => format!(
                "did not stop within the close timeout of {d:?} and was aborted; its cleanup was cut short \
                 (make it return sooner once its token is cancelled, or raise close_timeout)"
            ),
        }
    }

    /// The job's own error as its type `E`; `None` for a panic or another type.
    ///
    /// ```
    /// # use more_executors_jobs::JobFailure;
    /// fn handler(f: &JobFailure<'_>) {
    ///     if let Some(e) = f.downcast_ref::<std::io::Error>() {
    ///         eprintln!("I/O failure of kind {:?}", e.kind());
    ///     }
    /// }
    /// # let _ = handler;
    /// ```
    pub fn downcast_ref<E: 'static>(&self) -> Option<&E> {
        match &self.error {
            FailureValue::Error { any, .. } => any.downcast_ref::<E>(),
            FailureValue::Panic(_) | FailureValue::Overrun(_) => None,
        }
    }
}

impl fmt::Debug for JobFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobFailure")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("location", &format_args!("{}", self.location))
            .field("panic", &self.is_panic())
            .field("late", &self.late)
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for JobFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.kind.as_str(), self.id, self.name)?;
        let what = match self.cause() {
            FailureCause::Panic => "panicked",
            FailureCause::Error => "failed",
            FailureCause::CloseOverrun => "overran its close",
        };
        write!(f, " spawned at {} {what}: {}", self.location, self.message())
    }
}

/// The default error handler: a `tracing` error event with the job's id, name, spawn
/// location and error or panic message (a warning for a failure that came while the job
/// was being closed, after its caller had received the cancel or timeout).
pub(crate) fn default_handler() -> ErrorHandler {
    Arc::new(|f: &JobFailure<'_>| {
        if f.is_overrun() {
            tracing::warn!(
                job_id = f.id(),
                job_name = f.name(),
                job_kind = f.kind().as_str(),
                location = %f.location(),
                error = %f.message(),
                "a job did not stop within the close timeout and was aborted"
            );
        } else if f.is_late() {
            tracing::warn!(
                job_id = f.id(),
                job_name = f.name(),
                job_kind = f.kind().as_str(),
                location = %f.location(),
                panicked = f.is_panic(),
                error = %f.message(),
                "a job failed while it was being closed"
            );
        } else {
            tracing::error!(
                job_id = f.id(),
                job_name = f.name(),
                job_kind = f.kind().as_str(),
                location = %f.location(),
                panicked = f.is_panic(),
                error = %f.message(),
                "a job failed and nobody was waiting for it"
            );
        }
    })
}

/// Calls the handler, containing a panic in it. The failure logged instead is formatted
/// under the same guard: the job error's own `Display` may be what panicked.
pub(crate) fn report(handler: &ErrorHandler, failure: &JobFailure<'_>) {
    use more_executors_core::stage::catch_panic;
    if let Err(panic) = catch_panic(|| handler(failure)) {
        let shown = catch_panic(|| failure.to_string()).unwrap_or_else(|p| {
            format!(
                "{} {} ({}) spawned at {}: its error's Display panicked: {}",
                failure.kind.as_str(),
                failure.id,
                failure.name,
                failure.location,
                p.message()
            )
        });
        tracing::error!(
            job_id = failure.id(),
            handler_panic = %panic.message(),
            failure = %shown,
            "the scheduler's error handler panicked; the failure it was handling is logged here instead"
        );
    }
}
