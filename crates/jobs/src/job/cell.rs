//! The shared state of one job: its handle, its task and the scheduler meet here, each
//! through one of the traits in [`seam`](crate::seam).
//!
//! Lock order: the scheduler's lock may be held while a cell's lock is taken, never the
//! other way round. No user code (futures' destructors, the error handler, token
//! callbacks) runs under either lock.

use std::fmt;
use std::mem;
use std::panic::Location;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use more_executors_core::Error;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{JobClosed, JobInfo, JobKind, JobState, Outcome};
use crate::failure::{FailureValue, JobFailure};
use crate::scheduler::ClosedJob;
use crate::scheduler::shared::Shared;
use crate::seam::{AtomicStage, Entry, JobApi, Stage, Stop, Stopper, Work};

/// A stop was requested: the outcome is decided; the task stops at its next poll (no
/// token) or after the token's grace period.
pub(crate) const STOP: u8 = 1;
/// Drop the future at the next poll; the job counts as aborted.
pub(crate) const FORCE: u8 = 2;
/// The job did not stop within the close timeout; the overrun was reported.
pub(crate) const OVERRUN: u8 = 4;

/// The outcome a task's result decides, when nothing decided it first.
pub(crate) fn outcome_of<T, E>(r: &Result<T, Error<E>>) -> Outcome {
    match r {
        Ok(_) => Outcome::Completed,
        Err(Error::Job(_)) => Outcome::Failed,
        Err(Error::Panicked(_)) => Outcome::Panicked,
        Err(Error::TimedOut(_)) => Outcome::TimedOut,
        Err(_) => Outcome::Cancelled,
    }
}

/// What never changes after spawn.
pub(crate) struct Head {
    pub(crate) id: u64,
    /// The name given at spawn or with `Job::set_name`; `job-N` when none was given.
    name: Mutex<Option<Arc<str>>>,
    pub(crate) kind: JobKind,
    pub(crate) location: &'static Location<'static>,
    pub(crate) spawned_at: Instant,
    pub(crate) token: Option<CancellationToken>,
}

impl Head {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: u64,
        name: Option<Arc<str>>,
        kind: JobKind,
        location: &'static Location<'static>,
        spawned_at: Instant,
        token: Option<CancellationToken>,
    ) -> Self {
        Head { id, name: Mutex::new(name), kind, location, spawned_at, token }
    }

    /// The job's name: the one it was given, else `job-N` (N its id).
    pub(crate) fn name(&self) -> Arc<str> {
        match &*lock(&self.name) {
            Some(n) => n.clone(),
            None => Arc::from(format!("job-{}", self.id)),
        }
    }

    pub(crate) fn set_name(&self, name: Arc<str>) {
        *lock(&self.name) = Some(name);
    }
}

// Laid out by hand: what starting a queued job touches (the flags, the stage, the key, the
// lock and the work) comes first, next to the reference counts, so a cell that waited in a
// long queue costs as few cache misses as possible when it starts.
#[repr(C)]
pub(crate) struct Cell<W, T, E> {
    pub(crate) flags: AtomicU8,
    pub(crate) stage: AtomicStage,
    /// The job's key in the scheduler's table of live jobs, once active.
    pub(crate) key: AtomicUsize,
    pub(crate) shared: Arc<Shared>,
    state: Mutex<St<W, T, E>>,
    /// The task's waker: a stop request wakes the task through it.
    pub(crate) waker: AtomicWaker,
    pub(crate) head: Head,
}

#[repr(C)]
struct St<W, T, E> {
    work: Option<W>,
    started_at: Option<Instant>,
    outcome: Option<Outcome>,
    result: Option<Result<T, Error<E>>>,
    /// A `Job` future is being awaited.
    waiting: bool,
    /// The job's failure was given to the waiter; if the waiter leaves without taking it,
    /// it goes to the error handler.
    to_waiter: bool,
    waiter: Option<Waker>,
    /// Wakers most jobs never have, boxed when the first one comes, so that a job waiting
    /// in a long queue takes less memory.
    rare: Option<Box<Rare>>,
}

#[derive(Default)]
struct Rare {
    /// Callers waiting for the job to stop (the future of `Job::close`).
    stop_waiters: Vec<Waker>,
    /// A spawner waiting for room in the queue: woken when the job is admitted, started or
    /// rejected. Apart from the task's waker, so that a spawner polled after its job's task
    /// has started cannot take the task's place.
    spawner: Option<Waker>,
}

impl<W, T, E> St<W, T, E> {
    fn take_stop_waiters(&mut self) -> Vec<Waker> {
        self.rare.as_mut().map(|r| mem::take(&mut r.stop_waiters)).unwrap_or_default()
    }
}

fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    // No user code runs under this lock, so a poisoned lock is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a failure (a job error or a panic) goes, decided with the outcome.
enum Route {
    /// A caller awaits the job: the failure is its result.
    Waiter,
    /// Nobody awaits the job: the error handler gets the failure (and a caller who awaits
    /// the job later still gets it as the result).
    Handler,
    /// The outcome was decided first (closed or timed out): the error handler gets the
    /// failure as late, and nobody else sees it.
    Late,
}

/// A task's result on its way to the job's waiter, after [`Cell::route`].
enum Ending<T, E> {
    /// A success, or a cancellation of the task: [`Cell::publish`] decides the outcome
    /// unless a close or a timeout decided it first (then the result is dropped).
    Open(Result<T, Error<E>>),
    /// A failure that decided the outcome: [`Cell::publish`] hands it to the waiter.
    Decided(Result<T, Error<E>>),
    /// A late failure, already reported: nothing to publish; the failure is dropped once
    /// the job is published.
    Late(Result<T, Error<E>>),
}

impl<W, T, E> Cell<W, T, E> {
    pub(crate) fn new(head: Head, shared: Arc<Shared>, work: W) -> Arc<Self> {
        Arc::new(Cell {
            head,
            shared,
            flags: AtomicU8::new(0),
            stage: AtomicStage::new(Stage::Pending),
            key: AtomicUsize::new(usize::MAX),
            waker: AtomicWaker::new(),
            state: Mutex::new(St {
                work: Some(work),
                started_at: None,
                outcome: None,
                result: None,
                waiting: false,
                to_waiter: false,
                waiter: None,
                rare: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, St<W, T, E>> {
        lock(&self.state)
    }

    /// Registers the waker of a spawner waiting for room in the queue. The spawner reads
    /// the job's stage after this; whoever changes the stage stores it first and then takes
    /// the waker ([`wake_spawner`](Self::wake_spawner)), both under the lock, so a change
    /// the spawner did not see wakes it.
    pub(crate) fn register_spawner(&self, waker: &Waker) {
        let mut st = self.lock();
        let slot = &mut st.rare.get_or_insert_with(Default::default).spawner;
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// Wakes the spawner registered by [`register_spawner`](Self::register_spawner), if
    /// any, after the stage it waits on changed.
    fn wake_spawner(&self) {
        let waker = self.lock().rare.as_mut().and_then(|r| r.spawner.take());
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(crate) fn take_work(&self) -> Option<W> {
        self.lock().work.take()
    }

    /// The job did not stop within the close timeout after it was asked to: reports the
    /// overrun to the error handler, once.
    pub(crate) fn overrun(&self) {
        if self.flags.fetch_or(OVERRUN, Ordering::AcqRel) & OVERRUN != 0 {
            return;
        }
        self.send_failure(FailureValue::Overrun(self.shared.cfg.close_timeout), false);
    }

    /// Drops a value of user code (the job's future or closure, its output or error)
    /// without letting a panic in its destructor unwind into the scheduler's bookkeeping:
    /// the panic goes to the error handler, late (the job's outcome is decided by then).
    fn drop_user<V>(&self, value: V) {
        if let Err(panic) = more_executors_core::stage::catch_panic(move || drop(value)) {
            self.send_failure(FailureValue::Panic(panic.message()), true);
        }
    }

    /// Hands `error`, about this job, to the scheduler's error handler.
    fn send_failure(&self, error: FailureValue<'_>, late: bool) {
        let name = self.head.name();
        let failure = JobFailure {
            id: self.head.id,
            name: &name,
            kind: self.head.kind,
            location: self.head.location,
            error,
            late,
        };
        crate::failure::report(&self.shared.cfg.handler, &failure);
    }

    /// Decides the outcome of an active job from outside (close, timeout), delivers it to
    /// the waiter at once, and tells the task to stop. Returns true when the job's outcome
    /// is now (or already was) cancelled or timed out.
    pub(crate) fn stop_active(&self, why: Stop) -> bool {
        let waker = {
            let mut st = self.lock();
            if let Some(o) = st.outcome {
                return matches!(o, Outcome::Cancelled | Outcome::TimedOut);
            }
            st.outcome = Some(why.outcome());
            st.result = Some(Err(why.error()));
            st.waiter.take()
        };
        self.flags.fetch_or(STOP, Ordering::AcqRel);
        if let Some(t) = &self.head.token {
            t.cancel();
        }
        self.waker.wake();
        if let Some(w) = waker {
            w.wake();
        }
        tracing::debug!(job_id = self.head.id, reason = ?why, "job closed while active");
        true
    }

    fn state_now(&self) -> JobState {
        self.stage.load(Ordering::Acquire).state()
    }

    /// A snapshot of the job.
    fn snapshot(&self) -> JobInfo {
        let (outcome, started_at) = {
            let st = self.lock();
            (st.outcome, st.started_at)
        };
        JobInfo {
            id: self.head.id,
            name: self.head.name(),
            kind: self.head.kind,
            state: self.state_now(),
            outcome,
            spawned_at: self.head.spawned_at,
            started_at,
            location: self.head.location,
        }
    }
}

impl<W: Work<T, E>, T, E> Cell<W, T, E> {
    /// Starts the job's task now.
    pub(crate) fn launch_at(self: Arc<Self>, started_at: Instant, shared: &Shared) {
        let work = {
            let mut st = self.lock();
            st.started_at = Some(started_at);
            st.work.take()
        };
        if let Some(work) = work {
            work.launch(self, shared);
        }
    }
}

impl<W, T, E: fmt::Display + 'static> Cell<W, T, E> {
    /// Records the end of the job's task, in four steps: [`decide`](Self::decide) the
    /// outcome of a failure and [`route`](Self::route) it to the waiter or the error
    /// handler, [`release`](Self::release) the job's slot, then [`publish`](Self::publish)
    /// the result and wake whoever waits.
    ///
    /// `aborted` says the job was dropped rather than stopped; `start_next` is false only
    /// when the runtime is shutting down (a queued job started there would be dropped too).
    pub(crate) fn finish(self: &Arc<Self>, result: Result<T, Error<E>>, aborted: bool, start_next: bool) {
        let ending = if matches!(result, Err(Error::Job(_) | Error::Panicked(_))) {
            self.shared.metrics.failed.increment(1);
            let route = self.decide(&result);
            self.route(result, route)
        } else {
            Ending::Open(result)
        };
        self.release(aborted, start_next);
        if matches!(ending, Ending::Open(_)) && Arc::strong_count(self) == 1 {
            // Detached and out of the scheduler's tables: no `Job`, `JobClose` or snapshot
            // can observe this cell any more, so there is nothing to publish.
            self.drop_user(ending);
            return;
        }
        self.publish(ending);
    }

    /// Decides the outcome from a failed result, unless a close or a timeout decided it
    /// first, and says where the failure goes: to the waiter when a caller awaits the job
    /// now, else to the error handler (late, when the outcome was already decided).
    fn decide(&self, failure: &Result<T, Error<E>>) -> Route {
        let mut st = self.lock();
        if st.outcome.is_some() {
            return Route::Late;
        }
        st.outcome = Some(outcome_of(failure));
        if st.waiting {
            st.to_waiter = true;
            Route::Waiter
        } else {
            Route::Handler
        }
    }

    /// Reports a failure to the error handler when [`decide`](Self::decide) sent it there
    /// (without locks held), and says what is left for [`publish`](Self::publish).
    fn route(&self, failure: Result<T, Error<E>>, route: Route) -> Ending<T, E> {
        match route {
            Route::Waiter => Ending::Decided(failure),
            Route::Handler => {
                if let Err(e) = &failure {
                    self.report(e, false);
                }
                Ending::Decided(failure)
            }
            Route::Late => {
                if let Err(e) = &failure {
                    self.report(e, true);
                }
                Ending::Late(failure)
            }
        }
    }

    /// Frees the job's slot in the scheduler (recording it in a close under way), and
    /// starts the next queued job when `start_next`.
    fn release(&self, aborted: bool, start_next: bool) {
        let aborted = aborted || self.flags.load(Ordering::Acquire) & FORCE != 0;
        let key = self.key.load(Ordering::Acquire);
        self.shared.release(key, self.head.kind != JobKind::Shield, aborted, start_next);
    }

    /// Marks the job closed, decides the outcome of an [`Ending::Open`] result if it is
    /// still open, hands the result to the waiter (or to the error handler, if the waiter
    /// a failure was routed to has left since), and wakes the waiter and every
    /// [`JobClose`](super::JobClose). Values dropped here are dropped without locks held,
    /// after the wakes, with [`drop_user`](Self::drop_user).
    fn publish(&self, ending: Ending<T, E>) {
        let mut discard = None;
        let mut report_now = None;
        let (waker, stops) = {
            let mut st = self.lock();
            self.stage.store(Stage::Closed, Ordering::Release);
            let deliver = match ending {
                Ending::Open(r) if st.outcome.is_none() => {
                    st.outcome = Some(outcome_of(&r));
                    Some(r)
                }
                Ending::Open(r) => {
                    discard = Some(r);
                    None
                }
                Ending::Decided(r) => Some(r),
                Ending::Late(r) => {
                    discard = Some(r);
                    None
                }
            };
            let mut waker = None;
            if let Some(r) = deliver {
                if st.to_waiter && !st.waiting {
                    // The waiter left between the decision and now.
                    st.to_waiter = false;
                    report_now = Some(r);
                } else {
                    st.result = Some(r);
                    waker = st.waiter.take();
                }
            }
            (waker, st.take_stop_waiters())
        };
        if let Some(Err(e)) = &report_now {
            self.report(e, false);
        }
        if let Some(w) = waker {
            w.wake();
        }
        for w in stops {
            w.wake();
        }
        self.drop_user((discard, report_now));
    }

    fn report(&self, err: &Error<E>, late: bool) {
        let error = match err {
            Error::Job(e) => FailureValue::Error { display: e, any: e },
            Error::Panicked(m) => FailureValue::Panic(m),
            _ => return,
        };
        self.send_failure(error, late);
    }
}

impl<W, T, E> Entry for Cell<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    fn activate(&self, key: usize) {
        self.key.store(key, Ordering::Release);
        let prev = self.stage.swap(Stage::Active, Ordering::AcqRel);
        if prev == Stage::Blocked {
            self.wake_spawner();
        }
    }

    fn launch(self: Arc<Self>, shared: &Shared) {
        self.launch_at(Instant::now(), shared);
    }

    fn admit(&self) {
        self.stage.store(Stage::Pending, Ordering::Release);
        self.wake_spawner();
    }

    fn reject(&self) {
        self.stage.store(Stage::Rejected, Ordering::Release);
        self.wake_spawner();
    }

    fn drop_unrun(&self, why: Stop) {
        let (work, waker, stops) = {
            let mut st = self.lock();
            if st.outcome.is_none() {
                st.outcome = Some(why.outcome());
                st.result = Some(Err(why.error()));
            }
            self.stage.store(Stage::Closed, Ordering::Release);
            (st.work.take(), st.waiter.take(), st.take_stop_waiters())
        };
        tracing::debug!(job_id = self.head.id, reason = ?why, "queued job removed unrun");
        self.drop_user(work);
        if let Some(w) = waker {
            w.wake();
        }
        for w in stops {
            w.wake();
        }
    }

    fn stop(&self, why: Stop) -> bool {
        self.stop_active(why)
    }

    fn force(&self) {
        self.flags.fetch_or(FORCE, Ordering::AcqRel);
        self.overrun();
        self.waker.wake();
    }

    fn closed_job(&self, fate: JobClosed) -> ClosedJob {
        ClosedJob { id: self.head.id, name: self.head.name(), kind: self.head.kind, fate }
    }

    fn info(&self) -> JobInfo {
        self.snapshot()
    }
}

impl<W, T, E> JobApi<T, E> for Cell<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn head(&self) -> &Head {
        &self.head
    }

    fn scheduler(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, Error<E>>> {
        let mut st = self.lock();
        if let Some(r) = st.result.take() {
            st.waiting = false;
            st.to_waiter = false;
            st.waiter = None;
            return Poll::Ready(r);
        }
        st.waiting = true;
        match &st.waiter {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waiter = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    fn leave(&self) {
        let orphan = {
            let mut st = self.lock();
            st.waiting = false;
            st.waiter = None;
            if st.to_waiter && st.result.is_some() {
                st.to_waiter = false;
                st.result.take()
            } else {
                None
            }
        };
        if let Some(Err(e)) = &orphan {
            self.report(e, false);
        }
    }

    fn stop(&self, why: Stop) -> bool {
        let s = self.stage.load(Ordering::Acquire);
        if s == Stage::Pending || s == Stage::Blocked {
            let me = self as *const Self as *const ();
            if let Some(entry) = self.shared.remove_pending(me) {
                entry.drop_unrun(why);
                return true;
            }
        }
        if self.stage.load(Ordering::Acquire) == Stage::Closed {
            let st = self.lock();
            return matches!(st.outcome, Some(Outcome::Cancelled | Outcome::TimedOut));
        }
        self.stop_active(why)
    }

    fn state(&self) -> (JobState, Option<Outcome>) {
        let outcome = self.lock().outcome;
        (self.state_now(), outcome)
    }

    fn info(&self) -> JobInfo {
        self.snapshot()
    }

    fn as_stopper(self: Arc<Self>) -> Arc<dyn Stopper> {
        self
    }

    fn watch_overrun(self: Arc<Self>) {
        if self.head.kind != JobKind::Blocking || self.stage.load(Ordering::Acquire) != Stage::Active {
            return;
        }
        let timeout = self.shared.cfg.close_timeout;
        let rt = self.shared.rt().handle().clone();
        drop(rt.spawn(async move {
            tokio::time::sleep(timeout).await;
            if self.stage.load(Ordering::Acquire) != Stage::Closed {
                self.overrun();
            }
        }));
    }
}

impl<W, T, E> Stopper for Cell<W, T, E>
where
    W: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    fn poll_stopped(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if self.stage.load(Ordering::Acquire) == Stage::Closed {
            return Poll::Ready(());
        }
        let waiters = &mut st.rare.get_or_insert_with(Default::default).stop_waiters;
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn stop_deadline(&self) -> Option<Duration> {
        (self.head.kind == JobKind::Blocking).then_some(self.shared.cfg.close_timeout)
    }

    fn overran(&self) -> bool {
        self.flags.load(Ordering::Acquire) & OVERRUN != 0
    }

    fn started(&self) -> bool {
        self.lock().started_at.is_some()
    }

    fn report_overrun(&self) {
        self.overrun();
    }
}

/// Ends a job's task exactly once: explicitly with [`finish`](Self::finish), or, if the
/// task is dropped first (its runtime shut down), as cancelled.
///
/// With the task that holds it ([`JobTask`](super::task::JobTask)), the only struct of the
/// crate with a bound: its `Drop` finishes the job, which may report the job's error
/// (`E: Display`), and a `Drop` impl must have exactly its struct's bounds.
pub(crate) struct Finisher<W, T, E: fmt::Display + 'static> {
    cell: Option<Arc<Cell<W, T, E>>>,
}

impl<W, T, E: fmt::Display + 'static> Finisher<W, T, E> {
    pub(crate) fn new(cell: Arc<Cell<W, T, E>>) -> Self {
        Finisher { cell: Some(cell) }
    }

    pub(crate) fn cell(&self) -> Option<&Arc<Cell<W, T, E>>> {
        self.cell.as_ref()
    }

    pub(crate) fn finish(&mut self, result: Result<T, Error<E>>, aborted: bool) {
        if let Some(cell) = self.cell.take() {
            cell.finish(result, aborted, true);
        }
    }
}

impl<W, T, E: fmt::Display + 'static> Drop for Finisher<W, T, E> {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            if std::thread::panicking() {
                // The job's future panicked while being dropped: the runtime is fine.
                cell.finish(Err(Error::Panicked("the job panicked while being dropped".into())), false, true);
            } else {
                // The task was dropped unfinished: its runtime is shutting down. Starting
                // the next queued job there would only drop it too, so none is started.
                cell.finish(Err(Error::Cancelled), true, false);
            }
        }
    }
}
