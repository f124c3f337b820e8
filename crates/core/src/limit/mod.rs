//! Bound the number of jobs in flight in the inner executor ([`ConcurrencyLimit`], the
//! original's "throttle").
//!
//! # Semantics
//! - At most `n` jobs of this executor are in the inner executor at once; the rest wait in
//!   a FIFO queue, in submission order. `submit` never blocks; use
//!   [`ConcurrencyLimit::submit_ready`] to wait for a free slot instead of queueing (back
//!   pressure).
//! - A job takes its slot when it enters the inner executor and frees it when its inner
//!   stage resolves (success, error, panic or cancel) and its body no longer runs: a
//!   blocking job whose timeout expired keeps its slot until its thread returns, so the
//!   limit bounds the bodies really running.
//! - Cancelling a queued job always succeeds at once, and frees or starts nothing else.
//!   Cancelling a running job goes to the inner stage.
//! - A dynamic limit is a function consulted each time a job asks for a slot, each time a
//!   slot is freed, and every [`DYNAMIC_RECHECK`] (100 ms) while jobs wait in the queue (one
//!   task per limit does that, only while the queue is not empty). Lowering it takes effect
//!   as running jobs finish (running jobs are not interrupted); raising it starts queued
//!   jobs at the next of those reads. A result of 0 is treated as 1 so the queue can never
//!   stall, and one above [`MAX_LIMIT`] as `MAX_LIMIT` (`usize::MAX` for "no limit" is
//!   fine). A function that panics when first read is rejected at construction; a later
//!   panic fails the job that asked (or, at release and at a periodic read, keeps the
//!   previous limit), and is logged.
//! - [`Lifecycle::shutdown`] releases submitters waiting in
//!   [`ConcurrencyLimit::submit_ready`] with a handle already failed with
//!   [`Error::ShutDown`].
//!
//! # Order matters
//! A limit *inside* a retry layer counts each attempt; a limit *outside* counts a whole
//! retrying job, holding its slot during the delays between attempts.

mod capacity;
mod future;
mod layer;

pub use capacity::Capacity;
pub(crate) use capacity::{Reservation, with_reservation};
pub use future::LimitFuture;
pub use layer::ConcurrencyLimitLayer;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use futures_util::future::Either;
use tokio_util::sync::CancellationToken;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{ConfigError, nonzero};
use crate::error::{Error, Panic, catch_panic};
use crate::executor::{ErrorOf, Executor, Lifecycle, OutputOf, SubmitExecutor};
use crate::handle::{Handle, JobContext};
use crate::metrics::Gauge;

/// A function deciding the concurrency limit at run time.
pub type DynamicLimit = Arc<dyn Fn() -> usize + Send + Sync>;

/// The largest limit: the most permits a tokio semaphore holds (2^61 - 1). A fixed limit
/// above it is rejected; a dynamic one is capped at it.
///
/// ```
/// use more_executors_core::limit::{ConcurrencyLimit, MAX_LIMIT};
/// use more_executors_core::InlineExecutor;
///
/// assert!(ConcurrencyLimit::new(InlineExecutor::new(), MAX_LIMIT).is_ok());
/// assert!(ConcurrencyLimit::new(InlineExecutor::new(), MAX_LIMIT + 1).is_err());
/// ```
pub const MAX_LIMIT: usize = Semaphore::MAX_PERMITS;

/// Checks a fixed limit: from 1 to [`MAX_LIMIT`].
pub(crate) fn fixed_limit(limit: usize) -> Result<usize, ConfigError> {
    let limit = nonzero("concurrency limit", limit)?;
    if limit > MAX_LIMIT {
        return Err(ConfigError::new(
            "concurrency limit",
            format!(
                "must be at most {MAX_LIMIT} (the most slots a semaphore holds); for no limit, leave the limit out"
            ),
        ));
    }
    Ok(limit)
}

/// An executor that runs at most `n` of its jobs at a time in the inner executor.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use more_executors_core::prelude::*;
///
/// # #[tokio::main] async fn main() {
/// let running = Arc::new(AtomicUsize::new(0));
/// let peak = Arc::new(AtomicUsize::new(0));
/// let exec = AsyncExecutor::new().with_concurrency_limit(2).unwrap();
/// let handles: Vec<_> = (0..10).map(|_| {
///     let (running, peak) = (running.clone(), peak.clone());
///     exec.submit(move || async move {
///         let now = running.fetch_add(1, SeqCst) + 1;
///         peak.fetch_max(now, SeqCst);
///         tokio::task::yield_now().await;
///         running.fetch_sub(1, SeqCst);
///         Ok::<_, ()>(())
///     })
/// }).collect();
/// for h in handles { h.await.unwrap(); }
/// assert!(peak.load(SeqCst) <= 2);
/// # }
/// ```
pub struct ConcurrencyLimit<S> {
    // Shared so a queued job holds one reference instead of a clone of the executor.
    inner: Arc<S>,
    shared: Arc<Shared>,
    name: Option<Arc<str>>,
}

impl<S> Clone for ConcurrencyLimit<S> {
    fn clone(&self) -> Self {
        ConcurrencyLimit { inner: self.inner.clone(), shared: self.shared.clone(), name: self.name.clone() }
    }
}

pub(crate) struct Shared {
    sem: Arc<Semaphore>,
    /// Total permits currently issued (the limit in force).
    limit: AtomicUsize,
    /// Permits to retire as they are released, after a dynamic limit was lowered.
    debt: AtomicUsize,
    /// Written as each queued job enters and leaves the queue, from whichever worker, so it
    /// sits on cache lines of its own; being 128-byte aligned, it also keeps the `Arc`'s
    /// reference counts (written as jobs take and release slots) apart from the fields every
    /// submission reads.
    queued: CachePadded<AtomicUsize>,
    dynamic: Option<DynamicLimit>,
    /// `more_executors_throttle_queue`.
    pub(crate) queue_gauge: Gauge,
    /// Cancelled by [`Lifecycle::shutdown`]: releases submitters waiting in `submit_ready`.
    shutdown: CancellationToken,
    /// True while a task re-reads a dynamic limit for the jobs waiting in the queue.
    watching: AtomicBool,
}

impl<S: fmt::Debug> fmt::Debug for ConcurrencyLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimit")
            .field("inner", &self.inner)
            .field("limit", &self.limit())
            .field("queued", &self.queued())
            .finish()
    }
}

impl<S: Lifecycle> ConcurrencyLimit<S> {
    /// At most `limit` jobs in flight.
    ///
    /// # Errors
    /// [`ConfigError`] when `limit` is 0 or above [`MAX_LIMIT`].
    pub fn new(inner: S, limit: usize) -> Result<Self, ConfigError> {
        Ok(Self::fixed(inner, fixed_limit(limit)?, None))
    }

    pub(crate) fn fixed(inner: S, limit: usize, name: Option<Arc<str>>) -> Self {
        let gauge = Gauge::new("more_executors_throttle_queue", name.as_deref().unwrap_or(inner.name()));
        Self::from_shared(inner, Shared::new(limit, None, gauge), name)
    }

    /// The limit is `f()`, consulted whenever a slot is decided, and every
    /// [`DYNAMIC_RECHECK`] while jobs wait in the queue (see the module docs).
    ///
    /// # Errors
    /// [`ConfigError`] when `f` panics here, where it is first called: a limit that cannot
    /// be read is bad configuration.
    pub fn dynamic(inner: S, f: impl Fn() -> usize + Send + Sync + 'static) -> Result<Self, ConfigError> {
        let f: DynamicLimit = Arc::new(f);
        let initial = read_initial(&f)?;
        Ok(Self::dynamic_from(inner, f, initial, None))
    }

    pub(crate) fn dynamic_from(inner: S, f: DynamicLimit, initial: usize, name: Option<Arc<str>>) -> Self {
        let gauge = Gauge::new("more_executors_throttle_queue", name.as_deref().unwrap_or(inner.name()));
        Self::from_shared(inner, Shared::new(initial.max(1), Some(f), gauge), name)
    }

    fn from_shared(inner: S, shared: Shared, name: Option<Arc<str>>) -> Self {
        ConcurrencyLimit { inner: Arc::new(inner), shared: Arc::new(shared), name }
    }
}

impl<S> ConcurrencyLimit<S> {
    /// The wrapped executor.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let exec = InlineExecutor::builder().name("here").build().with_concurrency_limit(2).unwrap();
    /// let inner: &InlineExecutor = exec.get_ref();
    /// assert_eq!(inner.name(), "here");
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped executor, mutably, when this limit is its only holder: `None` while a
    /// clone of it or a queued job (which holds the inner executor to start when a slot
    /// frees) shares it.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let mut exec = InlineExecutor::new().with_concurrency_limit(2).unwrap();
    /// assert!(exec.get_mut().is_some());
    /// let clone = exec.clone();
    /// assert!(exec.get_mut().is_none(), "shared with the clone");
    /// drop(clone);
    /// let inner: Option<&mut InlineExecutor> = exec.get_mut();
    /// assert!(inner.is_some());
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut S> {
        Arc::get_mut(&mut self.inner)
    }

    /// Unwraps the inner executor when this limit is its only holder; otherwise gives `self`
    /// back unchanged (see [`get_mut`](Self::get_mut)). Jobs already submitted are
    /// unaffected: one that still needs the inner executor shares it, and then this gives
    /// `self` back. Unwrapping does not shut the inner executor down.
    ///
    /// # Errors
    /// `self`, when a clone of it or a queued job still shares the inner executor.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    ///
    /// let exec = InlineExecutor::builder().name("here").build().with_concurrency_limit(2).unwrap();
    /// let clone = exec.clone();
    /// let exec = exec.into_inner().unwrap_err();
    /// drop(clone);
    /// let inner: InlineExecutor = exec.into_inner().unwrap();
    /// assert_eq!(inner.name(), "here");
    /// ```
    pub fn into_inner(self) -> Result<S, Self> {
        let ConcurrencyLimit { inner, shared, name } = self;
        Arc::try_unwrap(inner).map_err(|inner| ConcurrencyLimit { inner, shared, name })
    }
}

impl<S> ConcurrencyLimit<S> {
    /// The limit currently in force.
    pub fn limit(&self) -> usize {
        self.shared.limit.load(Ordering::Acquire)
    }

    /// How many jobs wait for a slot.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }

    /// How many jobs hold a slot now.
    pub fn in_flight(&self) -> usize {
        let limit = self.limit();
        limit.saturating_sub(self.shared.sem.available_permits())
    }

    /// Waits for a free slot, then submits `job` holding it: the caller is slowed down
    /// instead of the queue growing. Cancelling the returned future before it resolves
    /// submits nothing.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// # #[tokio::main] async fn main() {
    /// let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    /// let h = exec.submit_ready(|| async { Ok::<_, ()>(1) }).await;
    /// assert_eq!(h.await, Ok(1));
    /// # }
    /// ```
    pub async fn submit_ready<J>(&self, job: J) -> Handle<OutputOf<S, J>, ErrorOf<S, J>>
    where
        S: SubmitExecutor<J> + 'static,
        J: Send + 'static,
    {
        if self.inner.runtime().is_shut_down() || self.shared.shutdown.is_cancelled() {
            return Handle::from_error(Error::ShutDown);
        }
        if let Err(panic) = self.shared.refresh() {
            return Handle::from_error(panic.into_error());
        }
        self.shared.watch(self.inner.runtime());
        let acquire = std::pin::pin!(self.shared.sem.clone().acquire_owned());
        let stop = std::pin::pin!(self.shared.shutdown.cancelled());
        let permit = match futures_util::future::select(acquire, stop).await {
            Either::Left((Ok(p), _)) => p,
            // Shut down while waiting: the submitter is released with a failed handle.
            Either::Left((Err(_), _)) | Either::Right(_) => return Handle::from_error(Error::ShutDown),
        };
        let shared = self.shared.clone();
        let inner = self.inner.clone();
        crate::executor::submit_stage(self, move |ctx| {
            LimitFuture::<S::Future, J>::running(inner.call(job, ctx), Slot::new(permit, shared, ctx))
        })
    }
}

impl Shared {
    fn new(limit: usize, dynamic: Option<DynamicLimit>, queue_gauge: Gauge) -> Shared {
        Shared {
            shutdown: CancellationToken::new(),
            watching: AtomicBool::new(false),
            queue_gauge,
            sem: Arc::new(Semaphore::new(limit)),
            limit: AtomicUsize::new(limit),
            debt: AtomicUsize::new(0),
            queued: CachePadded::new(AtomicUsize::new(0)),
            dynamic,
        }
    }

    /// Consults the dynamic limit, if any, and adjusts the permits.
    fn refresh(&self) -> Result<(), Panic> {
        let Some(f) = &self.dynamic else { return Ok(()) };
        self.apply(catch_panic(|| f())?);
        Ok(())
    }

    /// Sets the limit to what the dynamic function returned, taken between 1 and
    /// [`MAX_LIMIT`].
    fn apply(&self, wanted: usize) {
        let wanted = wanted.clamp(1, MAX_LIMIT);
        let old = self.limit.swap(wanted, Ordering::AcqRel);
        if wanted > old {
            let mut add = wanted - old;
            // Cancel outstanding debt first.
            while add > 0 {
                let debt = self.debt.load(Ordering::Acquire);
                if debt == 0 {
                    break;
                }
                let take = debt.min(add);
                if self.debt.compare_exchange(debt, debt - take, Ordering::AcqRel, Ordering::Acquire).is_ok()
                {
                    add -= take;
                }
            }
            if add > 0 {
                self.sem.add_permits(add);
            }
        } else if wanted < old {
            let remove = old - wanted;
            let forgotten = self.sem.forget_permits(remove);
            if forgotten < remove {
                self.debt.fetch_add(remove - forgotten, Ordering::AcqRel);
            }
        }
    }

    /// With a dynamic limit, makes sure one task re-reads it every [`DYNAMIC_RECHECK`] while
    /// jobs wait for a slot, so a raised limit starts them without a new submission or a
    /// finished job. The task ends when the queue is empty or at shutdown.
    pub(crate) fn watch(self: &Arc<Self>, rt: &crate::Runtime) {
        if self.dynamic.is_none() || self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = self.clone();
        rt.spawn(async move {
            loop {
                let stop = std::pin::pin!(shared.shutdown.cancelled());
                let tick = std::pin::pin!(tokio::time::sleep(DYNAMIC_RECHECK));
                if let Either::Left(_) = futures_util::future::select(stop, tick).await {
                    break;
                }
                if let Err(e) = shared.refresh() {
                    tracing::error!(error = %e, "dynamic concurrency limit panicked; keeping the previous limit");
                }
                if shared.queued.load(Ordering::Acquire) == 0 {
                    shared.watching.store(false, Ordering::Release);
                    // A job queued between the check and the store must not go unwatched.
                    if shared.queued.load(Ordering::Acquire) == 0 || shared.watching.swap(true, Ordering::AcqRel) {
                        break;
                    }
                }
            }
        });
    }

    /// Returns a slot, retiring it instead if the limit was lowered.
    fn release(&self, permit: OwnedSemaphorePermit) {
        if let Some(f) = &self.dynamic {
            match catch_panic(|| f()) {
                Ok(n) => self.apply(n),
                Err(e) => {
                    tracing::error!(error = %e, "dynamic concurrency limit panicked; keeping the previous limit")
                }
            }
        }
        loop {
            let debt = self.debt.load(Ordering::Acquire);
            if debt == 0 {
                drop(permit);
                return;
            }
            if self.debt.compare_exchange(debt, debt - 1, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                permit.forget();
                return;
            }
        }
    }
}

/// How often a dynamic limit is re-read while jobs wait in the queue (besides each submit
/// and each freed slot): a raised limit starts waiting jobs within this interval.
pub const DYNAMIC_RECHECK: Duration = Duration::from_millis(100);

/// Reads a dynamic limit for the first time; a panic there is a configuration error.
pub(crate) fn read_initial(f: &DynamicLimit) -> Result<usize, ConfigError> {
    catch_panic(|| f()).map(|n| n.clamp(1, MAX_LIMIT)).map_err(|e| {
        ConfigError::new(
            "dynamic concurrency limit",
            format!("the limit function panicked when first read ({e}); make it return a number of slots"),
        )
    })
}

/// A held slot, given back when the job's inner stage is done (or dropped) and its body no
/// longer runs: a blocking job whose timeout expired keeps its slot until its thread
/// returns, so the limit counts the bodies really running.
pub(crate) struct Slot {
    held: Option<Held>,
    ctx: JobContext,
}

/// The slot itself; returned (or retired) on drop.
struct Held {
    permit: Option<OwnedSemaphorePermit>,
    shared: Arc<Shared>,
}

impl Slot {
    pub(crate) fn new(permit: OwnedSemaphorePermit, shared: Arc<Shared>, ctx: &JobContext) -> Slot {
        Slot { held: Some(Held { permit: Some(permit), shared }), ctx: ctx.clone() }
    }

    /// Gives the slot back now, or when the job's run in its base executor ends.
    pub(crate) fn free(&mut self) {
        if let Some(held) = self.held.take() {
            self.ctx.hold_while_running(held);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.free();
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            self.shared.release(p);
        }
    }
}

impl<S: Lifecycle> Lifecycle for ConcurrencyLimit<S> {
    fn name(&self) -> &str {
        match &self.name {
            Some(n) => n,
            None => self.inner.name(),
        }
    }
    fn kind(&self) -> &'static str {
        "throttle"
    }
    fn runtime(&self) -> &crate::Runtime {
        self.inner.runtime()
    }
    fn runs_inline(&self) -> bool {
        self.inner.runs_inline()
    }
    fn shutdown(&self) {
        self.shared.shutdown.cancel();
        self.inner.shutdown()
    }
    /// This limit's slots (the outermost limit of a stack answers).
    fn capacity(&self) -> Option<Capacity> {
        Some(Capacity::new(self.shared.clone()))
    }
}

impl<S, J> Executor<J> for ConcurrencyLimit<S>
where
    S: Executor<J> + 'static,
    J: Send + 'static,
{
    type Future = LimitFuture<S::Future, J>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        if let Err(e) = self.shared.refresh() {
            return LimitFuture::failed(e);
        }
        match self.shared.sem.clone().try_acquire_owned() {
            Ok(permit) => {
                LimitFuture::running(self.inner.call(job, ctx), Slot::new(permit, self.shared.clone(), ctx))
            }
            // A slot reserved in advance for this submission (a tower `poll_ready`) is
            // used rather than queueing.
            Err(_) => match capacity::take_reserved(&self.shared) {
                Some(permit) => LimitFuture::running(
                    self.inner.call(job, ctx),
                    Slot::new(permit, self.shared.clone(), ctx),
                ),
                None => {
                    self.shared.watch(self.inner.runtime());
                    LimitFuture::queued(
                        self.inner.clone(),
                        job,
                        ctx.clone(),
                        self.shared.clone(),
                        self.name(),
                    )
                }
            },
        }
    }
}
