//! The layer author's kit: what a layer uses to build its stage future, and nothing an
//! application needs to submit jobs.
//!
//! - [`JobContext`] is the job's side of its handle, given to every stage when the job is
//!   submitted; [`CancelGate`] (with [`CancelHook`] and its answer [`CancelDecision`])
//!   says how a cancel request is decided while the job is in a stage, for as long as the
//!   [`GateGuard`] lives.
//! - [`StageFuture`] and [`StageFn`] name a stage's output and a user function's result.
//! - [`CallStage`] / [`StageCaller`] hold an inner executor's `call` with its type erased.
//! - [`submit_stage`] spawns a stage future as a job (for layers with submit variants of
//!   their own); [`catch_panic`] turns a panic in user code into [`Error::Panicked`](crate::Error::Panicked) and [`poll_job`] polls a job's future that way;
//!   [`deadline_after`] turns a user's duration into a deadline without overflowing;
//!   [`forward_lifecycle!`] writes a layer's forwarding [`Lifecycle`](crate::Lifecycle)
//!   methods, and [`inner_accessors!`] its `get_ref`, `get_mut` and `into_inner`.
//!
//! `docs/building-a-layer.md` walks through a whole layer built with these.
//!
//! # Keeping type-checking linear
//!
//! A layer's [`Executor`](crate::Executor) impl and its stage future's
//! `Future` impl
//! should have no type parameter that is fixed only by a `where` clause (such as the `U`
//! in `M: Fn(T) -> U`, or the `T` in `F: Future<Output = Result<T, Error<E>>>`). Each such
//! parameter makes the compiler solve the inner stack's obligations afresh for every
//! mention, so type-checking time doubles with each layer of a deep stack. Naming the
//! output through an associated type instead ([`StageFuture::Ok`], [`StageFn::Output`])
//! keeps it linear in the depth of the stack.
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::task::{Context, Poll, ready};
//! use more_executors_core::stage::{StageFn, StageFuture};
//! use more_executors_core::Error;
//!
//! /// Applies `f` to the successful output of a stage future.
//! struct Then<F, M> {
//!     inner: Pin<Box<F>>,
//!     f: Option<M>,
//! }
//!
//! impl<F, M> Future for Then<F, M>
//! where
//!     F: StageFuture,
//!     M: StageFn<F::Ok> + Unpin,
//! {
//!     type Output = Result<M::Output, Error<F::Err>>;
//!
//!     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
//!         let out = ready!(self.inner.as_mut().poll(cx));
//!         let f = self.f.take().expect("polled after completion");
//!         Poll::Ready(out.map(|v| f.call_once(v)))
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let fut = Then { inner: Box::pin(async { Ok::<u32, Error<()>>(2) }), f: Some(|n: u32| n * 10) };
//! assert_eq!(fut.await, Ok(20));
//! # });
//! ```

mod call;
mod context;
mod deadline;
mod future;
mod gate;

pub use call::{CallStage, StageCaller};
pub use context::{GateGuard, JobContext};
pub use deadline::deadline_after;
pub use future::{StageFn, StageFuture};
pub use gate::{CancelDecision, CancelFuture, CancelGate, CancelHook};

pub use crate::error::{Panic, catch_panic, poll_job};
pub use crate::executor::submit_stage;
#[doc(inline)]
pub use crate::{forward_lifecycle, inner_accessors};
