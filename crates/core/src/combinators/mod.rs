//! Future combinators: build one handle (or stream) out of several.
//!
//! | combinator | resolves to | decided by |
//! |---|---|---|
//! | [`ready`], [`failed`], [`cancelled`] | a value, a job error, cancelled | at once |
//! | [`zip`] (tuple of 1–8, or a `Vec`) | the tuple / `Vec` of values, input order | all succeed, or the first error |
//! | [`zip_all`], [`sequence`] | the `Vec` of values, input order | all succeed, or the first error |
//! | [`traverse`] | the `Vec` of values of handles made per item, at most `n` pending | all succeed, or the first error |
//! | [`apply`] | `f` applied to the values | all succeed, or the first error |
//! | [`and`], [`and_with`] | the first error / falsy value, else the last input's value | the first deciding input |
//! | [`or`], [`or_with`] | the first (truthy) value, else the last input's result | the first deciding input |
//! | [`nocancel`] | the input's result | the input; its cancel always refuses |
//! | [`as_completed`] | a `Stream` of `(index, result)` in completion order | each input |
//! | [`wait_first`] | the first to finish, its index and the others still pending | the first input |
//!
//! # Rules shared by the combinators returning a [`Handle`](crate::Handle)
//! - **Eager.** The combined handle is a handle like any other: a driver task (one per
//!   combined handle, on the current tokio runtime, or else on a small background runtime
//!   the library starts once) watches the inputs whether or not anyone polls the result.
//!   So an error still cancels the other inputs when nobody awaits the result, and the
//!   result can be awaited, [`wait`](crate::Handle::wait)ed from synchronous code, or passed to
//!   another combinator.
//! - **Errors short-circuit.** "First" means first in completion order. When an input
//!   decides the result early (an error for `zip`, a value for `or`), the inputs still
//!   pending are cancelled at once, under their own rules (a blocking job already running
//!   refuses and finishes unobserved).
//! - **Cancel goes inward.** Cancelling the combined handle cancels every input still
//!   pending. It is accepted (returns `true`, the handle resolves to
//!   [`Error::Cancelled`](crate::Error::Cancelled)) when at least one input accepted, or,
//!   for [`traverse`], while items remain to be started; it is refused when every pending
//!   input refused (or none is pending). An input deciding asynchronously (the poll
//!   layer's async cancel function) makes the decision asynchronous, as for any handle:
//!   use [`cancel_async`](crate::Handle::cancel_async) in async code.
//! - **Cancel from inside.** An input cancelled by someone else resolves to
//!   `Error::Cancelled`, which is an error like any other: `zip`, `sequence`, `traverse`,
//!   `apply` and `and` resolve as cancelled; for `or` it does not decide.
//! - **Exactly once.** A combined handle resolves exactly once, and a panic in a user
//!   function (a predicate, `make`, `f`) resolves it to
//!   [`Error::Panicked`](crate::Error::Panicked) and cancels the pending inputs.
//! - **Scale.** Inputs are polled only when they wake (a `FuturesUnordered` inside), so
//!   100,000 inputs cost linear time and no deep recursion.
//!
//! [`as_completed`] and [`wait_first`] return a stream and a future instead of a handle:
//! they hand results (and, for `wait_first`, the remaining inputs) back to the caller and
//! never cancel anything. Both work on any futures, not only handles, and both have a
//! blocking form for synchronous code.
//!
//! ```
//! use more_executors_core::prelude::*;
//! use more_executors_core::combinators::{as_completed, zip};
//!
//! // No async runtime needed.
//! let pool = BlockingPool::new(4).unwrap();
//! let user = pool.submit(|| Ok::<_, String>("ada"));
//! let posts = pool.submit(|| Ok::<_, String>(vec!["hello", "again"]));
//! let (user, posts) = zip((user, posts)).wait().unwrap();
//! assert_eq!((user, posts.len()), ("ada", 2));
//!
//! let handles: Vec<_> = (0..10).map(|i| pool.submit(move || Ok::<_, String>(i))).collect();
//! let mut total = 0;
//! for (_index, result) in as_completed(handles).blocking_iter() {
//!     total += result.unwrap();
//! }
//! assert_eq!(total, 45);
//! ```

mod as_completed;
pub(crate) mod combined;
mod logic;
mod nocancel;
mod ready;
mod traverse;
mod wait_first;
mod zip;

pub use as_completed::{AsCompleted, BlockingIter, as_completed};
pub use logic::{and, and_with, or, or_with};
pub use nocancel::nocancel;
pub use ready::{cancelled, failed, ready};
pub use traverse::traverse;
pub use wait_first::{First, WaitFirst, wait_first};
pub use zip::{Zip, apply, sequence, zip, zip_all};
