//! The error type every handle resolves to when it does not succeed.

use std::convert::Infallible;
use std::time::Duration;

/// Why a [`Handle`](crate::Handle) did not produce a value.
///
/// `E` is the job's own error type: a job that returns `Err(e)` resolves its handle to
/// [`Error::Job(e)`](Error::Job), so the error can be matched without downcasting. The other
/// variants are produced by the library: cancellation, a deadline, a panic in user code,
/// or an executor that was shut down.
///
/// To get the job's own error back, match [`Error::Job`], or split the error with
/// [`into_job`](Error::into_job) (the job's error, or the library's as an
/// `Error<Infallible>`), or use [`JobResultExt`] on the whole result.
///
/// ```
/// use more_executors_core::Error;
///
/// let err: Error<std::io::Error> = Error::Cancelled;
/// assert!(err.is_cancelled());
/// assert_eq!(err.to_string(), "the job was cancelled");
///
/// let err = Error::Job(std::io::Error::other("disk full"));
/// assert_eq!(err.job_error().map(|e| e.to_string()).as_deref(), Some("disk full"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E> {
    /// The job (or a transform applied to its output) returned this error.
    ///
    /// Displayed as the job's error itself, and its [`source`](std::error::Error::source)
    /// is the job error's source, so an error chain (`{:#}` with `anyhow`, or a walk over
    /// `source()`) shows the job's error once.
    #[error(transparent)]
    Job(E),
    /// The handle was cancelled before it produced a value.
    #[error("the job was cancelled")]
    Cancelled,
    /// The job did not finish within the given duration; it was cancelled where possible.
    #[error("the job timed out after {0:?}")]
    TimedOut(Duration),
    /// The job, or a user callback acting on it (a map function, a policy, a poll
    /// function), panicked. The payload's message is kept when it was a string.
    #[error("the job panicked: {0}")]
    Panicked(String),
    /// The executor was shut down before the job could run to completion (or before it was
    /// submitted: an executor accepts no jobs after
    /// [`shutdown`](crate::Lifecycle::shutdown)).
    #[error("the executor was shut down before the job completed")]
    ShutDown,
}

impl<E> Error<E> {
    /// True for [`Error::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled)
    }

    /// True for [`Error::TimedOut`].
    pub fn is_timed_out(&self) -> bool {
        matches!(self, Error::TimedOut(_))
    }

    /// True for [`Error::Panicked`].
    pub fn is_panicked(&self) -> bool {
        matches!(self, Error::Panicked(_))
    }

    /// True for [`Error::ShutDown`].
    pub fn is_shut_down(&self) -> bool {
        matches!(self, Error::ShutDown)
    }

    /// True for [`Error::Job`].
    pub fn is_job(&self) -> bool {
        matches!(self, Error::Job(_))
    }

    /// The job's own error, if this is [`Error::Job`].
    pub fn job_error(&self) -> Option<&E> {
        match self {
            Error::Job(e) => Some(e),
            _ => None,
        }
    }

    /// The job's own error by value, if this is [`Error::Job`].
    ///
    /// ```
    /// use more_executors_core::Error;
    /// assert_eq!(Error::Job(7).into_job_error(), Some(7));
    /// assert_eq!(Error::<i32>::Cancelled.into_job_error(), None);
    /// ```
    pub fn into_job_error(self) -> Option<E> {
        match self {
            Error::Job(e) => Some(e),
            _ => None,
        }
    }

    /// Splits the error: `Ok` with the job's own error, or `Err` with the library's error
    /// (cancelled, timed out, panicked, shut down) as an `Error` that cannot hold a job
    /// error, which [`Error::cast`] turns back into any `Error<E2>`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_core::Error;
    ///
    /// assert_eq!(Error::Job("refused").into_job(), Ok("refused"));
    /// let timed_out = Error::<&str>::TimedOut(Duration::from_secs(1)).into_job().unwrap_err();
    /// assert!(timed_out.is_timed_out());
    /// ```
    pub fn into_job(self) -> Result<E, Error<Infallible>> {
        match self {
            Error::Job(e) => Ok(e),
            other => Err(other.retype()),
        }
    }

    /// Transforms the job's own error, keeping every other variant as it is.
    ///
    /// ```
    /// use more_executors_core::Error;
    /// let e: Error<String> = Error::Job(3).map_job(|n: i32| format!("code {n}"));
    /// assert_eq!(e, Error::Job("code 3".to_string()));
    /// ```
    pub fn map_job<F, E2>(self, f: F) -> Error<E2>
    where
        F: FnOnce(E) -> E2,
    {
        match self {
            Error::Job(e) => Error::Job(f(e)),
            other => other.retype(),
        }
    }

    /// Converts a library-produced error (every variant but `Job`) to another job error type.
    ///
    /// # Panics
    /// Never: a `Job` variant is not accepted by callers inside the library; if one is
    /// passed it is reported as a panic message instead of being lost.
    pub(crate) fn retype<E2>(self) -> Error<E2> {
        match self {
            Error::Job(_) => Error::Panicked("internal: job error cannot change type".into()),
            Error::Cancelled => Error::Cancelled,
            Error::TimedOut(d) => Error::TimedOut(d),
            Error::Panicked(m) => Error::Panicked(m),
            Error::ShutDown => Error::ShutDown,
        }
    }
}

impl Error<Infallible> {
    /// The same library error, typed for any job error `E` (it cannot be a job error).
    ///
    /// ```
    /// use more_executors_core::Error;
    /// let lib = Error::<String>::ShutDown.into_job().unwrap_err();
    /// let again: Error<std::io::Error> = lib.cast();
    /// assert!(again.is_shut_down());
    /// ```
    pub fn cast<E>(self) -> Error<E> {
        match self {
            Error::Job(never) => match never {},
            Error::Cancelled => Error::Cancelled,
            Error::TimedOut(d) => Error::TimedOut(d),
            Error::Panicked(m) => Error::Panicked(m),
            Error::ShutDown => Error::ShutDown,
        }
    }
}

/// Gets the job's own result out of a handle's `Result<T, Error<E>>`.
///
/// ```
/// use more_executors_core::prelude::*;
///
/// #[derive(Debug, PartialEq)]
/// enum ApiError { NotFound, Gone(String) }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let exec = InlineExecutor::new();
/// // The job's own result, with library errors (cancel, timeout, panic, shutdown) kept apart:
/// let found = exec.submit(|| Err::<u32, _>(ApiError::NotFound)).wait().job_result()?;
/// assert_eq!(found, Err(ApiError::NotFound));
///
/// // Or one error type, with library errors turned into the job's.
/// let r = exec
///     .submit(|| -> Result<u32, ApiError> { panic!("bug") })
///     .wait()
///     .flatten_err(|lib| ApiError::Gone(lib.to_string()));
/// assert!(matches!(r, Err(ApiError::Gone(m)) if m.contains("bug")));
/// # Ok(()) }
/// ```
pub trait JobResultExt<T, E> {
    /// `Ok(job's result)`, or `Err` with the library's error when the job did not produce a
    /// result of its own (cancelled, timed out, panicked, shut down).
    fn job_result(self) -> Result<Result<T, E>, Error<Infallible>>;

    /// The job's result, with a library error turned into `E` by `f`.
    fn flatten_err(self, f: impl FnOnce(Error<Infallible>) -> E) -> Result<T, E>;
}

impl<T, E> JobResultExt<T, E> for Result<T, Error<E>> {
    fn job_result(self) -> Result<Result<T, E>, Error<Infallible>> {
        match self {
            Ok(v) => Ok(Ok(v)),
            Err(e) => e.into_job().map(Err),
        }
    }

    fn flatten_err(self, f: impl FnOnce(Error<Infallible>) -> E) -> Result<T, E> {
        self.map_err(|e| e.into_job().unwrap_or_else(f))
    }
}

impl<E> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Error::Job(e)
    }
}

/// A panic caught in user code (a job, a map function, a policy, a cancel hook): the
/// message given to `panic!` when the payload was a string, else a fixed text.
///
/// [`catch_panic`] returns it; [`into_error`](Self::into_error) makes it the
/// [`Error::Panicked`] a handle resolves to, and its `Display` is the message, for logs.
///
/// ```
/// use more_executors_core::stage::{catch_panic, Panic};
/// use more_executors_core::Error;
///
/// let panic: Panic = catch_panic(|| panic!("disk full")).unwrap_err();
/// assert_eq!(panic.to_string(), "disk full");
/// assert_eq!(panic.into_error::<()>(), Error::Panicked("disk full".into()));
///
/// let payload = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
/// assert_eq!(Panic::from_payload(&*payload).message(), "non-string panic payload");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Panic {
    message: String,
}

impl Panic {
    /// The panic whose payload is `payload` (what [`std::panic::catch_unwind`] returns).
    pub fn from_payload(payload: &(dyn std::any::Any + Send)) -> Panic {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_string()
        };
        Panic { message }
    }

    /// The panic's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The [`Error::Panicked`] a handle resolves to when this panic ends its job.
    pub fn into_error<E>(self) -> Error<E> {
        Error::Panicked(self.message)
    }
}

/// Runs a user callback, catching a panic as a [`Panic`] (turn it into the handle's error
/// with [`Panic::into_error`]).
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| Panic::from_payload(&*p))
}

/// Polls a job's future once: its error becomes [`Error::Job`], a panic while polling
/// becomes [`Error::Panicked`] (the future must not be polled again after that).
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use more_executors_core::Error;
/// use more_executors_core::stage::poll_job;
///
/// let mut cx = Context::from_waker(Waker::noop());
/// let mut ok = pin!(async { Ok::<_, ()>(1) });
/// assert_eq!(poll_job(ok.as_mut(), &mut cx), Poll::Ready(Ok(1)));
/// let mut boom = pin!(async { if true { panic!("boom") } Ok::<u8, ()>(0) });
/// assert_eq!(poll_job(boom.as_mut(), &mut cx), Poll::Ready(Err(Error::Panicked("boom".into()))));
/// ```
#[inline]
pub fn poll_job<F, T, E>(
    fut: std::pin::Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Result<T, Error<E>>>
where
    F: std::future::Future<Output = Result<T, E>>,
{
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
        Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
        Ok(std::task::Poll::Ready(r)) => std::task::Poll::Ready(r.map_err(Error::Job)),
        Err(p) => std::task::Poll::Ready(Err(Panic::from_payload(&*p).into_error())),
    }
}
