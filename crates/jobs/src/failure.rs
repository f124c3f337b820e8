//! Where errors nobody waits for go: [`JobFailure`] and the error handler.

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

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
    Error { display: &'a dyn fmt::Display, any: &'a dyn Any },
    Panic(&'a str),
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
            FailureValue::Panic(_) => None,
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
        let what = if self.is_panic() { "panicked" } else { "failed" };
        write!(f, " spawned at {} {what}: {}", self.location, self.message())
    }
}

/// The default error handler: a `tracing` error event with the job's id, name, spawn
/// location and error or panic message (a warning for a failure that came while the job
/// was being closed, after its caller had received the cancel or timeout).
pub(crate) fn default_handler() -> ErrorHandler {
    Arc::new(|f: &JobFailure<'_>| {
        if f.is_late() {
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

/// Calls the handler, containing a panic in it.
pub(crate) fn report(handler: &ErrorHandler, failure: &JobFailure<'_>) {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(failure)));
    if let Err(p) = caught {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        tracing::error!(
            job_id = failure.id(),
            handler_panic = %msg,
            failure = %failure,
            "the scheduler's error handler panicked; the failure it was handling is logged here instead"
        );
    }
}
