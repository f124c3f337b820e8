use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::Error;

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

impl<F, M, T, E, U> Future for MapFuture<F, M>
where
    F: Future<Output = Result<T, Error<E>>>,
    M: FnOnce(T) -> U,
{
    type Output = Result<U, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        let f = this.f.take().expect("MapFuture polled after completion");
        Poll::Ready(out.map(f))
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

impl<F, M, T, E, E2> Future for MapErrFuture<F, M>
where
    F: Future<Output = Result<T, Error<E>>>,
    M: FnOnce(E) -> E2,
{
    type Output = Result<T, Error<E2>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        let f = this.f.take().expect("MapErrFuture polled after completion");
        Poll::Ready(out.map_err(|e| e.map_job(f)))
    }
}
