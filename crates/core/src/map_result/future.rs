use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::Error;

macro_rules! transform_future {
    ($(#[$doc:meta])* $name:ident) => {
        pin_project! {
            $(#[$doc])*
            pub struct $name<F, M> {
                #[pin]
                inner: F,
                f: Option<M>,
            }
        }

        impl<F, M> $name<F, M> {
            pub(crate) fn new(inner: F, f: M) -> Self {
                $name { inner, f: Some(f) }
            }
        }

        impl<F, M> fmt::Debug for $name<F, M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

transform_future! {
    /// Stage future of [`AndThen`](super::AndThen).
    AndThenFuture
}

transform_future! {
    /// Stage future of [`OrElse`](super::OrElse).
    OrElseFuture
}

transform_future! {
    /// Stage future of [`MapResult`](super::MapResult).
    MapResultFuture
}

impl<F, M, T, E, U> Future for AndThenFuture<F, M>
where
    F: Future<Output = Result<T, Error<E>>>,
    M: FnOnce(T) -> Result<U, E>,
{
    type Output = Result<U, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        let f = this.f.take().expect("AndThenFuture polled after completion");
        Poll::Ready(out.and_then(|v| f(v).map_err(Error::Job)))
    }
}

impl<F, M, T, E> Future for OrElseFuture<F, M>
where
    F: Future<Output = Result<T, Error<E>>>,
    M: FnOnce(Error<E>) -> Result<T, E>,
{
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        let f = this.f.take().expect("OrElseFuture polled after completion");
        Poll::Ready(match out {
            Err(Error::Cancelled) => Err(Error::Cancelled),
            Err(e) => f(e).map_err(Error::Job),
            ok => ok,
        })
    }
}

impl<F, M, T, E, U, E2> Future for MapResultFuture<F, M>
where
    F: Future<Output = Result<T, Error<E>>>,
    M: FnOnce(Result<T, Error<E>>) -> Result<U, E2>,
{
    type Output = Result<U, Error<E2>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        let f = this.f.take().expect("MapResultFuture polled after completion");
        Poll::Ready(match out {
            Err(Error::Cancelled) => Err(Error::Cancelled),
            r => f(r).map_err(Error::Job),
        })
    }
}
