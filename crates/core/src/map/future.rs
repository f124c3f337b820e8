use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::Error;
use crate::stage::{StageFn, StageFuture};

pin_project! {
    /// Stage future of [`Map`](super::Map).
    pub struct MapFuture<F, M> {
        #[pin]
        inner: F,
        f: Option<M>,
    }
}

impl<F, M> MapFuture<F, M> {
    pub(crate) fn new(inner: F, f: M) -> Self {
        MapFuture { inner, f: Some(f) }
    }
}

impl<F, M> fmt::Debug for MapFuture<F, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MapFuture")
    }
}

impl<F, M> Future for MapFuture<F, M>
where
    F: StageFuture,
    M: StageFn<F::Ok>,
{
    type Output = Result<M::Output, Error<F::Err>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        let f = this.f.take().expect("MapFuture polled after completion");
        Poll::Ready(out.map(|v| f.call_once(v)))
    }
}

pin_project! {
    /// Stage future of [`MapErr`](super::MapErr).
    pub struct MapErrFuture<F, M> {
        #[pin]
        inner: F,
        f: Option<M>,
    }
}

impl<F, M> MapErrFuture<F, M> {
    pub(crate) fn new(inner: F, f: M) -> Self {
        MapErrFuture { inner, f: Some(f) }
    }
}

impl<F, M> fmt::Debug for MapErrFuture<F, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MapErrFuture")
    }
}

impl<F, M> Future for MapErrFuture<F, M>
where
    F: StageFuture,
    M: StageFn<F::Err>,
{
    type Output = Result<F::Ok, Error<M::Output>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        let f = this.f.take().expect("MapErrFuture polled after completion");
        Poll::Ready(out.map_err(|e| e.map_job(|e| f.call_once(e))))
    }
}
