//! [`retry`]: one retried call, without an executor.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use more_executors_core::stage::{JobContext, Panic, catch_panic};
use more_executors_core::{Error, Executor, Lifecycle, Runtime};

use crate::Retry;
use crate::policy::RetryPolicy;

/// Calls `make` and awaits its future, again and again as `policy` decides: one retried
/// call in one expression, with no executor (like `backon`'s `(|| fut).retry(backoff)`).
///
/// The semantics are the retry layer's (see the [crate documentation](crate)): the policy
/// is asked after each attempt with its number, the time since the first and the outcome;
/// the result is the last attempt's outcome, the job's own error as [`Error::Job`]; a panic
/// in `make`, in its future or in the policy is [`Error::Panicked`] (retried, or not, as the
/// policy says for panics). The returned future is lazy and runs in the task that awaits
/// it: attempts and the waits between them happen there, with no task spawned. Dropping it
/// cancels the attempt in progress or the wait.
///
/// `make` may be `FnMut` (it is called once per attempt); it and its futures must be
/// `Send + 'static` (clone what they need into them).
///
/// # Panics
/// When polled outside a tokio runtime (it waits on tokio's timer), like
/// `tokio::time::sleep`.
///
/// ```
/// use std::time::Duration;
/// use more_executors_retry::{ExponentialBackoff, retry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let policy = ExponentialBackoff::builder().max_attempts(4).sleep(Duration::from_millis(10)).build().unwrap();
/// let mut calls = 0;
/// let got = retry(policy, move || {
///     calls += 1;
///     let n = calls;
///     async move { if n < 3 { Err(format!("attempt {n} failed")) } else { Ok(n) } }
/// })
/// .await;
/// assert_eq!(got, Ok(3));
/// # }
/// ```
pub async fn retry<P, F, Fut, T, E>(policy: P, make: F) -> Result<T, Error<E>>
where
    P: RetryPolicy<T, E>,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    let runtime = match tokio::runtime::Handle::try_current() {
        Ok(h) => Runtime::from_handle(h),
        Err(_) => panic!("more_executors_retry::retry must be awaited inside a tokio runtime"),
    };
    let layer = Retry::new(InPlace { runtime }, policy);
    let job = Attempts(Arc::new(Mutex::new(make)));
    layer.call(job, &JobContext::detached()).await
}

/// The pseudo-executor of [`retry`]: an attempt is `make()`'s future, run in place.
struct InPlace {
    runtime: Runtime,
}

impl Lifecycle for InPlace {
    fn name(&self) -> &str {
        "retry"
    }
    fn kind(&self) -> &'static str {
        "in_place"
    }
    fn runtime(&self) -> &Runtime {
        &self.runtime
    }
    fn shutdown(&self) {}
}

/// The job of [`retry`]: a shared handle to `make`, so each attempt can call it.
struct Attempts<F>(Arc<Mutex<F>>);

impl<F> Clone for Attempts<F> {
    fn clone(&self) -> Self {
        Attempts(self.0.clone())
    }
}

impl<F, Fut, T, E> Executor<Attempts<F>> for InPlace
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    type Future = Attempt<Fut>;

    fn call(&self, job: Attempts<F>, _ctx: &JobContext) -> Self::Future {
        let made = catch_panic(|| {
            let mut make = job.0.lock().unwrap_or_else(|p| p.into_inner());
            make()
        });
        match made {
            Ok(fut) => Attempt { fut: Some(Box::pin(fut)), panic: None },
            Err(panic) => Attempt { fut: None, panic: Some(panic) },
        }
    }
}

/// One attempt of [`retry`]: the future `make` returned (boxed: attempts are rare next to
/// the I/O they do), with panics turned into [`Error::Panicked`].
struct Attempt<Fut> {
    fut: Option<Pin<Box<Fut>>>,
    panic: Option<Panic>,
}

impl<Fut, T, E> Future for Attempt<Fut>
where
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(Err(this
                .panic
                .take()
                .map_or(Error::Panicked(String::new()), Panic::into_error)));
        };
        let out = match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(r)) => r.map_err(Error::Job),
            Err(p) => Err(Panic::from_payload(&*p).into_error()),
        };
        this.fut = None;
        Poll::Ready(out)
    }
}
