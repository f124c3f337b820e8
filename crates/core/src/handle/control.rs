//! The per-job state machine shared by a handle, its driver task and the stages of a stack.
//!
//! Exactly-once resolution is decided here: the first of "the job finished" and "cancel was
//! accepted" moves the phase out of `Running` under the lock, and the loser observes it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use smallvec::SmallVec;

use crate::sync::{AtomicU64, Mutex, MutexGuard};

use super::callbacks::{self, Callback, Resolved};

use crate::error::{Error, panic_message};

/// Where a job's life stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    Done,
    Cancelled,
}

/// A stage's answer to "may this job be cancelled now?".
///
/// A stage installs a gate with [`JobContext::set_gate`] while the job is in it; the gate of
/// the innermost active stage decides a cancel request.
#[derive(Clone)]
pub enum CancelGate {
    /// Cancel succeeds at once: the job's future is dropped (the default).
    Allow,
    /// Cancel is refused (for example, a blocking job already running on a thread).
    Refuse,
    /// A user-supplied decision (for example, the poll layer's cancel function).
    Hook(Arc<dyn CancelHook>),
}

impl fmt::Debug for CancelGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelGate::Allow => f.write_str("Allow"),
            CancelGate::Refuse => f.write_str("Refuse"),
            CancelGate::Hook(_) => f.write_str("Hook(..)"),
        }
    }
}

/// A future deciding a cancel request asynchronously.
pub type CancelFuture = Pin<Box<dyn Future<Output = bool> + Send + 'static>>;

/// How a [`CancelHook`] answers.
pub enum CancelDecision {
    /// Decided on the spot: `true` lets the cancel go ahead.
    Now(bool),
    /// Decided by a future (for example, an HTTP request to the remote service). `cancel()`
    /// blocks the calling thread on it; `cancel_async()` awaits it.
    Later(CancelFuture),
}

impl fmt::Debug for CancelDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelDecision::Now(b) => f.debug_tuple("Now").field(b).finish(),
            CancelDecision::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// A stage's cancel decision, called when someone cancels a handle while the job is in
/// that stage. It may run on any thread and must not block for long; a panic in it refuses
/// the cancel and is logged.
pub trait CancelHook: Send + Sync + 'static {
    /// Decides whether the job may be cancelled now.
    fn decide(&self) -> CancelDecision;
}

impl<F> CancelHook for F
where
    F: Fn() -> CancelDecision + Send + Sync + 'static,
{
    fn decide(&self) -> CancelDecision {
        self()
    }
}

/// Done callbacks, boxed behind one pointer: most jobs register none, and the per-job
/// state stays a pointer larger instead of a `Vec` larger.
#[derive(Default)]
struct CallbackList(Vec<Callback>);

struct State {
    phase: Phase,
    /// The gates installed by the stages, oldest first, each with its guard's token. The
    /// newest one decides a cancel; none means [`CancelGate::Allow`]. A guard removes only
    /// its own entry, so guards may be dropped in any order (a pool thread releasing its
    /// guard after an outer stage installed a hook must not remove the hook).
    gates: SmallVec<[(u64, CancelGate); 1]>,
    next_token: u64,
    /// Done callbacks waiting for the outcome; taken (and the list closed) in the same
    /// critical section that moves the phase out of `Running`.
    callbacks: Option<Box<CallbackList>>,
    /// The outcome was recorded and the callbacks taken: later ones run at once.
    callbacks_closed: bool,
    /// What a stage keeps until the base executor's run of the job ends (a concurrency
    /// limit's slot, when a timeout resolved the job while its thread still runs).
    /// Boxed twice so the field is one pointer wide in every job's state; parking is rare.
    parked: Option<Box<Box<dyn Send>>>,
}

impl State {
    fn push_gate(&mut self, gate: CancelGate) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        self.gates.push((token, gate));
        token
    }

    /// Closes the callback list; returns the callbacks to run once the lock is released.
    fn take_callbacks(&mut self) -> Vec<Callback> {
        self.callbacks_closed = true;
        self.callbacks.take().map(|b| b.0).unwrap_or_default()
    }
}

pub(crate) struct Control {
    state: Mutex<State>,
    id: u64,
    /// Cancel requests that reached the job while it was running (see
    /// [`JobContext::cancel_requests`]), and in the top bit whether a base executor runs
    /// the job now (see [`Control::set_running`]).
    requests: AtomicU64,
}

/// The bit of [`Control::requests`] saying the job runs in its base executor.
const RUNNING: u64 = 1 << 63;
/// The bit of [`Control::requests`] saying something waits in `State::parked` for the run
/// to end.
const PARKED: u64 = 1 << 62;

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
    pub(crate) fn new() -> Arc<Control> {
        Arc::new(Control {
            state: Mutex::new(State {
                phase: Phase::Running,
                gates: SmallVec::new(),
                next_token: 0,
                callbacks: None,
                callbacks_closed: false,
                parked: None,
            }),
            id: next_id(),
            requests: AtomicU64::new(0),
        })
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

    /// Records the outcome of the job and runs the done callbacks on it; returns what the
    /// handle resolves to.
    pub(crate) fn finish<T, E>(&self, result: Result<T, Error<E>>) -> Result<T, Error<E>>
    where
        T: 'static,
        E: 'static,
    {
        let mut st = self.lock();
        match st.phase {
            Phase::Running => {
                st.phase =
                    if matches!(result, Err(Error::Cancelled)) { Phase::Cancelled } else { Phase::Done };
                let cbs = st.take_callbacks();
                drop(st);
                if !cbs.is_empty() {
                    callbacks::run(self.id, cbs, Resolved::Value(&result));
                }
                result
            }
            Phase::Cancelled => Err(Error::Cancelled),
            Phase::Done => result,
        }
    }

    /// The driver task ended without recording an outcome (it was dropped: its runtime
    /// shut down). Records "shut down", which is what the handle resolves to, and runs the
    /// done callbacks on it.
    pub(crate) fn abandon(&self) {
        let mut st = self.lock();
        if st.phase != Phase::Running {
            return;
        }
        st.phase = Phase::Done;
        let cbs = st.take_callbacks();
        drop(st);
        callbacks::run(self.id, cbs, Resolved::ShutDown);
    }

    /// Registers a done callback; hands it back, with the phase, when the outcome was
    /// already recorded.
    pub(crate) fn add_callback(&self, cb: Callback) -> Result<(), (Callback, Phase)> {
        let mut st = self.lock();
        if st.callbacks_closed || st.phase != Phase::Running {
            let phase = st.phase;
            return Err((cb, phase));
        }
        st.callbacks.get_or_insert_with(Default::default).0.push(cb);
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
            let item: Box<dyn Send> = match st.parked.take() {
                None => Box::new(item),
                Some(earlier) => Box::new((earlier, item)),
            };
            st.parked = Some(Box::new(item));
        }
        self.requests.fetch_or(PARKED, Ordering::SeqCst);
        if self.requests.load(Ordering::SeqCst) & RUNNING == 0 {
            self.release_parked();
        }
    }

    fn release_parked(&self) {
        let parked = self.lock().parked.take();
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
                st.phase = if matches!(err, Error::Cancelled) { Phase::Cancelled } else { Phase::Done };
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
        match self.begin_cancel() {
            Begin::Accepted(cbs) => {
                abort();
                self.run_cancelled(cbs);
                true
            }
            Begin::Answered(b) => b,
            Begin::Ask(hook) => {
                let ok = match run_hook(&hook) {
                    CancelDecision::Now(b) => b,
                    CancelDecision::Later(fut) => crate::handle::wait::block_on_cancel(fut),
                };
                self.complete_cancel(ok, abort)
            }
        }
    }

    /// Tries to cancel, awaiting an asynchronous cancel decision.
    pub(crate) async fn cancel_async(&self, abort: impl FnOnce()) -> bool {
        match self.begin_cancel() {
            Begin::Accepted(cbs) => {
                abort();
                self.run_cancelled(cbs);
                true
            }
            Begin::Answered(b) => b,
            Begin::Ask(hook) => {
                let ok = match run_hook(&hook) {
                    CancelDecision::Now(b) => b,
                    CancelDecision::Later(fut) => fut.await,
                };
                self.complete_cancel(ok, abort)
            }
        }
    }

    /// Tries to cancel without blocking: an asynchronous decision is awaited on `rt` and
    /// `abort` runs later if it approves. Returns `Ok(accepted)` when decided at once, else
    /// the task deciding, which resolves to the final answer.
    pub(crate) fn cancel_detached(
        self: &Arc<Self>,
        rt: &tokio::runtime::Handle,
        abort: impl FnOnce() + Send + 'static,
    ) -> Result<bool, tokio::task::JoinHandle<bool>> {
        match self.begin_cancel() {
            Begin::Accepted(cbs) => {
                abort();
                self.run_cancelled(cbs);
                Ok(true)
            }
            Begin::Answered(b) => Ok(b),
            Begin::Ask(hook) => match run_hook(&hook) {
                CancelDecision::Now(b) => Ok(self.complete_cancel(b, abort)),
                CancelDecision::Later(fut) => {
                    let ctl = self.clone();
                    Err(rt.spawn(async move { ctl.complete_cancel(fut.await, abort) }))
                }
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
                        st.phase = Phase::Cancelled;
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
                st.phase = Phase::Cancelled;
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

    fn push_gate(&self, gate: CancelGate) -> u64 {
        self.lock().push_gate(gate)
    }

    fn remove_gate(&self, token: u64) {
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
    fn begin_uncancellable(&self) -> Option<u64> {
        let mut st = self.lock();
        if st.phase != Phase::Running {
            return None;
        }
        Some(st.push_gate(CancelGate::Refuse))
    }
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
            tracing::error!(panic = %panic_message(&*p), "cancel function panicked; the cancel is refused");
            CancelDecision::Now(false)
        }
    }
}

/// The job's side of its handle, given to every stage of a stack when the job is submitted.
///
/// Stages use it to say how a cancel request is decided while the job is with them
/// ([`set_gate`](Self::set_gate)) and to learn whether the job was cancelled
/// ([`is_cancelled`](Self::is_cancelled)). Cloning it is cheap.
///
/// ```
/// use more_executors_core::{CancelGate, JobContext};
///
/// let ctx = JobContext::detached();
/// {
///     let _guard = ctx.set_gate(CancelGate::Refuse);
///     // while the guard lives, cancel requests are refused
/// }
/// assert!(!ctx.is_cancelled());
/// ```
#[derive(Clone)]
pub struct JobContext {
    pub(crate) ctl: Arc<Control>,
}

impl fmt::Debug for JobContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobContext").field("id", &self.ctl.id).field("phase", &self.ctl.phase()).finish()
    }
}

impl JobContext {
    pub(crate) fn new(ctl: Arc<Control>) -> Self {
        JobContext { ctl }
    }

    /// A context not attached to any handle, for driving a stage future by hand (tests,
    /// benchmarks, custom executors).
    pub fn detached() -> Self {
        JobContext { ctl: Control::new() }
    }

    /// The job's id, unique in this process; it appears in tracing spans.
    pub fn id(&self) -> u64 {
        self.ctl.id
    }

    /// True once a cancel of this job was accepted.
    pub fn is_cancelled(&self) -> bool {
        self.ctl.phase() == Phase::Cancelled
    }

    /// Installs `gate` as the cancel rule while the returned guard lives. Gates stack: the
    /// most recently installed gate whose guard is still alive decides, so the stage the job
    /// entered last (the innermost active one) decides. Dropping a guard removes only its
    /// own gate, whatever the order guards are dropped in.
    pub fn set_gate(&self, gate: CancelGate) -> GateGuard {
        GateGuard { token: self.ctl.push_gate(gate), ctl: self.ctl.clone() }
    }

    /// Cancels the job from inside its stack (for example, on shutdown), following the same
    /// rules as [`Handle::cancel`](crate::Handle::cancel) but never blocking: when the
    /// current stage decides asynchronously, the decision is awaited on `runtime`.
    ///
    /// `on_cancel` runs once the cancel is accepted; the stage calling this must then
    /// resolve (for example, wake its future, which returns
    /// [`Error::Cancelled`](crate::Error::Cancelled)). Returns `Some(accepted)` when decided
    /// at once, `None` when the decision is pending.
    pub fn cancel_from_stage(
        &self,
        runtime: &crate::Runtime,
        on_cancel: impl FnOnce() + Send + 'static,
    ) -> Option<bool> {
        self.ctl.cancel_detached(runtime.handle(), on_cancel).ok()
    }

    /// How many cancel requests reached this job while it was running, whatever their
    /// outcome (accepted, refused, or still being decided). A stage that runs inner stages
    /// one after another (retry) compares two readings to learn that a cancel was refused
    /// in between: a request that was accepted would have dropped the stage instead.
    ///
    /// ```
    /// use more_executors_core::JobContext;
    /// assert_eq!(JobContext::detached().cancel_requests(), 0);
    /// ```
    pub fn cancel_requests(&self) -> u64 {
        self.ctl.requests.load(Ordering::Acquire) & !(RUNNING | PARKED)
    }

    /// Keeps `item` until the base executor's run of this job ends, or drops it at once when
    /// the job is not running (see [`Handle::is_running`](crate::Handle::is_running)).
    ///
    /// For a stage that must hold a resource as long as the job's body really runs, even
    /// after the stage itself resolved: a concurrency limit keeps a timed-out blocking job's
    /// slot this way until its thread returns. Costs one atomic load when the job is not
    /// running; otherwise one allocation.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use more_executors_core::JobContext;
    ///
    /// let resource = Arc::new(());
    /// JobContext::detached().hold_while_running(resource.clone());
    /// assert_eq!(Arc::strong_count(&resource), 1, "not running: dropped at once");
    /// ```
    pub fn hold_while_running<T: Send + 'static>(&self, item: T) {
        self.ctl.hold_while_running(item);
    }

    /// Atomically checks that the job was not cancelled and refuses cancels from now on,
    /// until the guard is dropped. `None` means the job was cancelled first and must not
    /// start. Used by executors whose running jobs cannot be interrupted.
    pub fn begin_uncancellable(&self) -> Option<GateGuard> {
        self.ctl.begin_uncancellable().map(|token| GateGuard { ctl: self.ctl.clone(), token })
    }
}

/// Removes its gate when dropped. See [`JobContext::set_gate`].
#[must_use = "the gate is removed when the guard is dropped"]
pub struct GateGuard {
    ctl: Arc<Control>,
    token: u64,
}

impl fmt::Debug for GateGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateGuard").field("job_id", &self.ctl.id).field("token", &self.token).finish()
    }
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.ctl.remove_gate(self.token);
    }
}

/// Model checks of the state machine with [loom](https://docs.rs/loom): every interleaving
/// of the threads below is explored (no preemption bound is set, so the search is
/// exhaustive). Run with
/// `RUSTFLAGS="--cfg loom" cargo test --release -p more-executors-core --lib loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use std::sync::Arc;

    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use loom::thread;

    use super::*;

    fn counting_hook(calls: Arc<AtomicUsize>, approve: bool) -> CancelGate {
        CancelGate::Hook(Arc::new(move || {
            calls.fetch_add(1, SeqCst);
            CancelDecision::Now(approve)
        }))
    }

    /// (p) A stage parks an item while the job's run ends on another thread: the item is
    /// dropped exactly once, and never before the run ended.
    #[test]
    fn loom_hold_while_running_races_the_run_ending() {
        loom::model(|| {
            struct Item(Arc<AtomicUsize>, Arc<AtomicBool>);
            impl Drop for Item {
                fn drop(&mut self) {
                    assert!(self.1.load(SeqCst), "dropped while the job still ran");
                    self.0.fetch_add(1, SeqCst);
                }
            }
            let ctl = Control::new();
            ctl.set_running(true);
            let (drops, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
            let (c, e) = (ctl.clone(), ended.clone());
            let runner = thread::spawn(move || {
                e.store(true, SeqCst);
                c.set_running(false);
            });
            ctl.hold_while_running(Item(drops.clone(), ended.clone()));
            runner.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1, "dropped exactly once, by whichever came second");
        });
    }

    /// (a) The job finishing races a cancel: exactly one wins; `cancel()` returns true iff
    /// the handle resolves cancelled, the driver is aborted iff the cancel won, and later
    /// cancels agree.
    #[test]
    fn loom_finish_races_cancel() {
        loom::model(|| {
            let ctl = Control::new();
            let aborted = Arc::new(AtomicBool::new(false));
            let (c, a) = (ctl.clone(), aborted.clone());
            let canceller = thread::spawn(move || c.cancel_blocking(|| a.store(true, SeqCst)));
            let resolved = ctl.finish::<u32, ()>(Ok(7));
            let cancelled = canceller.join().unwrap();
            match resolved {
                Err(Error::Cancelled) => assert!(cancelled, "resolved cancelled, but cancel() said no"),
                Ok(7) => assert!(!cancelled, "cancel() said yes, but the job's value was delivered"),
                other => panic!("unexpected resolution {other:?}"),
            }
            assert_eq!(aborted.load(SeqCst), cancelled, "abort runs exactly when the cancel wins");
            assert_eq!(ctl.phase(), if cancelled { Phase::Cancelled } else { Phase::Done });
            assert_eq!(ctl.cancel_blocking(|| ()), cancelled, "a later cancel gives the same answer");
        });
    }

    /// (a') Two cancellers and the job's end, all at once: both cancels give the same
    /// answer, and it matches the resolution.
    #[test]
    fn loom_two_cancels_race_finish() {
        loom::model(|| {
            let ctl = Control::new();
            let aborts = Arc::new(AtomicUsize::new(0));
            let spawn_cancel = |ctl: &Arc<Control>| {
                let (c, a) = (ctl.clone(), aborts.clone());
                thread::spawn(move || {
                    c.cancel_blocking(|| {
                        a.fetch_add(1, SeqCst);
                    })
                })
            };
            let t1 = spawn_cancel(&ctl);
            let t2 = spawn_cancel(&ctl);
            let resolved = ctl.finish::<u32, ()>(Ok(1));
            let (c1, c2) = (t1.join().unwrap(), t2.join().unwrap());
            assert_eq!(c1, c2, "concurrent cancels disagree");
            assert_eq!(c1, resolved == Err(Error::Cancelled));
            assert!(aborts.load(SeqCst) <= 1, "the driver is aborted at most once");
            assert_eq!(aborts.load(SeqCst) == 1, c1);
        });
    }

    /// (b) A blocking executor starting the job races a cancel. The pool thread checks in
    /// with `begin_uncancellable` and keeps the guard until the result is recorded. Either
    /// the job never starts and the cancel succeeds, or it runs, the cancel is refused and
    /// the value is delivered.
    #[test]
    fn loom_begin_uncancellable_races_cancel() {
        loom::model(|| {
            let ctl = Control::new();
            let ctx = JobContext::new(ctl.clone());
            let pool = thread::spawn(move || match ctx.begin_uncancellable() {
                Some(running) => {
                    let resolved = ctx.ctl.finish::<u32, ()>(Ok(3));
                    drop(running);
                    Some(resolved)
                }
                None => None,
            });
            let cancelled = ctl.cancel_blocking(|| ());
            match pool.join().unwrap() {
                None => {
                    assert!(cancelled, "the job was skipped but the cancel was refused");
                    assert_eq!(ctl.finish::<u32, ()>(Err(Error::Cancelled)), Err(Error::Cancelled));
                }
                Some(resolved) => {
                    assert!(!cancelled, "the job ran but the cancel was accepted");
                    assert_eq!(resolved, Ok(3));
                }
            }
        });
    }

    /// (c) A stage installs a cancel hook while the guard of an earlier stage (a pool
    /// thread's uncancellable guard) is released on another thread, and a cancel arrives.
    /// The newest gate decides however the guards are released, and once every guard is
    /// gone the job is cancellable again.
    #[test]
    fn loom_gate_changes_race() {
        loom::model(|| {
            let ctl = Control::new();
            let ctx = JobContext::new(ctl.clone());
            let running = ctx.begin_uncancellable().expect("not cancelled yet");
            let pool = thread::spawn(move || drop(running));
            let calls = Arc::new(AtomicUsize::new(0));
            let hook = ctx.set_gate(counting_hook(calls.clone(), false));
            let cancelled = ctl.cancel_blocking(|| ());
            assert!(!cancelled, "the hook refuses: the cancel must be refused");
            assert_eq!(calls.load(SeqCst), 1, "the newest gate (the hook) must decide");
            drop(hook);
            pool.join().unwrap();
            assert!(ctl.cancel_blocking(|| ()), "with no gate left, cancel is allowed");
        });
    }

    /// (c') Installing and removing a hook races a cancel: the cancel is decided by the
    /// hook exactly when it lands while the hook is installed, and otherwise accepted.
    #[test]
    fn loom_hook_install_races_cancel() {
        loom::model(|| {
            let ctl = Control::new();
            let ctx = JobContext::new(ctl.clone());
            let calls = Arc::new(AtomicUsize::new(0));
            let cl = calls.clone();
            let stage = thread::spawn(move || {
                let guard = ctx.set_gate(counting_hook(cl, false));
                drop(guard);
            });
            let cancelled = ctl.cancel_blocking(|| ());
            stage.join().unwrap();
            let asked = calls.load(SeqCst);
            assert!(asked <= 1);
            assert_eq!(cancelled, asked == 0, "refused exactly when the (refusing) hook was asked");
            assert_eq!(ctl.phase() == Phase::Cancelled, cancelled);
        });
    }

    /// (e) The whole hand-over from a blocking first step to a flat_map second step that
    /// returned a handle (guards installed and released in the order the stage futures
    /// do it), racing a cancel: an accepted cancel either stopped the job before it started
    /// or went through the second step's hook (so the inner handle was cancelled too); it
    /// never lands in a gap where the job is cancelled but the inner handle is not.
    #[test]
    fn loom_blocking_then_flat_map_races_cancel() {
        loom::model(|| {
            let ctl = Control::new();
            let ctx = JobContext::new(ctl.clone());
            let calls = Arc::new(AtomicUsize::new(0));
            let c = ctl.clone();
            let canceller = thread::spawn(move || c.cancel_blocking(|| ()));
            let (started, resolved) = match ctx.begin_uncancellable() {
                None => (false, ctl.finish::<u32, ()>(Err(Error::Cancelled))),
                Some(first_step) => {
                    // flat_map: refuse while its function runs, install the returned
                    // handle's hook, drop the first step, then the refusal.
                    let calling = ctx.set_gate(CancelGate::Refuse);
                    let hook = ctx.set_gate(counting_hook(calls.clone(), true));
                    drop(first_step);
                    drop(calling);
                    let resolved = ctl.finish::<u32, ()>(Ok(1));
                    drop(hook);
                    (true, resolved)
                }
            };
            let cancelled = canceller.join().unwrap();
            assert_eq!(cancelled, resolved == Err(Error::Cancelled));
            if cancelled && started {
                assert_eq!(calls.load(SeqCst), 1, "accepted without asking the second step's handle");
            }
            if !started {
                assert!(cancelled);
            }
        });
    }

    /// (f) A done callback is registered while the job finishes and a cancel arrives: the
    /// callback runs exactly once, with the outcome the handle resolves to (a registration
    /// that loses the race is handed back with the phase, and its caller runs it).
    #[test]
    fn loom_callback_registration_races_finish_and_cancel() {
        loom::model(|| {
            let ctl = Control::new();
            let calls = Arc::new(AtomicUsize::new(0));
            let saw_cancel = Arc::new(AtomicBool::new(false));
            let (c, k) = (calls.clone(), saw_cancel.clone());
            let cb = crate::handle::callbacks::erase::<u32, (), _>(move |r| {
                c.fetch_add(1, SeqCst);
                k.store(matches!(r, Err(Error::Cancelled)), SeqCst);
            });
            let (registrar, canceller) = (ctl.clone(), ctl.clone());
            let reg = thread::spawn(move || match registrar.add_callback(cb) {
                Ok(()) => None,
                Err((cb, phase)) => Some((cb, phase)),
            });
            let can = thread::spawn(move || canceller.cancel_blocking(|| ()));
            let resolved = ctl.finish::<u32, ()>(Ok(5));
            if let Some((cb, phase)) = reg.join().unwrap() {
                // The registration lost: run it as `Handle::on_done` does.
                let r = if phase == Phase::Cancelled { Err(Error::Cancelled) } else { resolved.clone() };
                crate::handle::callbacks::run_one(ctl.id(), cb, Resolved::Value(&r));
            }
            let cancelled = can.join().unwrap();
            assert_eq!(calls.load(SeqCst), 1, "the callback ran exactly once");
            assert_eq!(saw_cancel.load(SeqCst), cancelled, "it saw the outcome the handle has");
            assert_eq!(cancelled, resolved == Err(Error::Cancelled));
        });
    }

    /// (d) A hook approves a cancel while the job finishes: the two-step cancel (ask the
    /// hook outside the lock, then complete) still yields exactly one outcome.
    #[test]
    fn loom_hook_approval_races_finish() {
        loom::model(|| {
            let ctl = Control::new();
            let ctx = JobContext::new(ctl.clone());
            let calls = Arc::new(AtomicUsize::new(0));
            let _hook = ctx.set_gate(counting_hook(calls.clone(), true));
            let c = ctl.clone();
            let aborted = Arc::new(AtomicBool::new(false));
            let a = aborted.clone();
            let canceller = thread::spawn(move || c.cancel_blocking(|| a.store(true, SeqCst)));
            let resolved = ctl.finish::<u32, ()>(Ok(9));
            let cancelled = canceller.join().unwrap();
            assert_eq!(cancelled, resolved == Err(Error::Cancelled));
            assert_eq!(cancelled, aborted.load(SeqCst));
            if cancelled {
                assert_eq!(calls.load(SeqCst), 1, "an accepted cancel was approved by the hook");
            }
        });
    }
}
