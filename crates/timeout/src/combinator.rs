//! The standalone [`timeout`] combinator for handles.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use more_executors_core::stage::{CancelGate, deadline_after, submit_stage};
use more_executors_core::{Error, Handle, Lifecycle, Runtime};
use tokio::time::Instant;

/// Gives an existing handle a deadline: the returned handle resolves like `handle`, or to
/// [`Error::TimedOut`] if `handle` is not done within `duration` from this call; the
/// original job is then cancelled.
///
/// Same rules as the timeout layer:
/// - **Expiry** cancels `handle` (awaiting an asynchronous cancel decision if its stage
///   has one). A job that refuses (a blocking job already running) keeps running; its
///   result is discarded and the returned handle still reports timed out.
/// - **Cancel** of the returned handle is passed to `handle`: it succeeds exactly when
///   `handle`'s cancel does.
/// - **No timer** for a handle that is already done: it is returned as it is. Otherwise
///   one timer, and one small task that waits for the first of "done" and "deadline".
/// - A zero `duration` times out any handle that is not already done.
///
/// Runtime: inside a tokio runtime the waiting task runs there; called from plain
/// synchronous code, it runs on a one-thread background runtime the library starts on
/// first use and keeps for the life of the process. Either way the returned handle can be
/// awaited or waited on with [`Handle::wait`].
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_timeout::timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let exec = AsyncExecutor::new();
/// let slow = exec.submit(|| async {
///     tokio::time::sleep(Duration::from_secs(10)).await;
///     Ok::<_, ()>(())
/// });
/// let h = timeout(slow, Duration::from_secs(1));
/// assert_eq!(h.await, Err(Error::TimedOut(Duration::from_secs(1))));
///
/// let done = timeout(Handle::<_, ()>::ready(5), Duration::from_secs(1));
/// assert!(done.is_done(), "a finished handle is returned as it is");
/// # }
/// ```
pub fn timeout<T, E>(handle: Handle<T, E>, duration: Duration) -> Handle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    if handle.is_done() {
        return handle;
    }
    let host = Host { runtime: host_runtime() };
    let rt = host.runtime.handle().clone();
    let start = Instant::now();
    let deadline = deadline_after(start, duration);
    submit_stage(&host, move |ctx| {
        let canceller = handle.canceller();
        let forward = canceller.clone();
        // Cancelling the new handle is decided by the original one, without blocking (the
        // original may decide asynchronously, through a poll layer's async cancel function).
        let gate = ctx.set_gate(CancelGate::Hook(Arc::new(move || forward.cancel_nonblocking(&rt))));
        async move {
            let _gate = gate;
            let mut handle = handle;
            let sleep = tokio::time::sleep_until(deadline);
            let mut sleep = std::pin::pin!(sleep);
            let finished = poll_fn(|cx| {
                if let Poll::Ready(r) = Pin::new(&mut handle).poll(cx) {
                    return Poll::Ready(Some(r));
                }
                sleep.as_mut().poll(cx).map(|()| None)
            })
            .await;
            match finished {
                Some(r) => r,
                None => {
                    let cancelled = canceller.cancel_async().await;
                    tracing::debug!(timeout = ?duration, cancelled, "handle timed out");
                    Err(Error::TimedOut(duration))
                }
            }
        }
    })
}

/// The runtime the combinator's waiting task runs on.
fn host_runtime() -> Runtime {
    Runtime::current_or_shared()
}

/// The pseudo-executor the combinator's handles belong to.
struct Host {
    runtime: Runtime,
}

impl Lifecycle for Host {
    fn name(&self) -> &str {
        "timeout"
    }
    fn kind(&self) -> &'static str {
        "timeout"
    }
    fn runtime(&self) -> &Runtime {
        &self.runtime
    }
    fn shutdown(&self) {}
}
