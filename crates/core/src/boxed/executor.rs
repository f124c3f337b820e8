//! [`BoxExecutor`] and [`BoxCloneExecutor`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Error;
use crate::executor::{ErrorOf, Executor, Lifecycle, OutputOf};
use crate::handle::JobContext;
use crate::limit::Capacity;
use crate::runtime::Runtime;
use crate::stage::StageFuture;

/// The stage future of a boxed executor's job.
pub type BoxStageFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, Error<E>>> + Send + 'static>>;

/// An executor of jobs `J` with its stack's type erased, built with
/// [`ExecutorExt::boxed`](crate::ExecutorExt::boxed).
trait DynExecutor<J, T, E>: Lifecycle {
    fn call_boxed(&self, job: J, ctx: &JobContext) -> BoxStageFuture<T, E>;
}

impl<X, J> DynExecutor<J, OutputOf<X, J>, ErrorOf<X, J>> for X
where
    X: Executor<J>,
    X::Future: StageFuture,
{
    fn call_boxed(&self, job: J, ctx: &JobContext) -> BoxStageFuture<OutputOf<X, J>, ErrorOf<X, J>> {
        Box::pin(self.call(job, ctx))
    }
}

/// The impls both erased executors share: `Debug` by the stack's name and kind, the
/// stack's whole `Lifecycle`, and `Executor` through the boxed stage future.
macro_rules! erased_executor_impls {
    ($ty:ident) => {
        impl<J, T, E> fmt::Debug for $ty<J, T, E> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.inner.name())
                    .field("kind", &self.inner.kind())
                    .finish()
            }
        }

        impl<J, T, E> Lifecycle for $ty<J, T, E> {
            fn name(&self) -> &str {
                self.inner.name()
            }
            fn kind(&self) -> &'static str {
                self.inner.kind()
            }
            fn runtime(&self) -> &Runtime {
                self.inner.runtime()
            }
            fn shutdown(&self) {
                self.inner.shutdown()
            }
            fn is_shut_down(&self) -> bool {
                self.inner.is_shut_down()
            }
            fn runs_inline(&self) -> bool {
                self.inner.runs_inline()
            }
            fn capacity(&self) -> Option<Capacity> {
                self.inner.capacity()
            }
        }

        impl<J, T, E> Executor<J> for $ty<J, T, E>
        where
            T: Send + 'static,
            E: Send + 'static,
        {
            type Future = BoxStageFuture<T, E>;

            fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
                self.inner.call_boxed(job, ctx)
            }
        }
    };
}

/// A stack of any type taking jobs `J` and producing `Result<T, Error<E>>`, behind one
/// box: nameable, and [`submit`](Executor::submit) works on it as on the stack itself.
///
/// Same semantics as the stack it erases (name, kind, runtime, shutdown, cancel rules,
/// and the concurrency limit seen by [`ExecutorService`](crate::service::ExecutorService)
/// are the stack's). Each job costs one allocation more than the unboxed stack: its stage
/// future is boxed. Not `Clone`; see [`BoxCloneExecutor`].
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::boxed::BoxExecutor;
///
/// // Two different stacks chosen at run time, one type.
/// fn pick(fast: bool) -> BoxExecutor<fn() -> Result<u32, ()>, u32, ()> {
///     if fast {
///         InlineExecutor::new().with_map(|n: u32| n + 1).boxed()
///     } else {
///         BlockingPool::new(1).unwrap().with_concurrency_limit(1).unwrap().boxed()
///     }
/// }
/// let job: fn() -> Result<u32, ()> = || Ok(1);
/// assert_eq!(pick(true).submit(job).wait(), Ok(2));
/// assert_eq!(pick(false).submit(job).wait(), Ok(1));
/// ```
pub struct BoxExecutor<J, T, E> {
    inner: Box<dyn DynExecutor<J, T, E>>,
}

impl<J, T, E> BoxExecutor<J, T, E> {
    /// Erases `exec`'s type.
    pub fn new<X>(exec: X) -> Self
    where
        X: Executor<J, Future: StageFuture<Ok = T, Err = E>> + 'static,
    {
        BoxExecutor { inner: Box::new(exec) }
    }
}

erased_executor_impls!(BoxExecutor);

/// A [`BoxExecutor`] that is `Clone` (clones share the stack, as clones of any executor
/// do), built with [`ExecutorExt::boxed_clone`](crate::ExecutorExt::boxed_clone).
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::boxed::BoxCloneExecutor;
///
/// let exec: BoxCloneExecutor<fn() -> Result<u8, ()>, u8, ()> =
///     InlineExecutor::new().with_concurrency_limit(2).unwrap().boxed_clone();
/// let clone = exec.clone();
/// exec.shutdown();
/// assert!(clone.is_shut_down(), "clones share the stack");
/// ```
pub struct BoxCloneExecutor<J, T, E> {
    inner: Arc<dyn DynExecutor<J, T, E>>,
}

impl<J, T, E> BoxCloneExecutor<J, T, E> {
    /// Erases `exec`'s type.
    pub fn new<X>(exec: X) -> Self
    where
        X: Executor<J, Future: StageFuture<Ok = T, Err = E>> + 'static,
    {
        BoxCloneExecutor { inner: Arc::new(exec) }
    }
}

impl<J, T, E> Clone for BoxCloneExecutor<J, T, E> {
    fn clone(&self) -> Self {
        BoxCloneExecutor { inner: self.inner.clone() }
    }
}

erased_executor_impls!(BoxCloneExecutor);
