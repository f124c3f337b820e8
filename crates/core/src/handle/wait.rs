//! Waiting for a future from synchronous code.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

const IN_RUNTIME: &str = "a blocking wait (Handle::wait, wait_timeout or cancel with an \
asynchronous cancel function) was called on a thread that drives asynchronous tasks; \
blocking here would deadlock. Use `.await` (or `cancel_async().await`) in async code, or \
move the blocking call into tokio::task::spawn_blocking";

/// Panics with a message naming the fix when the current thread drives asynchronous tasks.
///
/// tokio offers no side-effect-free probe, so the check asks tokio to enter a blocking
/// region with an already-ready future: tokio refuses (by panicking) exactly on the threads
/// where blocking would deadlock, and we replace its panic with ours.
pub(crate) fn assert_may_block() {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handle.block_on(std::future::ready(()));
    }))
    .is_err();
    if refused {
        panic!("{IN_RUNTIME}");
    }
}

/// Polls `fut` on the current thread until it completes or `deadline` passes.
pub(crate) fn block_until<F: Future + Unpin>(fut: &mut F, deadline: Option<Instant>) -> Option<F::Output> {
    assert_may_block();
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = std::pin::Pin::new(&mut *fut).poll(&mut cx) {
            return Some(v);
        }
        match deadline {
            None => thread::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return None;
                }
                thread::park_timeout(d - now);
            }
        }
    }
}

/// Blocks on an asynchronous cancel decision.
pub(crate) fn block_on_cancel(fut: crate::stage::CancelFuture) -> bool {
    let mut fut = fut;
    block_until(&mut fut, None).unwrap_or(false)
}
