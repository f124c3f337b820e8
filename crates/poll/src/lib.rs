//! Resolve many futures through one batched poll function.
//!
//! A [`PollExecutor`] wraps any executor. Each job runs in the inner executor; its output
//! (a remote task id, say) becomes the input of a [`PollDescriptor`] in the executor's
//! *poll set*, and the job's handle resolves when the poll function says so. One poll
//! function call sees every pending descriptor, so a thousand remote tasks cost one status
//! request per tick instead of a thousand, while each task is still an ordinary
//! cancellable, awaitable [`Handle`](more_executors_core::Handle).
//!
//! # The poll function
//! Either a synchronous closure ([`PollLayer::new`]) or an async [`Poller`]
//! ([`PollLayer::with_poller`]), given `&mut [PollDescriptor<I, T, E>]`:
//! - It sees **every unresolved descriptor** of this executor in one call, in no particular
//!   order. Inner jobs still running are not in the set.
//! - It resolves descriptors with [`yield_result`](PollDescriptor::yield_result) or
//!   [`yield_error`](PollDescriptor::yield_error). The first yield wins; a second one is
//!   ignored, and so is a yield on a future that was cancelled or shut down meanwhile.
//! - It returns `Ok(Some(delay))` to schedule the next poll `delay` after it returned, or
//!   `Ok(None)` for the default interval ([`PollLayer::default_interval`], 5 s). A zero
//!   delay polls again at once; a delay too long for the clock (`Duration::MAX`) means no
//!   regular poll, only [`notify`](PollExecutor::notify) and the first-poll rule.
//! - If it returns `Err(e)`, every descriptor of that call it did not resolve fails with
//!   [`Error::Job(e)`](more_executors_core::Error::Job) (hence `E: Clone`); if it panics,
//!   they fail with [`Error::Panicked`](more_executors_core::Error::Panicked). Either way
//!   the failure is logged, and polling goes on for the other futures (those registered
//!   later) after the default interval.
//!
//! # Schedule
//! - **No poll on an empty set.** The poll task starts when the first future enters an
//!   empty set and ends when the set is empty again; it restarts with the next one.
//! - **First-poll rule.** A future entering the set makes the next poll start no later
//!   than [`first_poll_delay`](PollLayer::first_poll_delay) (default 100 ms) after it
//!   entered, whatever the current interval. So a burst of registrations shares one poll:
//!   the number of calls follows the clock, not the number of futures.
//! - [`notify`](PollExecutor::notify) asks for a poll now (after the one in progress, if
//!   any).
//!
//! # Errors and cancel
//! - An inner job that fails (or is cancelled, or panics) resolves its handle at once,
//!   without entering the poll set.
//! - Cancel before the inner job finished goes to the inner executor.
//! - Cancel while in the poll set asks the cancel function, if one is set
//!   ([`cancel_fn`](PollLayer::cancel_fn), [`async_cancel_fn`](PollLayer::async_cancel_fn)),
//!   with the inner output: `Ok(true)` cancels, `Ok(false)` refuses and polling goes on,
//!   an `Err` or a panic refuses and is logged as a `tracing` error. Without a cancel
//!   function the cancel succeeds and the future stops being tracked. A cancelled future
//!   is not in any later poll call.
//! - A future the poll already resolved cannot be cancelled any more (when a cancel
//!   function is set, the check is exact; without one, a cancel racing with delivery may
//!   still win, and the handle then reports cancelled).
//! - A future dropped from outside while in the poll set (an outer timeout expired) leaves
//!   the set, and the cancel function is called once for it, best effort: its answer cannot
//!   undo the drop, and a refusal or failure is logged. So `timeout` over `poll` cancels
//!   the remote work too.
//!
//! # Shutdown and drop
//! [`shutdown`](more_executors_core::Lifecycle::shutdown) resolves every future still in
//! the poll set to [`Error::ShutDown`](more_executors_core::Error::ShutDown) without calling
//! the cancel function, stops the poll task (even in the middle of an async poll call),
//! then shuts the inner executor down. Dropping the executor without shutdown leaves the
//! pending jobs running: the poll task keeps polling until the set is empty, then ends.
//!
//! # Cost
//! One background task per executor, no thread. Entering and leaving the set is O(1)
//! (a slab slot per future); a poll call costs O(pending) to build the batch.
//!
//! ```
//! use std::time::Duration;
//! use more_executors_core::prelude::*;
//! use more_executors_poll::{PollBuilderExt, PollDescriptor, PollLayer};
//!
//! # #[tokio::main] async fn main() -> Result<(), ConfigError> {
//! // "Remote tasks" finish when their id is below a moving watermark.
//! let watermark = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
//! let w = watermark.clone();
//! let exec = ExecutorBuilder::new()
//!     .poll(
//!         PollLayer::new(move |ds: &mut [PollDescriptor<u32, String, String>]| {
//!             let done_below = w.fetch_add(2, std::sync::atomic::Ordering::SeqCst) + 2;
//!             for d in ds.iter_mut().filter(|d| *d.input() < done_below) {
//!                 let id = *d.input();
//!                 d.yield_result(format!("task {id} finished"));
//!             }
//!             Ok(Some(Duration::from_millis(10)))
//!         })
//!         .first_poll_delay(Duration::from_millis(5)),
//!     )
//!     .build(AsyncExecutor::new());
//!
//! // "Publish" four objects; each job returns the id of the remote task it started.
//! let handles: Vec<_> = (0..4u32).map(|id| exec.submit(move || async move { Ok(id) })).collect();
//! for (id, h) in handles.into_iter().enumerate() {
//!     assert_eq!(h.await.unwrap(), format!("task {id} finished"));
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod descriptor;
mod executor;
mod ext;
mod future;
mod layer;
#[cfg(all(test, loom))]
mod loom_tests;
mod poller;
mod set;
mod sync;
mod task;

pub use descriptor::PollDescriptor;
pub use executor::{PollExecutor, PollNotifier};
pub use ext::{PollBuilderExt, PollExt};
pub use future::PollFuture;
pub use layer::{DEFAULT_FIRST_POLL_DELAY, DEFAULT_INTERVAL, PollLayer};
pub use poller::Poller;

/// Re-exported so poller implementations can write `#[more_executors_poll::async_trait]`.
pub use async_trait::async_trait;
