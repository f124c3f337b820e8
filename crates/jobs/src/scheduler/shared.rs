//! The scheduler's state: live jobs, the FIFO queue, the limit, and closing.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use more_executors_core::Runtime;
use more_executors_core::metrics::{Counter, Gauge};
use slab::Slab;
use tokio::sync::{Notify, oneshot, watch};

use super::close::CloseReport;
use crate::failure::ErrorHandler;
use crate::job::cell::Cell;
use crate::job::{JobClosed, JobInfo};
use crate::seam::{Entry, Stage, Stop, Work};

pub(crate) struct Config {
    pub(crate) name: Arc<str>,
    pub(crate) pending_limit: usize,
    pub(crate) close_timeout: Duration,
    pub(crate) wait_timeout: Duration,
    pub(crate) handler: ErrorHandler,
}

pub(crate) struct Shared {
    pub(crate) cfg: Config,
    /// The runtime given to the builder, if any.
    configured: Option<Runtime>,
    /// The runtime jobs run on, decided at the first spawn.
    bound: OnceLock<Bound>,
    pub(crate) metrics: JobsMetrics,
    /// Every spawn and every job's end takes this lock, often from different workers at
    /// once; it sits on cache lines of its own, so taking it does not evict the other
    /// fields (the runtime binding and the configuration, read on every spawn) from the
    /// other workers' caches.
    state: CachePadded<Mutex<State>>,
    /// Notified when no job is live or queued.
    idle: Notify,
    closed: AtomicBool,
    /// Written on every spawn (by the spawning thread only): apart from the fields other
    /// workers read, for the same reason as `state`.
    next_id: CachePadded<AtomicU64>,
    report: watch::Sender<Option<CloseReport>>,
}

/// The runtime a scheduler runs its jobs on, and whether it is still alive.
struct Bound {
    rt: Runtime,
    /// Set when the runtime shut down (a borrowed runtime only: an owned one lives as long
    /// as the scheduler).
    gone: Arc<AtomicBool>,
    /// Dropped with the scheduler: ends the sentinel task watching the runtime.
    _alive: Option<oneshot::Sender<()>>,
}

/// Sets its flag when dropped: owned by a task that never finishes while the scheduler
/// lives, so it is dropped exactly when the runtime drops its tasks on shutdown.
struct GoneOnDrop(Arc<AtomicBool>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Bound {
    fn new(rt: Runtime) -> Self {
        let gone = Arc::new(AtomicBool::new(false));
        let alive = if rt.is_owned() {
            None
        } else {
            let (tx, rx) = oneshot::channel::<()>();
            let guard = GoneOnDrop(gone.clone());
            drop(rt.handle().spawn(async move {
                let _ = rx.await;
                // The scheduler is gone: nobody reads the flag any more.
                std::mem::forget(guard);
            }));
            Some(tx)
        };
        Bound { rt, gone, _alive: alive }
    }
}

struct State {
    /// `usize::MAX` when unlimited.
    limit: usize,
    /// Live jobs counted toward the limit.
    active: usize,
    /// Live shields.
    shields: usize,
    live: Slab<Arc<dyn Entry>>,
    /// Pending jobs (the first `admitted`), then jobs whose spawners wait for room.
    queue: VecDeque<Arc<dyn Entry>>,
    admitted: usize,
    closing: Option<Closing>,
}

/// `more_executors_jobs_*`, labelled `scheduler` (no-ops without the `metrics` feature).
pub(crate) struct JobsMetrics {
    active: Gauge,
    pending: Gauge,
    pub(crate) total: Counter,
    pub(crate) failed: Counter,
}

impl JobsMetrics {
    fn new(scheduler: &str) -> Self {
        JobsMetrics {
            active: Gauge::labelled("more_executors_jobs_active", "scheduler", scheduler),
            pending: Gauge::labelled("more_executors_jobs_pending", "scheduler", scheduler),
            total: Counter::labelled("more_executors_jobs_total", "scheduler", scheduler),
            failed: Counter::labelled("more_executors_jobs_failed_total", "scheduler", scheduler),
        }
    }
}

/// The scheduler's state, locked; the active and pending gauges are published from it
/// when the lock is released, so they always match the state.
struct Locked<'a> {
    guard: MutexGuard<'a, State>,
    metrics: &'a JobsMetrics,
}

impl std::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.metrics.active.set(self.guard.active as f64);
        self.metrics.pending.set(self.guard.admitted as f64);
    }
}

struct Closing {
    report: CloseReport,
    done: bool,
}

/// How a job asks to enter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Start or queue; wait for room when the queue is full.
    Wait,
    /// Start or queue; refuse when the queue is full.
    Try,
    /// Start at once, outside the limit.
    Shield,
}

pub(crate) enum Entered {
    Started,
    Queued,
    Blocked,
    Full,
    Closed,
    RuntimeGone,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Scheduler")
            .field("name", &self.cfg.name)
            .field("limit", &(st.limit != usize::MAX).then_some(st.limit))
            .field("active", &st.active)
            .field("pending", &st.admitted)
            .field("shields", &st.shields)
            .field("closed", &st.closing.is_some())
            .finish()
    }
}

impl Shared {
    pub(crate) fn new(cfg: Config, rt: Option<Runtime>, limit: usize) -> Self {
        Shared {
            metrics: JobsMetrics::new(&cfg.name),
            cfg,
            configured: rt,
            bound: OnceLock::new(),
            state: CachePadded::new(Mutex::new(State {
                limit,
                active: 0,
                shields: 0,
                live: Slab::new(),
                queue: VecDeque::new(),
                admitted: 0,
                closing: None,
            })),
            idle: Notify::new(),
            closed: AtomicBool::new(false),
            next_id: CachePadded::new(AtomicU64::new(1)),
            report: watch::Sender::new(None),
        }
    }

    fn lock(&self) -> Locked<'_> {
        // No user code runs under this lock, so a poisoned lock is still consistent.
        Locked { guard: self.state.lock().unwrap_or_else(|p| p.into_inner()), metrics: &self.metrics }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The runtime jobs run on. The first call binds it: the runtime given to the builder,
    /// else the runtime current at this call, else an owned background runtime.
    pub(crate) fn rt(&self) -> &Runtime {
        &self
            .bound
            .get_or_init(|| Bound::new(self.configured.clone().unwrap_or_else(Runtime::current_or_owned)))
            .rt
    }

    /// True once the bound runtime has shut down: no job can run any more.
    pub(crate) fn runtime_gone(&self) -> bool {
        self.bound.get().is_some_and(|b| b.gone.load(Ordering::Acquire))
    }

    /// Starts, queues or refuses a new job. `Started` jobs have their task launched on return.
    pub(crate) fn enter<W, T, E>(&self, cell: &Arc<Cell<W, T, E>>, mode: Mode) -> Entered
    where
        W: Work<T, E>,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.rt();
        if self.runtime_gone() {
            return Entered::RuntimeGone;
        }
        let mut st = self.lock();
        if st.closing.is_some() {
            return Entered::Closed;
        }
        let start = match mode {
            Mode::Shield => {
                st.shields += 1;
                true
            }
            _ if st.queue.is_empty() && st.active < st.limit => {
                st.active += 1;
                true
            }
            _ => false,
        };
        if start {
            self.metrics.total.increment(1);
            let key = st.live.insert(cell.clone());
            cell.key.store(key, Ordering::Release);
            cell.stage.store(Stage::Active, Ordering::Release);
            drop(st);
            cell.clone().launch_at(cell.head.spawned_at, self);
            return Entered::Started;
        }
        if st.queue.len() < self.cfg.pending_limit {
            self.metrics.total.increment(1);
            cell.stage.store(Stage::Pending, Ordering::Release);
            st.queue.push_back(cell.clone());
            st.admitted += 1;
            Entered::Queued
        } else if mode == Mode::Wait {
            self.metrics.total.increment(1);
            cell.stage.store(Stage::Blocked, Ordering::Release);
            st.queue.push_back(cell.clone());
            Entered::Blocked
        } else {
            Entered::Full
        }
    }

    /// A blocked spawner gave up: removes its job if it is still waiting for room.
    /// Returns false when the job was admitted meanwhile (it stays, detached).
    pub(crate) fn cancel_blocked(&self, me: *const ()) -> bool {
        let mut st = self.lock();
        let Some(i) = st.queue.iter().rposition(|e| Arc::as_ptr(e) as *const () == me) else {
            return false;
        };
        if i < st.admitted {
            return false;
        }
        st.queue.remove(i);
        true
    }

    /// Removes a pending job from the queue (for `Job::close` and timeouts).
    pub(crate) fn remove_pending(&self, me: *const ()) -> Option<Arc<dyn Entry>> {
        let mut st = self.lock();
        let i = st.queue.iter().position(|e| Arc::as_ptr(e) as *const () == me)?;
        if i >= st.admitted {
            return None;
        }
        let entry = st.queue.remove(i)?;
        st.admitted -= 1;
        self.admit_more(&mut st);
        let idle = st.live.is_empty() && st.queue.is_empty();
        drop(st);
        if idle {
            self.idle.notify_waiters();
        }
        Some(entry)
    }

    /// Lets blocked spawners in while the pending queue has room.
    fn admit_more(&self, st: &mut State) {
        let room = st.queue.len().min(self.cfg.pending_limit);
        while st.admitted < room {
            st.queue[st.admitted].admit();
            st.admitted += 1;
        }
    }

    /// Moves queued jobs into free slots; returns them to be launched without the lock.
    fn start_queued(&self, st: &mut State, out: &mut Vec<Arc<dyn Entry>>) {
        while st.active < st.limit {
            let Some(entry) = st.queue.pop_front() else { break };
            if st.admitted > 0 {
                st.admitted -= 1;
            }
            let key = st.live.insert(entry.clone());
            st.active += 1;
            entry.activate(key);
            out.push(entry);
        }
        self.admit_more(st);
    }

    /// A job's task ended: frees its slot and starts the next queued job.
    pub(crate) fn release(&self, key: usize, counted: bool, aborted: bool, start_next: bool) {
        let mut next = None;
        let idle = {
            let mut st = self.lock();
            let entry = st.live.try_remove(key);
            if counted {
                st.active -= 1;
            } else {
                st.shields -= 1;
            }
            let st = &mut *st;
            match &mut st.closing {
                Some(c) if !c.done => {
                    if let Some(entry) = &entry {
                        let fate = if aborted { JobClosed::Aborted } else { JobClosed::Stopped };
                        c.report.record(entry.closed_job(fate));
                    }
                }
                Some(_) => {}
                None if start_next && counted && st.active < st.limit => {
                    if let Some(entry) = st.queue.pop_front() {
                        if st.admitted > 0 {
                            st.admitted -= 1;
                        }
                        let key = st.live.insert(entry.clone());
                        st.active += 1;
                        entry.activate(key);
                        next = Some(entry);
                        self.admit_more(st);
                    }
                }
                None => {}
            }
            st.live.is_empty() && st.queue.is_empty()
        };
        if let Some(entry) = next {
            entry.launch(self);
        }
        if idle {
            self.idle.notify_waiters();
        }
    }

    /// Resolves once no job is live or queued.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.lock();
                if st.live.is_empty() && st.queue.is_empty() {
                    return;
                }
            }
            notified.await;
        }
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        let mut start = Vec::new();
        {
            let mut st = self.lock();
            st.limit = limit;
            if st.closing.is_none() {
                self.start_queued(&mut st, &mut start);
            }
        }
        for entry in start {
            entry.launch(self);
        }
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        let limit = self.lock().limit;
        (limit != usize::MAX).then_some(limit)
    }

    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let st = self.lock();
        (st.active, st.admitted, st.shields)
    }

    pub(crate) fn snapshot(&self) -> Vec<JobInfo> {
        let st = self.lock();
        let mut live: Vec<JobInfo> = st.live.iter().map(|(_, e)| e.info()).collect();
        live.sort_by_key(|j| j.id);
        live.extend(st.queue.iter().take(st.admitted).map(|e| e.info()));
        live
    }

    /// Closes the scheduler (once), and returns a receiver of the close report.
    pub(crate) fn close(self: &Arc<Self>) -> watch::Receiver<Option<CloseReport>> {
        let rx = self.report.subscribe();
        let (dropped, blocked, live) = {
            let mut st = self.lock();
            if st.closing.is_some() {
                return rx;
            }
            self.closed.store(true, Ordering::Release);
            let admitted = st.admitted;
            st.admitted = 0;
            let mut queue: Vec<_> = st.queue.drain(..).collect();
            let blocked = queue.split_off(admitted.min(queue.len()));
            let live: Vec<_> = st.live.iter().map(|(_, e)| e.clone()).collect();
            let mut report = CloseReport::default();
            for entry in &queue {
                report.record(entry.closed_job(JobClosed::NeverStarted));
            }
            st.closing = Some(Closing { report, done: false });
            (queue, blocked, live)
        };
        tracing::debug!(
            scheduler = %self.cfg.name,
            active = live.len(),
            pending = dropped.len(),
            "closing the scheduler"
        );
        for entry in blocked {
            entry.reject();
        }
        for entry in dropped {
            entry.drop_unrun(Stop::Cancel);
        }
        for entry in &live {
            entry.stop(Stop::Cancel);
        }
        drop(live);
        if self.runtime_gone() {
            // No task can run there: the jobs' tasks were dropped with the runtime.
            self.conclude_close();
        } else {
            let me = self.clone();
            drop(self.rt().handle().spawn(async move { me.finish_close().await }));
        }
        rx
    }

    /// Waits up to the close timeout for live jobs to stop, then concludes the close.
    async fn finish_close(self: Arc<Self>) {
        let _ = tokio::time::timeout(self.cfg.close_timeout, self.idle()).await;
        self.conclude_close();
    }

    /// Aborts whatever still runs and publishes the report.
    fn conclude_close(&self) {
        let (report, stragglers) = {
            let mut st = self.lock();
            let stragglers: Vec<_> = st.live.iter().map(|(_, e)| e.clone()).collect();
            let c = st.closing.as_mut().expect("closing");
            for entry in &stragglers {
                c.report.record(entry.closed_job(JobClosed::Aborted));
            }
            c.done = true;
            (c.report.clone(), stragglers)
        };
        for entry in &stragglers {
            entry.force();
        }
        if !stragglers.is_empty() {
            tracing::warn!(
                scheduler = %self.cfg.name,
                aborted = stragglers.len(),
                close_timeout = ?self.cfg.close_timeout,
                "jobs did not stop within the close timeout and were aborted"
            );
        }
        drop(stragglers);
        self.report.send_replace(Some(report));
    }
}
