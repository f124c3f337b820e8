//! Metrics through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! With the cargo feature `metrics` on, executors report the metric names of the original
//! more-executors library, labelled `type` (the base executor's kind: `async`, `blocking`,
//! `inline`, `service`) and `executor` (the executor's name):
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `more_executors_exec_total` | counter | base executors created (layers are not counted) |
//! | `more_executors_exec_inprogress` | gauge | executors not yet shut down or dropped |
//! | `more_executors_future_total` | counter | jobs that entered this stage |
//! | `more_executors_future_inprogress` | gauge | jobs in this stage now |
//! | `more_executors_future_cancel_total` | counter | jobs cancelled in this stage |
//! | `more_executors_future_error_total` | counter | jobs that left this stage with an error |
//! | `more_executors_future_time_total` | gauge (monotonic) | seconds jobs spent in this stage |
//!
//! Layers add their own (`_poll_total`, `_retry_total`, `_throttle_queue`, ...; see each
//! crate). Handles to the metrics are registered when the executor is built, so install the
//! recorder first. Without the feature, everything here compiles to nothing; with the
//! feature and no recorder, the cost is a few predictable branches per job.
//!
//! ```
//! use more_executors_core::metrics::{Counter, StageMetrics};
//!
//! // Layers written outside this crate report through the same helpers.
//! let stage = StageMetrics::new("my_layer", "default");
//! let mut timer = stage.start();
//! timer.finish::<(), ()>(&Ok(()));
//! Counter::new("more_executors_my_layer_total", "default").increment(1);
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::Error;

#[cfg(feature = "metrics")]
mod imp {
    pub(super) type RawCounter = metrics::Counter;
    pub(super) type RawGauge = metrics::Gauge;

    pub(super) fn counter(name: &'static str, kind: Option<&'static str>, executor: &str) -> RawCounter {
        match kind {
            Some(kind) => metrics::counter!(name, "type" => kind, "executor" => executor.to_owned()),
            None => metrics::counter!(name, "executor" => executor.to_owned()),
        }
    }

    pub(super) fn gauge(name: &'static str, kind: Option<&'static str>, executor: &str) -> RawGauge {
        match kind {
            Some(kind) => metrics::gauge!(name, "type" => kind, "executor" => executor.to_owned()),
            None => metrics::gauge!(name, "executor" => executor.to_owned()),
        }
    }

    pub(super) fn gauge_with(name: &'static str, label: &'static str, value: &str) -> RawGauge {
        metrics::gauge!(name, label => value.to_owned())
    }

    pub(super) fn counter_with(name: &'static str, label: &'static str, value: &str) -> RawCounter {
        metrics::counter!(name, label => value.to_owned())
    }

    pub(super) type Instant = std::time::Instant;
    pub(super) fn now() -> Instant {
        std::time::Instant::now()
    }

    /// True when a recorder other than the facade's no-op one is in effect here. The no-op
    /// recorder is the only zero-sized one the facade installs; a real recorder keeps
    /// state. Used to skip per-job clock reads when nothing would record them.
    pub(super) fn recording() -> bool {
        metrics::with_recorder(|r| std::mem::size_of_val(r) != 0)
    }
    pub(super) fn secs_since(t: Instant) -> f64 {
        t.elapsed().as_secs_f64()
    }
}

#[cfg(not(feature = "metrics"))]
mod imp {
    #[derive(Clone, Default)]
    pub(super) struct RawCounter;
    impl RawCounter {
        pub(super) fn increment(&self, _: u64) {}
    }
    #[derive(Clone, Default)]
    pub(super) struct RawGauge;
    impl RawGauge {
        pub(super) fn increment(&self, _: f64) {}
        pub(super) fn decrement(&self, _: f64) {}
        pub(super) fn set(&self, _: f64) {}
    }
    pub(super) fn counter(_: &'static str, _: Option<&'static str>, _: &str) -> RawCounter {
        RawCounter
    }
    pub(super) fn gauge(_: &'static str, _: Option<&'static str>, _: &str) -> RawGauge {
        RawGauge
    }
    pub(super) fn gauge_with(_: &'static str, _: &'static str, _: &str) -> RawGauge {
        RawGauge
    }
    pub(super) fn counter_with(_: &'static str, _: &'static str, _: &str) -> RawCounter {
        RawCounter
    }
    pub(super) fn recording() -> bool {
        false
    }
}

/// A counter labelled with an executor name (a no-op without the `metrics` feature).
#[derive(Clone)]
pub struct Counter(imp::RawCounter);

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Counter")
    }
}

impl Counter {
    /// Registers `name` with label `executor`.
    pub fn new(name: &'static str, executor: &str) -> Self {
        Counter(imp::counter(name, None, executor))
    }

    /// Registers `name` with labels `type` and `executor`.
    pub fn typed(name: &'static str, kind: &'static str, executor: &str) -> Self {
        Counter(imp::counter(name, Some(kind), executor))
    }

    /// Registers `name` with one custom label (for example `scheduler`).
    pub fn labelled(name: &'static str, label: &'static str, value: &str) -> Self {
        Counter(imp::counter_with(name, label, value))
    }

    /// Adds `n`.
    pub fn increment(&self, n: u64) {
        self.0.increment(n)
    }
}

/// A gauge labelled with an executor name (a no-op without the `metrics` feature).
#[derive(Clone)]
pub struct Gauge(imp::RawGauge);

impl fmt::Debug for Gauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gauge")
    }
}

impl Gauge {
    /// Registers `name` with label `executor`.
    pub fn new(name: &'static str, executor: &str) -> Self {
        Gauge(imp::gauge(name, None, executor))
    }

    /// Registers `name` with labels `type` and `executor`.
    pub fn typed(name: &'static str, kind: &'static str, executor: &str) -> Self {
        Gauge(imp::gauge(name, Some(kind), executor))
    }

    /// Registers `name` with one custom label (for example `scheduler`).
    pub fn labelled(name: &'static str, label: &'static str, value: &str) -> Self {
        Gauge(imp::gauge_with(name, label, value))
    }

    /// Adds `v`.
    pub fn increment(&self, v: f64) {
        self.0.increment(v)
    }

    /// Subtracts `v`.
    pub fn decrement(&self, v: f64) {
        self.0.decrement(v)
    }

    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.0.set(v)
    }
}

/// The `more_executors_future_*` metrics of one stage (an executor or a layer).
///
/// Cloning is cheap; with no recorder installed the handles are empty and cloning them
/// touches no shared memory.
#[derive(Clone)]
pub struct StageMetrics {
    /// False when no recorder was installed at registration: `start` then does nothing.
    recording: bool,
    total: imp::RawCounter,
    inprogress: imp::RawGauge,
    #[cfg(feature = "metrics")]
    cancelled: imp::RawCounter,
    #[cfg(feature = "metrics")]
    errors: imp::RawCounter,
    #[cfg(feature = "metrics")]
    time: imp::RawGauge,
}

impl fmt::Debug for StageMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StageMetrics")
    }
}

impl StageMetrics {
    /// Registers the stage metrics for layer kind `kind` of executor `executor`.
    pub fn new(kind: &'static str, executor: &str) -> Self {
        StageMetrics {
            recording: imp::recording(),
            total: imp::counter("more_executors_future_total", Some(kind), executor),
            inprogress: imp::gauge("more_executors_future_inprogress", Some(kind), executor),
            #[cfg(feature = "metrics")]
            cancelled: imp::counter("more_executors_future_cancel_total", Some(kind), executor),
            #[cfg(feature = "metrics")]
            errors: imp::counter("more_executors_future_error_total", Some(kind), executor),
            #[cfg(feature = "metrics")]
            time: imp::gauge("more_executors_future_time_total", Some(kind), executor),
        }
    }

    /// Records a job entering the stage; the returned timer records how it leaves.
    pub fn start(&self) -> StageTimer {
        if !self.recording {
            return StageTimer::idle();
        }
        self.total.increment(1);
        self.inprogress.increment(1.0);
        #[cfg(not(feature = "metrics"))]
        return StageTimer::idle();
        #[cfg(feature = "metrics")]
        StageTimer {
            open: Some(Open {
                inprogress: self.inprogress.clone(),
                cancelled: self.cancelled.clone(),
                errors: self.errors.clone(),
                time: self.time.clone(),
                started: imp::now(),
            }),
        }
    }

    /// Wraps a stage future so its outcome is recorded.
    pub fn instrument<F>(&self, fut: F) -> Instrumented<F> {
        Instrumented { inner: fut, timer: self.start() }
    }
}

#[cfg(feature = "metrics")]
struct Open {
    inprogress: imp::RawGauge,
    cancelled: imp::RawCounter,
    errors: imp::RawCounter,
    time: imp::RawGauge,
    started: imp::Instant,
}

/// Records how a job leaves a stage; dropping it unfinished counts as a cancel.
///
/// Without the `metrics` feature it records nothing and takes no space.
pub struct StageTimer {
    #[cfg(feature = "metrics")]
    open: Option<Open>,
}

impl fmt::Debug for StageTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("StageTimer");
        #[cfg(feature = "metrics")]
        d.field("finished", &self.open.is_none());
        d.finish()
    }
}

/// How a job left a stage, for [`StageTimer::finish_as`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Cancelled,
    Failed,
}

impl Outcome {
    pub(crate) fn of<T, E>(result: Result<&T, &Error<E>>) -> Outcome {
        match result {
            Ok(_) => Outcome::Succeeded,
            Err(e) if e.is_cancelled() => Outcome::Cancelled,
            Err(_) => Outcome::Failed,
        }
    }
}

impl StageTimer {
    /// A timer that records nothing (a stage without metrics).
    pub(crate) fn idle() -> StageTimer {
        StageTimer {
            #[cfg(feature = "metrics")]
            open: None,
        }
    }

    /// Records the stage's outcome (once; later calls do nothing).
    pub fn finish<T, E>(&mut self, result: &Result<T, Error<E>>) {
        self.finish_as(Outcome::of(result.as_ref()));
    }

    /// [`finish`](Self::finish) with the outcome's kind alone.
    pub(crate) fn finish_as(&mut self, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        if let Some(m) = self.open.take() {
            match outcome {
                Outcome::Succeeded => {}
                Outcome::Cancelled => m.cancelled.increment(1),
                Outcome::Failed => m.errors.increment(1),
            }
            m.inprogress.decrement(1.0);
            m.time.increment(imp::secs_since(m.started));
        }
        #[cfg(not(feature = "metrics"))]
        let _ = outcome;
    }
}

impl Drop for StageTimer {
    fn drop(&mut self) {
        self.finish_as(Outcome::Cancelled);
    }
}

pin_project! {
    /// A stage future whose outcome is recorded in [`StageMetrics`].
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        timer: StageTimer,
    }
}

impl<F> fmt::Debug for Instrumented<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Instrumented")
    }
}

impl<F, T, E> Future for Instrumented<F>
where
    F: Future<Output = Result<T, Error<E>>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        this.timer.finish(&out);
        Poll::Ready(out)
    }
}

/// The `more_executors_exec_*` metrics of one executor or layer: counted when created,
/// in progress until shut down or dropped (whichever comes first).
#[derive(Clone)]
pub struct ExecMetrics {
    inner: Arc<ExecInner>,
}

struct ExecInner {
    inprogress: imp::RawGauge,
    done: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for ExecMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExecMetrics")
    }
}

impl ExecMetrics {
    /// Counts a new executor of kind `kind` named `executor`.
    pub fn new(kind: &'static str, executor: &str) -> Self {
        imp::counter("more_executors_exec_total", Some(kind), executor).increment(1);
        let inprogress = imp::gauge("more_executors_exec_inprogress", Some(kind), executor);
        inprogress.increment(1.0);
        ExecMetrics {
            inner: Arc::new(ExecInner { inprogress, done: std::sync::atomic::AtomicBool::new(false) }),
        }
    }

    /// Marks the executor shut down (idempotent).
    pub fn shutdown(&self) {
        if !self.inner.done.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.inner.inprogress.decrement(1.0);
        }
    }
}

impl Drop for ExecInner {
    fn drop(&mut self) {
        if !*self.done.get_mut() {
            self.inprogress.decrement(1.0);
        }
    }
}
