use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{Entry, Registry};
use crate::error::Error;
use crate::stage::StageFuture;

pin_project! {
    /// Stage future of [`CancelOnShutdown`](super::CancelOnShutdown).
    pub struct CancelOnShutdownFuture<F> {
        #[pin]
        inner: F,
        reg: Registration,
    }
}

struct Registration {
    entry: Arc<Entry>,
    key: usize,
    registry: Arc<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut jobs = self.registry.lock();
        // After a shutdown drained the registry the key may name another job: only remove
        // our own entry.
        if jobs.get(self.key).is_some_and(|e| Arc::ptr_eq(e, &self.entry)) {
            jobs.remove(self.key);
        }
    }
}

impl<F> CancelOnShutdownFuture<F> {
    pub(crate) fn new(inner: F, entry: Arc<Entry>, key: usize, registry: Arc<Registry>) -> Self {
        CancelOnShutdownFuture { inner, reg: Registration { entry, key, registry } }
    }
}

impl<F> fmt::Debug for CancelOnShutdownFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelOnShutdownFuture")
    }
}

impl<F> Future for CancelOnShutdownFuture<F>
where
    F: StageFuture,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let entry = &this.reg.entry;
        if entry.cancelled.load(Ordering::Acquire) {
            return Poll::Ready(Err(Error::Cancelled));
        }
        entry.waker.register(cx.waker());
        if entry.cancelled.load(Ordering::Acquire) {
            return Poll::Ready(Err(Error::Cancelled));
        }
        this.inner.poll(cx)
    }
}
