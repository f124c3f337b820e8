//! Combinators over one handle you already have: [`Handle::map`], [`Handle::and_then`],
//! [`Handle::or_else`], [`Handle::map_result`], [`Handle::then`] (the original's `f_map`
//! and `f_flat_map`).
//!
//! Each returns a new handle driven by one small task (on the current runtime, else the
//! library's background runtime). Cancelling the new handle is forwarded to the source
//! handle while the source is pending, under the source's rules (a refused cancel of the
//! source is a refused cancel of the result); a source that is cancelled makes the result
//! cancelled without calling the function. A panic in the function fails only the result,
//! with [`Error::Panicked`].

use std::future::IntoFuture;
use std::sync::Arc;

use super::{CancelGate, CancelHandle, Handle, Repr};
use crate::combinators::combined;
use crate::error::{Error, catch_panic};
use crate::flat_map::FlatMapFuture;

/// A gate forwarding a cancel to `source` without ever blocking.
pub(super) fn forward_to(source: CancelHandle, rt: tokio::runtime::Handle) -> CancelGate {
    CancelGate::Hook(Arc::new(move || source.cancel_nonblocking(&rt)))
}

impl<T, E> Handle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Applies `f` to the outcome of this handle, once it is known, in a new handle whose
    /// cancel is forwarded to this one. `f` is not called for a cancelled source.
    ///
    /// A source that is already resolved is mapped on the spot, without a task (so this
    /// works in synchronous code without a runtime).
    fn follow<U, E2>(
        self,
        kind: &'static str,
        f: impl FnOnce(Result<T, Error<E>>) -> Result<U, Error<E2>> + Send + 'static,
    ) -> Handle<U, E2>
    where
        U: Send + 'static,
        E2: Send + 'static,
    {
        let apply = move |r: Result<T, Error<E>>| match r {
            Err(Error::Cancelled) => Err(Error::Cancelled),
            r => catch_panic(move || f(r)).unwrap_or_else(|panic| Err(panic.into_error())),
        };
        if let Repr::Ready(_) = &self.repr {
            let Repr::Ready(r) = self.repr else { unreachable!() };
            return Handle::from_result(apply(r));
        }
        let rt = combined::runtime();
        let gate = forward_to(self.canceller(), rt.clone());
        combined::spawn(&rt, kind, gate, async move { apply(self.await) })
    }

    /// Transforms a successful value with `f` (the original's `f_map` over one future).
    /// Errors and cancels pass through; a panic in `f` resolves to [`Error::Panicked`].
    /// Cancelling the result cancels this handle.
    ///
    /// ```
    /// use more_executors_core::{AsyncExecutor, Executor};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let exec = AsyncExecutor::new();
    /// let len = exec.submit(|| async { Ok::<_, ()>("hello".to_string()) }).map(|s| s.len());
    /// assert_eq!(len.await, Ok(5));
    /// # }
    /// ```
    pub fn map<U, F>(self, f: F) -> Handle<U, E>
    where
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static,
    {
        self.follow("map", move |r| r.map(f))
    }

    /// Transforms a successful value with a function that may fail: `Err(e)` resolves the
    /// result to [`Error::Job`]`(e)` (the original's `map` whose function raises).
    ///
    /// ```
    /// use more_executors_core::{Error, Handle};
    ///
    /// let parsed = Handle::<_, String>::ready("42").and_then(|s| s.parse::<u32>().map_err(|e| e.to_string()));
    /// assert_eq!(parsed.wait(), Ok(42));
    /// let bad = Handle::<_, String>::ready("x").and_then(|s| s.parse::<u32>().map_err(|e| e.to_string()));
    /// assert!(matches!(bad.wait(), Err(Error::Job(_))));
    /// ```
    pub fn and_then<U, F>(self, f: F) -> Handle<U, E>
    where
        U: Send + 'static,
        F: FnOnce(T) -> Result<U, E> + Send + 'static,
    {
        self.follow("and_then", move |r| r.and_then(|v| f(v).map_err(Error::Job)))
    }

    /// Recovers from a failure: `f` receives the error (the job's own, a timeout, a panic,
    /// a shut-down executor: anything but a cancel) and returns a value, or a job error
    /// (the original's `map(error_fn=...)`). Successes pass through; a cancelled source
    /// stays cancelled.
    ///
    /// ```
    /// use more_executors_core::{Error, Handle};
    ///
    /// let h = Handle::<u32, &str>::failed("not found").or_else(|e| match e {
    ///     Error::Job("not found") => Ok(0),
    ///     other => Err(other.job_error().copied().unwrap_or("unexpected")),
    /// });
    /// assert_eq!(h.wait(), Ok(0));
    /// ```
    pub fn or_else<F>(self, f: F) -> Handle<T, E>
    where
        F: FnOnce(Error<E>) -> Result<T, E> + Send + 'static,
    {
        self.follow("or_else", move |r| r.or_else(|e| f(e).map_err(Error::Job)))
    }

    /// Transforms the whole outcome (value or error, except a cancel) into a new result
    /// with its own error type: the most general of the fallible maps.
    ///
    /// ```
    /// use more_executors_core::{Error, Handle};
    ///
    /// let h = Handle::<u32, String>::failed("boom".into()).map_result(|r| match r {
    ///     Ok(n) => Ok(n.to_string()),
    ///     Err(e) => Err(e.into_job_error().map_or(0, |message| message.len())),
    /// });
    /// assert_eq!(h.wait(), Err(Error::Job(4)));
    /// ```
    pub fn map_result<U, E2, F>(self, f: F) -> Handle<U, E2>
    where
        U: Send + 'static,
        E2: Send + 'static,
        F: FnOnce(Result<T, Error<E>>) -> Result<U, E2> + Send + 'static,
    {
        self.follow("map_result", move |r| f(r).map_err(Error::Job))
    }

    /// Transforms the job's own error with `f`; library errors (cancelled, timed out,
    /// panicked, shut down) pass through unchanged.
    ///
    /// ```
    /// use more_executors_core::{Error, Handle};
    ///
    /// let h = Handle::<(), i32>::failed(404).map_err(|code| format!("HTTP {code}"));
    /// assert_eq!(h.wait(), Err(Error::Job("HTTP 404".to_string())));
    /// ```
    pub fn map_err<E2, F>(self, f: F) -> Handle<T, E2>
    where
        E2: Send + 'static,
        F: FnOnce(E) -> E2 + Send + 'static,
    {
        self.follow("map_err", move |r| r.map_err(|e| e.map_job(f)))
    }

    /// Chains a further asynchronous step (the original's `f_flat_map` over one future):
    /// `f` receives the value and returns a future, or a [`Handle`] from any executor,
    /// whose result becomes the result. Errors of this handle pass through without calling
    /// `f`.
    ///
    /// Cancel goes to this handle while it is pending, then to the handle `f` returned
    /// (under its rules; a plain future is dropped).
    ///
    /// ```
    /// use more_executors_core::{AsyncExecutor, Executor};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let exec = AsyncExecutor::new();
    /// let user = exec.submit(|| async { Ok::<_, String>(7u32) });
    /// let exec2 = exec.clone();
    /// let orders = user.then(move |id| exec2.submit(move || async move { Ok::<_, String>(vec![id; 2]) }));
    /// assert_eq!(orders.await, Ok(vec![7, 7]));
    /// # }
    /// ```
    pub fn then<U, E2, F, G>(self, f: F) -> Handle<U, E>
    where
        U: Send + 'static,
        F: FnOnce(T) -> G + Send + 'static,
        G: IntoFuture<Output = Result<U, E2>>,
        G::IntoFuture: Send + 'static,
        E2: Into<Error<E>> + 'static,
    {
        let rt = combined::runtime();
        let gate = forward_to(self.canceller(), rt.clone());
        let fut_rt = rt.clone();
        combined::spawn_with_ctx(&rt, "then", gate, move |ctx| {
            let g = move |v: T| f(v).into_future();
            FlatMapFuture::new(self, g, ctx.clone(), fut_rt)
        })
    }
}
