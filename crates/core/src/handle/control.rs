//! The per-job state machine shared by a handle, its driver task and the stages of a stack.
//!
//! Exactly-once resolution is decided here: the first of "the job finished" and "cancel was
//! accepted" moves the phase out of `Running` under the lock, and the loser observes it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio_util::task::task_tracker::TaskTrackerToken;

use smallvec::SmallVec;

use crate::sync::{AtomicU64, Mutex, MutexGuard};

use super::callbacks::{self, Callback, Resolved};

use crate::error::{Error, Panic};
use crate::stage::{CancelDecision, CancelFuture, CancelGate, CancelHook};

/// Where a job's life stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    Done,
    Cancelled,
}

/// The parts of a job's state most jobs never use, boxed together behind one pointer so
/// the per-job state stays small.
#[derive(Default)]
struct Rare {
    /// Done callbacks waiting for the outcome; taken (and the list closed) in the same
    /// critical section that moves the phase out of `Running`.
    callbacks: Vec<Callback>,
    /// What a stage keeps until the base executor's run of the job ends (a concurrency
    /// limit's slot, when a timeout resolved the job while its thread still runs).
    parked: Option<Box<dyn Send>>,
    /// The panic of an async job's closure, from the base executor's `call` to the first
    /// poll of the future it returned (see [`Control::set_start_panic`]): kept here rather
    /// than in that future, so the future of a small job stays one word and a byte.
    start_panic: Option<Panic>,
}

/// Names one installed gate, for its guard to remove. 32 bits, so the phase, a flag and
/// the next token share one word of the state; tokens wrap, and two live gates of one job
/// share a token only if one of them outlived four billion later gates of that job.
pub(crate) type GateToken = u32;

struct State {
    phase: Phase,
    /// The gates installed by the stages, oldest first, each with its guard's token. The
    /// newest one decides a cancel; none means [`CancelGate::Allow`]. A guard removes only
    /// its own entry, so guards may be dropped in any order (a pool thread releasing its
    /// guard after an outer stage installed a hook must not remove the hook).
    gates: SmallVec<[(GateToken, CancelGate); 1]>,
    next_token: GateToken,
    /// The outcome was recorded and the callbacks taken: later ones run at once.
    callbacks_closed: bool,
    /// Counts the job's driver task for its runtime ([`Runtime::task_count`]) until the
    /// driver ends. Kept here, not in the task, so a small job's task fits tokio's 128-byte
    /// size class; taken by whichever of [`Control::finish_task`] and [`Control::abandon`]
    /// ends the driver.
    ///
    /// [`Runtime::task_count`]: crate::Runtime::task_count
    tracked: Option<TaskTrackerToken>,
    /// Callbacks, parked items, a start panic.
    rare: Option<Box<Rare>>,
}

impl State {
    /// Moves the phase out of `Running`; a cancel is also flagged in `requests`, under the
    /// same lock, for [`Control::is_cancelled`].
    fn end(&mut self, phase: Phase, requests: &AtomicU64) {
        self.phase = phase;
        if phase == Phase::Cancelled {
            requests.fetch_or(CANCELLED, Ordering::Release);
        }
    }

    fn push_gate(&mut self, gate: CancelGate) -> GateToken {
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        self.gates.push((token, gate));
        token
    }

    /// Closes the callback list; returns the callbacks to run once the lock is released.
    fn take_callbacks(&mut self) -> Vec<Callback> {
        self.callbacks_closed = true;
        self.rare.as_mut().map(|r| std::mem::take(&mut r.callbacks)).unwrap_or_default()
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Default::default)
    }
}

pub(crate) struct Control {
    state: Mutex<State>,
    pub(crate) id: u64,
    /// Cancel requests that reached the job while it was running (see
    /// [`JobContext::cancel_requests`]), and in the top bits whether a base executor runs
    /// the job now (see [`Control::set_running`]), whether something is parked until that
    /// run ends, and whether the job was cancelled (a copy of the phase, set in the critical
    /// section that moves it to `Cancelled`, so asking needs no lock).
    requests: AtomicU64,
    /// The job's tracing span, entered by its driver task on every poll; boxed, and absent
    /// when job spans are disabled.
    span: Option<Box<tracing::Span>>,
}

/// The bit of [`Control::requests`] saying the job runs in its base executor.
const RUNNING: u64 = 1 << 63;
/// The bit of [`Control::requests`] saying something waits in `Rare::parked` for the run
/// to end.
const PARKED: u64 = 1 << 62;
/// The bit of [`Control::requests`] saying the phase is `Cancelled`.
const CANCELLED: u64 = 1 << 61;
/// The bits of [`Control::requests`] that are not the count of requests.
const FLAGS: u64 = RUNNING | PARKED | CANCELLED;

// A process-wide counter, not part of the state machine: always the standard atomic (loom's
// cannot live in a static).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Ids handed out per thread in blocks, so submitting threads do not contend on one
/// counter: unique in the process, increasing per thread.
fn next_id() -> u64 {
    const BLOCK: u64 = 1024;
    thread_local! {
        static RANGE: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }
    RANGE.with(|r| {
        let (mut next, mut end) = r.get();
        if next == end {
            next = NEXT_ID.fetch_add(BLOCK, std::sync::atomic::Ordering::Relaxed);
            end = next + BLOCK;
        }
        r.set((next + 1, end));
        next
    })
}

impl Control {
    /// The state of a job with no driver task of its own.
    pub(crate) fn new() -> Arc<Control> {
        Self::for_task(|_| tracing::Span::none(), None)
    }

    /// The state of a job driven by a task: `span` builds the job's span from its id, and
    /// `tracked` counts the task for its runtime until the driver ends.
    pub(crate) fn for_task(
        span: impl FnOnce(u64) -> tracing::Span,
        tracked: Option<TaskTrackerToken>,
    ) -> Arc<Control> {
        let id = next_id();
        let span = span(id);
        Arc::new(Control {
            state: Mutex::new(State {
                phase: Phase::Running,
                gates: SmallVec::new(),
                next_token: 0,
                callbacks_closed: false,
                tracked,
                rare: None,
            }),
            id,
            requests: AtomicU64::new(0),
            span: (!span.is_disabled()).then(|| Box::new(span)),
        })
    }

    /// The job's span, when job spans are enabled.
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.span.as_deref()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock, so poisoning cannot leave it inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn phase(&self) -> Phase {
        self.lock().phase
    }

    /// True once a cancel of this job was accepted. One atomic load; no lock.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.requests.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// How many cancel requests reached the job while it was running.
    pub(crate) fn cancel_requests(&self) -> u64 {
        self.requests.load(Ordering::Acquire) & !FLAGS
    }

    /// Records the outcome of the job and runs the done callbacks on it; returns what the
    /// handle resolves to.
    pub(crate) fn finish<T, E>(&self, result: Result<T, Error<E>>) -> Result<T, Error<E>>
    where
        T: 'static,
        E: 'static,
    {
        self.record(result, false).0
    }

    /// Records the outcome as [`finish`](Self::finish) does, for a driver task whose
    /// output keeps an error boxed, and takes the task's runtime count; see [`Finished`].
    pub(crate) fn finish_task<T, E>(&self, result: Result<T, Error<E>>) -> Finished<T, E>
    where
        T: 'static,
        E: 'static,
    {
        let (output, tracked) = self.record(result, true);
        Finished { output: output.map_err(Box::new), tracked }
    }

    /// Records `result` as the outcome unless a cancel was accepted first, and takes the
    /// driver task's runtime count in the same critical section when `untrack` is set. Done
    /// callbacks run after it, outside the lock.
    fn record<T, E>(
        &self,
        result: Result<T, Error<E>>,
        untrack: bool,
    ) -> (Result<T, Error<E>>, Option<TaskTrackerToken>)
    where
        T: 'static,
        E: 'static,
    {
        let mut st = self.lock();
        let tracked = if untrack { st.tracked.take() } else { None };
        let resolved = match st.phase {
            Phase::Running => {
                let phase =
                    if matches!(result, Err(Error::Cancelled)) { Phase::Cancelled } else { Phase::Done };
                st.end(phase, &self.requests);
                let cbs = st.take_callbacks();
                drop(st);
                if !cbs.is_empty() {
                    callbacks::run(self.id, cbs, Resolved::Value(&result));
                }
                result
            }
            Phase::Cancelled => Err(Error::Cancelled),
            Phase::Done => result,
        };
        (resolved, tracked)
    }

    /// Counts the job's driver task for its runtime, when the task is spawned after the
    /// job's state was created untracked (an inline executor's job that did not finish at
    /// once).
    pub(crate) fn track(&self, tracked: TaskTrackerToken) {
        self.lock().tracked = Some(tracked);
    }

    /// Keeps the panic of an async job's closure from the base executor's `call` until the
    /// first poll of the future it returned ([`take_start_panic`](Self::take_start_panic)).
    pub(crate) fn set_start_panic(&self, panic: Panic) {
        self.lock().rare().start_panic = Some(panic);
    }

    /// Takes what [`set_start_panic`](Self::set_start_panic) kept.
    pub(crate) fn take_start_panic(&self) -> Option<Panic> {
        self.lock().rare.as_mut().and_then(|r| r.start_panic.take())
    }

    /// The driver task ended without recording an outcome (it was dropped: its runtime
    /// shut down, or its job was cancelled). Records "shut down", which is what the handle
    /// resolves to, and runs the done callbacks on it; a cancelled job stays cancelled.
    pub(crate) fn abandon(&self) {
        let mut st = self.lock();
        let tracked = st.tracked.take();
        if st.phase != Phase::Running {
            drop(st);
            drop(tracked);
            return;
        }
        st.end(Phase::Done, &self.requests);
        let cbs = st.take_callbacks();
        drop(st);
        callbacks::run(self.id, cbs, Resolved::ShutDown);
        drop(tracked);
    }

    /// Registers a done callback; hands it back, with the phase, when the outcome was
    /// already recorded.
    pub(crate) fn add_callback(&self, cb: Callback) -> Result<(), (Callback, Phase)> {
        let mut st = self.lock();
        if st.callbacks_closed || st.phase != Phase::Running {
            let phase = st.phase;
            return Err((cb, phase));
        }
        st.rare().callbacks.push(cb);
        Ok(())
    }

    /// Marks whether a base executor is running the job now: set when the base executor
    /// starts it (an async job's first poll, a pool thread picking a blocking job up),
    /// cleared when that run ends. One atomic store; no lock.
    pub(crate) fn set_running(&self, running: bool) {
        if running {
            self.requests.fetch_or(RUNNING, Ordering::AcqRel);
        } else {
            let before = self.requests.fetch_and(!RUNNING, Ordering::SeqCst);
            if before & PARKED != 0 {
                self.release_parked();
            }
        }
    }

    /// Keeps `item` until the base executor's run of the job ends, and drops it at once when
    /// no run is in progress. Whichever of this and the run's end comes second drops it.
    pub(crate) fn hold_while_running<T: Send + 'static>(&self, item: T) {
        if self.requests.load(Ordering::SeqCst) & RUNNING == 0 {
            return;
        }
        {
            let mut st = self.lock();
            let rare = st.rare();
            rare.parked = Some(match rare.parked.take() {
                None => Box::new(item),
                Some(earlier) => Box::new((earlier, item)),
            });
        }
        self.requests.fetch_or(PARKED, Ordering::SeqCst);
        if self.requests.load(Ordering::SeqCst) & RUNNING == 0 {
            self.release_parked();
        }
    }

    fn release_parked(&self) {
        let parked = self.lock().rare.as_mut().and_then(|r| r.parked.take());
        drop(parked); // outside the lock: dropping may run other code (a slot's release)
    }

    /// [`set_running`](Self::set_running)`(true)` unless already set: one load per poll of
    /// a running job's future.
    pub(crate) fn mark_running(&self) {
        if self.requests.load(Ordering::Relaxed) & RUNNING == 0 {
            self.set_running(true);
        }
    }

    /// True while a base executor runs the job and the outcome is not recorded yet.
    pub(crate) fn is_running(&self) -> bool {
        self.requests.load(Ordering::Acquire) & RUNNING != 0 && self.phase() == Phase::Running
    }

    /// Records an abnormal end of the driver task (panic outside the job, or the runtime
    /// went away); returns what the handle resolves to. The driver's guard has normally
    /// recorded it already ([`abandon`](Self::abandon)); if not, the done callbacks see
    /// "shut down".
    pub(crate) fn finish_with<T, E>(&self, err: Error<E>) -> Result<T, Error<E>> {
        let mut st = self.lock();
        match st.phase {
            Phase::Running => {
                let phase = if matches!(err, Error::Cancelled) { Phase::Cancelled } else { Phase::Done };
                st.end(phase, &self.requests);
                let cbs = st.take_callbacks();
                drop(st);
                callbacks::run(self.id, cbs, Resolved::ShutDown);
                Err(err)
            }
            Phase::Cancelled => Err(Error::Cancelled),
            Phase::Done => Err(err),
        }
    }

    /// Tries to cancel. `abort` stops the driver task when the cancel is accepted.
    pub(crate) fn cancel_blocking(&self, abort: impl FnOnce()) -> bool {
        match self.cancel_step(abort) {
            Ok(answer) => answer,
            Err((fut, abort)) => self.complete_cancel(crate::handle::wait::block_on_cancel(fut), abort),
        }
    }

    /// Tries to cancel, awaiting an asynchronous cancel decision.
    pub(crate) async fn cancel_async(&self, abort: impl FnOnce()) -> bool {
        match self.cancel_step(abort) {
            Ok(answer) => answer,
            Err((fut, abort)) => self.complete_cancel(fut.await, abort),
        }
    }

    /// Tries to cancel without blocking: an asynchronous decision is awaited on `rt` and
    /// `abort` runs later if it approves. The answer is [`CancelDecision::Now`] when decided
    /// at once, else [`CancelDecision::Later`] with a future resolving to the final answer
    /// (dropping it does not withdraw the request; a runtime gone means refused).
    pub(crate) fn cancel_detached(
        self: &Arc<Self>,
        rt: &tokio::runtime::Handle,
        abort: impl FnOnce() + Send + 'static,
    ) -> CancelDecision {
        match self.cancel_step(abort) {
            Ok(answer) => CancelDecision::Now(answer),
            Err((fut, abort)) => {
                let ctl = self.clone();
                let deciding = rt.spawn(async move { ctl.complete_cancel(fut.await, abort) });
                CancelDecision::Later(Box::pin(async move { deciding.await.unwrap_or(false) }))
            }
        }
    }

    /// The part of a cancel that needs no waiting, shared by the three ways to cancel: the
    /// answer, or the stage's pending decision together with the `abort` to run once it
    /// approves (through [`complete_cancel`](Self::complete_cancel)).
    fn cancel_step<A: FnOnce()>(&self, abort: A) -> Result<bool, (CancelFuture, A)> {
        match self.begin_cancel() {
            Begin::Accepted(cbs) => {
                abort();
                self.run_cancelled(cbs);
                Ok(true)
            }
            Begin::Answered(answer) => Ok(answer),
            Begin::Ask(hook) => match run_hook(&hook) {
                CancelDecision::Now(approved) => Ok(self.complete_cancel(approved, abort)),
                CancelDecision::Later(fut) => Err((fut, abort)),
            },
        }
    }

    fn begin_cancel(&self) -> Begin {
        let mut st = self.lock();
        match st.phase {
            Phase::Done => Begin::Answered(false),
            Phase::Cancelled => Begin::Answered(true),
            Phase::Running => {
                self.requests.fetch_add(1, Ordering::AcqRel);
                match st.gates.last().map_or(&CancelGate::Allow, |(_, gate)| gate) {
                    CancelGate::Allow => {
                        st.end(Phase::Cancelled, &self.requests);
                        Begin::Accepted(st.take_callbacks())
                    }
                    CancelGate::Refuse => {
                        tracing::debug!(
                            job_id = self.id,
                            "cancel refused: the job cannot be interrupted now"
                        );
                        Begin::Answered(false)
                    }
                    CancelGate::Hook(h) => Begin::Ask(h.clone()),
                }
            }
        }
    }

    fn complete_cancel(&self, approved: bool, abort: impl FnOnce()) -> bool {
        if !approved {
            tracing::debug!(job_id = self.id, "cancel refused by the stage's cancel function");
            return false;
        }
        let mut st = self.lock();
        match st.phase {
            Phase::Running => {
                st.end(Phase::Cancelled, &self.requests);
                let cbs = st.take_callbacks();
                drop(st);
                abort();
                self.run_cancelled(cbs);
                true
            }
            Phase::Cancelled => true,
            Phase::Done => false,
        }
    }

    fn run_cancelled(&self, cbs: Vec<Callback>) {
        if !cbs.is_empty() {
            callbacks::run(self.id, cbs, Resolved::Cancelled);
        }
    }

    pub(crate) fn push_gate(&self, gate: CancelGate) -> GateToken {
        self.lock().push_gate(gate)
    }

    pub(crate) fn remove_gate(&self, token: GateToken) {
        let mut st = self.lock();
        if let Some(i) = st.gates.iter().rposition(|(t, _)| *t == token) {
            // Dropped outside the lock: a hook may own handles whose drop takes other locks.
            let (_, gate) = st.gates.remove(i);
            drop(st);
            drop(gate);
        }
    }

    /// Moves a running job into an uncancellable stage; `None` when it was already
    /// cancelled (or finished).
    pub(crate) fn begin_uncancellable(&self) -> Option<GateToken> {
        let mut st = self.lock();
        if st.phase != Phase::Running {
            return None;
        }
        Some(st.push_gate(CancelGate::Refuse))
    }
}

/// What a driver task learns when it records its job's outcome
/// ([`Control::finish_task`]).
pub(crate) struct Finished<T, E> {
    /// What the handle resolves to, the error boxed: the task's output stays a word
    /// larger than the value, so the task of a small job fits tokio's 128-byte size class.
    pub(crate) output: Result<T, Box<Error<E>>>,
    /// The runtime's count of the driver task, to drop once the job's stage is dropped.
    pub(crate) tracked: Option<TaskTrackerToken>,
}

enum Begin {
    /// This request moved the job to `Cancelled`: the caller runs its abort action, then
    /// the done callbacks taken in the same critical section.
    Accepted(Vec<Callback>),
    /// Decided without a transition: refused, already finished, or already cancelled (the
    /// abort action ran for the request that cancelled it).
    Answered(bool),
    /// The newest gate is a hook: ask it outside the lock, then `complete_cancel`.
    Ask(Arc<dyn CancelHook>),
}

fn run_hook(hook: &Arc<dyn CancelHook>) -> CancelDecision {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook.decide())) {
        Ok(d) => d,
        Err(p) => {
            tracing::error!(panic = %Panic::from_payload(&*p), "cancel function panicked; the cancel is refused");
            CancelDecision::Now(false)
        }
    }
}
