//! The shared state of one job: its handle, its task and the scheduler meet here.
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

/// A stop was requested: the outcome is decided; the task stops at its next poll (no
/// token) or after the token's grace period.
pub(crate) const STOP: u8 = 1;
/// Drop the future at the next poll; the job counts as aborted.
pub(crate) const FORCE: u8 = 2;
/// The job did not stop within the close timeout; the overrun was reported.
pub(crate) const OVERRUN: u8 = 4;

/// Where the job is, as seen by the scheduler.
pub(crate) mod stage {
    /// Its spawner waits for room in the pending queue.
    pub(crate) const BLOCKED: u8 = 0;
    pub(crate) const PENDING: u8 = 1;
    pub(crate) const ACTIVE: u8 = 2;
    pub(crate) const CLOSED: u8 = 3;
    /// The scheduler closed while the spawner waited; the spawner takes the work back.
    pub(crate) const REJECTED: u8 = 4;
}

/// Why a job is being stopped from outside.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    Cancel,
    Timeout(Duration),
}

impl Stop {
    fn outcome(self) -> Outcome {
        match self {
            Stop::Cancel => Outcome::Cancelled,
            Stop::Timeout(_) => Outcome::TimedOut,
        }
    }

    fn error<E>(self) -> Error<E> {
        match self {
            Stop::Cancel => Error::Cancelled,
            Stop::Timeout(d) => Error::TimedOut(d),
        }
    }
}

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

/// The body of a job: a future, or a blocking closure.
pub(crate) trait Work<T, E>: Send + Sized + 'static {
    /// Starts the job's task on `shared`'s runtime. The task must end with [`Cell::finish`].
    fn launch(self, cell: Arc<Cell<Self, T, E>>, shared: &Shared);
}

// Laid out by hand: what starting a queued job touches (the flags, the stage, the key, the
// lock and the work) comes first, next to the reference counts, so a cell that waited in a
// long queue costs as few cache misses as possible when it starts.
#[repr(C)]
pub(crate) struct Cell<W, T, E> {
    pub(crate) flags: AtomicU8,
    pub(crate) stage: AtomicU8,
    /// The job's key in the scheduler's table of live jobs, once active.
    pub(crate) key: AtomicUsize,
    pub(crate) shared: Arc<Shared>,
    state: Mutex<St<W, T, E>>,
    /// The task's waker (or, while the job is blocked, its spawner's).
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
    stop_waiters: Vec<Waker>,
}

/// What the scheduler does with a job without knowing its types.
pub(crate) trait Entry: Send + Sync + 'static {
    /// Marks the job active in slot `key`. Called under the scheduler's lock.
    fn activate(&self, key: usize);
    /// Starts the task of a job activated from the queue. Called without locks.
    fn launch(self: Arc<Self>, shared: &Shared);
    /// The pending queue has room for this blocked spawner's job now.
    fn admit(&self);
    /// The scheduler closed while this job's spawner waited.
    fn reject(&self);
    /// Removes a pending job unrun.
    fn drop_unrun(&self, why: Stop);
    /// Stops an active job; see [`Cell::stop_active`].
    fn stop(&self, why: Stop) -> bool;
    /// Drops the job's future at its next poll, and reports the overrun.
    fn force(&self);
    /// The job as listed in a close report.
    fn closed_job(&self, fate: JobClosed) -> ClosedJob;
    fn info(&self) -> JobInfo;
}

/// What a [`Job`](super::Job) does with its job without knowing the work's type.
pub(crate) trait JobApi<T, E>: Send + Sync {
    fn head(&self) -> &Head;
    fn scheduler(&self) -> &Arc<Shared>;
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, Error<E>>>;
    fn leave(&self);
    fn stop(&self, why: Stop) -> bool;
    fn state(&self) -> (JobState, Option<Outcome>);
    fn info(&self) -> JobInfo;
    fn as_stopper(self: Arc<Self>) -> Arc<dyn Stopper>;
    /// A running blocking job was asked to stop: it cannot be interrupted, so an overrun is
    /// reported if it still runs when the close timeout expires.
    fn watch_overrun(self: Arc<Self>);
}

/// Waiting for a job's task to end (for [`JobClose`](super::JobClose)).
pub(crate) trait Stopper: Send + Sync + 'static {
    fn poll_stopped(&self, cx: &mut Context<'_>) -> Poll<()>;
    /// How long a close waits for the job to stop: `None` for async jobs (they are
    /// aborted at the end of the grace period anyway), the close timeout for blocking jobs.
    fn stop_deadline(&self) -> Option<Duration>;
    /// The job overran its close timeout (it was aborted or, blocking, detached).
    fn overran(&self) -> bool;
    /// The job had started running (false for a job removed from the queue unrun).
    fn started(&self) -> bool;
    /// The close timeout expired while the job still ran: report the overrun (once).
    fn report_overrun(&self);
}

fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    // No user code runs under this lock, so a poisoned lock is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<W, T, E> Cell<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    pub(crate) fn new(head: Head, shared: Arc<Shared>, work: W) -> Arc<Self> {
        Arc::new(Cell {
            head,
            shared,
            flags: AtomicU8::new(0),
            stage: AtomicU8::new(stage::PENDING),
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
                stop_waiters: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, St<W, T, E>> {
        lock(&self.state)
    }

    pub(crate) fn take_work(&self) -> Option<W> {
        self.lock().work.take()
    }

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

    /// Records the end of the job's task: decides the outcome if still open, routes a
    /// failure to the waiter or the error handler, frees the job's slot (starting the next
    /// queued job when `start_next`), then publishes the result.
    pub(crate) fn finish(self: &Arc<Self>, result: Result<T, Error<E>>, aborted: bool, start_next: bool) {
        let failure = matches!(result, Err(Error::Job(_) | Error::Panicked(_)));
        if failure {
            self.shared.metrics.failed.increment(1);
        }
        let mut result = Some(result);
        let mut decided = false;
        if failure {
            let (report, late) = {
                let mut st = self.lock();
                if st.outcome.is_none() {
                    st.outcome = result.as_ref().map(outcome_of);
                    decided = true;
                    if st.waiting {
                        st.to_waiter = true;
                        (false, false)
                    } else {
                        (true, false)
                    }
                } else {
                    (true, true)
                }
            };
            if report {
                if let Some(Err(e)) = &result {
                    self.report(e, late);
                }
            }
            if late {
                result = None;
            }
        }
        let aborted = aborted || self.flags.load(Ordering::Acquire) & FORCE != 0;
        let key = self.key.load(Ordering::Acquire);
        self.shared.release(key, self.head.kind != JobKind::Shield, aborted, start_next);
        if !failure && Arc::strong_count(self) == 1 {
            // Detached and out of the scheduler's tables: no `Job`, `JobClose` or snapshot
            // can observe this cell any more, so there is nothing to publish.
            return;
        }

        let mut discard = None;
        let mut report_now = None;
        let (waker, stops) = {
            let mut st = self.lock();
            self.stage.store(stage::CLOSED, Ordering::Release);
            let mut waker = None;
            if let Some(r) = result {
                if !decided && st.outcome.is_none() {
                    st.outcome = Some(outcome_of(&r));
                    decided = true;
                }
                if !decided {
                    discard = Some(r);
                } else if st.to_waiter && !st.waiting {
                    // The waiter left between the decision and now.
                    st.to_waiter = false;
                    report_now = Some(r);
                } else {
                    st.result = Some(r);
                    waker = st.waiter.take();
                }
            }
            (waker, mem::take(&mut st.stop_waiters))
        };
        if let Some(Err(e)) = &report_now {
            self.report(e, false);
        }
        drop(discard);
        drop(report_now);
        if let Some(w) = waker {
            w.wake();
        }
        for w in stops {
            w.wake();
        }
    }

    /// The job did not stop within the close timeout after it was asked to: reports the
    /// overrun to the error handler, once.
    pub(crate) fn overrun(&self) {
        if self.flags.fetch_or(OVERRUN, Ordering::AcqRel) & OVERRUN != 0 {
            return;
        }
        let name = self.head.name();
        let failure = JobFailure {
            id: self.head.id,
            name: &name,
            kind: self.head.kind,
            location: self.head.location,
            error: FailureValue::Overrun(self.shared.cfg.close_timeout),
            late: false,
        };
        crate::failure::report(&self.shared.cfg.handler, &failure);
    }

    fn report(&self, err: &Error<E>, late: bool) {
        let error = match err {
            Error::Job(e) => FailureValue::Error { display: e, any: e },
            Error::Panicked(m) => FailureValue::Panic(m),
            _ => return,
        };
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
        match self.stage.load(Ordering::Acquire) {
            stage::BLOCKED | stage::PENDING => JobState::Pending,
            stage::ACTIVE => JobState::Active,
            _ => JobState::Closed,
        }
    }
}

impl<W, T, E> Entry for Cell<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn activate(&self, key: usize) {
        self.key.store(key, Ordering::Release);
        let prev = self.stage.swap(stage::ACTIVE, Ordering::AcqRel);
        if prev == stage::BLOCKED {
            self.waker.wake();
        }
    }

    fn launch(self: Arc<Self>, shared: &Shared) {
        self.launch_at(Instant::now(), shared);
    }

    fn admit(&self) {
        self.stage.store(stage::PENDING, Ordering::Release);
        self.waker.wake();
    }

    fn reject(&self) {
        self.stage.store(stage::REJECTED, Ordering::Release);
        self.waker.wake();
    }

    fn drop_unrun(&self, why: Stop) {
        let (work, waker, stops) = {
            let mut st = self.lock();
            if st.outcome.is_none() {
                st.outcome = Some(why.outcome());
                st.result = Some(Err(why.error()));
            }
            self.stage.store(stage::CLOSED, Ordering::Release);
            (st.work.take(), st.waiter.take(), mem::take(&mut st.stop_waiters))
        };
        tracing::debug!(job_id = self.head.id, reason = ?why, "queued job removed unrun");
        drop(work);
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
        if s == stage::PENDING || s == stage::BLOCKED {
            let me = self as *const Self as *const ();
            if let Some(entry) = self.shared.remove_pending(me) {
                entry.drop_unrun(why);
                return true;
            }
        }
        if self.stage.load(Ordering::Acquire) == stage::CLOSED {
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
        Entry::info(self)
    }

    fn as_stopper(self: Arc<Self>) -> Arc<dyn Stopper> {
        self
    }

    fn watch_overrun(self: Arc<Self>) {
        if self.head.kind != JobKind::Blocking || self.stage.load(Ordering::Acquire) != stage::ACTIVE {
            return;
        }
        let timeout = self.shared.cfg.close_timeout;
        let rt = self.shared.rt().handle().clone();
        drop(rt.spawn(async move {
            tokio::time::sleep(timeout).await;
            if self.stage.load(Ordering::Acquire) != stage::CLOSED {
                self.overrun();
            }
        }));
    }
}

impl<W, T, E> Stopper for Cell<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn poll_stopped(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if self.stage.load(Ordering::Acquire) == stage::CLOSED {
            return Poll::Ready(());
        }
        if !st.stop_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.stop_waiters.push(cx.waker().clone());
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
pub(crate) struct Finisher<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    cell: Option<Arc<Cell<W, T, E>>>,
}

impl<W, T, E> Finisher<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
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

impl<W, T, E> Drop for Finisher<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
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
