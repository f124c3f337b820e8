//! The builder method `.poll(..)` and the chain method `.with_poll(..)`.

use std::fmt;

use more_executors_core::{ExecutorBuilder, Lifecycle};
use tower_layer::Stack;

use crate::executor::PollExecutor;
use crate::layer::PollLayer;

/// Adds `.poll(layer)` to [`ExecutorBuilder`].
///
/// Like every builder method, the layer wraps the ones added after it.
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_poll::{PollBuilderExt, PollDescriptor, PollLayer};
///
/// # #[tokio::main] async fn main() -> Result<(), ConfigError> {
/// let exec = ExecutorBuilder::new()
///     .poll(PollLayer::new(|ds: &mut [PollDescriptor<u32, u32, ()>]| {
///         ds.iter_mut().for_each(|d| { d.yield_result(d.input() * 2); });
///         Ok(None)
///     }).first_poll_delay(Duration::from_millis(1)))
///     .concurrency_limit(16)? // at most 16 inner jobs (e.g. "publish" requests) at once
///     .build(AsyncExecutor::new());
/// assert_eq!(exec.submit(|| async { Ok(21) }).await, Ok(42));
/// # Ok(()) }
/// ```
pub trait PollBuilderExt<L>: Sized {
    /// Adds a [`PollLayer`] inside the layers added so far.
    fn poll<I, T, E>(self, layer: PollLayer<I, T, E>) -> ExecutorBuilder<Stack<PollLayer<I, T, E>, L>>;
}

impl<L> PollBuilderExt<L> for ExecutorBuilder<L> {
    fn poll<I, T, E>(self, layer: PollLayer<I, T, E>) -> ExecutorBuilder<Stack<PollLayer<I, T, E>, L>> {
        self.layer(layer)
    }
}

/// Adds `.with_poll(layer)` to every executor: wraps it in a [`PollExecutor`].
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::prelude::*;
/// use more_executors_poll::{PollDescriptor, PollExt, PollLayer};
///
/// let exec = BlockingPool::new(2).unwrap().with_poll(
///     PollLayer::new(|ds: &mut [PollDescriptor<String, usize, ()>]| {
///         ds.iter_mut().for_each(|d| { d.yield_result(d.input().len()); });
///         Ok(Some(Duration::from_millis(5)))
///     })
///     .first_poll_delay(Duration::from_millis(1)),
/// );
/// // Plain synchronous code: the library runs its own runtime.
/// assert_eq!(exec.submit(|| Ok("four".to_string())).wait(), Ok(4));
/// ```
pub trait PollExt: Lifecycle + Sized {
    /// Wraps `self` in a [`PollExecutor`] configured by `layer`.
    fn with_poll<I, T, E>(self, layer: PollLayer<I, T, E>) -> PollExecutor<Self, I, T, E>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
        E: Clone + fmt::Debug + Send + 'static,
    {
        PollExecutor::new(self, &layer)
    }
}

impl<X: Lifecycle + Sized> PollExt for X {}
