//! The poll set of one executor: registered futures in a slab, the poll task's schedule,
//! cancel hooks and shutdown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use more_executors_core::metrics::{Counter, Gauge};
use more_executors_core::stage::{CancelDecision, CancelHook, Panic, catch_panic, deadline_after};
use more_executors_core::{Error, Runtime};
use slab::Slab;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::descriptor::Node;
use crate::poller::{CancelFn, Poller};
use crate::sync::{Mutex, MutexGuard, Ordering};

/// Timing settings of a poll executor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) default_interval: Duration,
    pub(crate) first_poll_delay: Duration,
}

/// Everything one poll executor shares between its handle(s), the stage futures of its
/// jobs, cancel hooks and its poll task.
pub(crate) struct Shared<I, T, E> {
    state: Mutex<State<I, T, E>>,
    /// Wakes the poll task early (a registration moved the schedule, or `notify()`).
    pub(crate) wake: Notify,
    /// Cancelled on shutdown: stops the poll task, even in the middle of a poll call.
    pub(crate) stop: CancellationToken,
    pub(crate) poller: Arc<dyn Poller<I, T, E>>,
    pub(crate) cancel: Option<CancelFn<I, E>>,
    pub(crate) timing: Timing,
    pub(crate) runtime: Runtime,
    /// The executor's name and metrics, fixed at construction.
    ident: Ident,
    /// Called when a stage future is dropped while still in the set ([`abandoned`]); a
    /// function pointer so the stage future's `Drop` needs no trait bounds.
    pub(crate) on_abandon: AbandonFn<I, T, E>,
}

/// See [`Shared::on_abandon`].
pub(crate) type AbandonFn<I, T, E> = fn(&Shared<I, T, E>, &Arc<Node<I, T, E>>);

/// The executor's name and the metrics labelled with it.
#[derive(Clone)]
pub(crate) struct Ident {
    pub(crate) name: Arc<str>,
    pub(crate) metrics: PollMetrics,
}

/// `more_executors_poll_total` (poll calls), `_poll_error_total` (calls that failed or
/// panicked) and `_poll_time_total` (seconds spent in poll calls), labelled `executor`.
#[derive(Clone)]
pub(crate) struct PollMetrics {
    pub(crate) polls: Counter,
    pub(crate) errors: Counter,
    pub(crate) time: Gauge,
}

impl PollMetrics {
    fn new(executor: &str) -> Self {
        PollMetrics {
            polls: Counter::new("more_executors_poll_total", executor),
            errors: Counter::new("more_executors_poll_error_total", executor),
            time: Gauge::new("more_executors_poll_time_total", executor),
        }
    }
}

impl Ident {
    fn new(name: Arc<str>) -> Self {
        Ident { metrics: PollMetrics::new(&name), name }
    }
}

pub(crate) struct State<I, T, E> {
    pub(crate) entries: Slab<Arc<Node<I, T, E>>>,
    /// True while a poll task exists for this set.
    pub(crate) task_running: bool,
    pub(crate) shut_down: bool,
    /// The latest time the next poll may start because of futures registered since the
    /// last poll started (registration time + first-poll delay of the earliest one).
    pub(crate) first_poll_due: Option<Instant>,
    /// `notify()` was called since the last poll started.
    pub(crate) notified: bool,
    /// Poll calls started (for introspection and tests).
    pub(crate) polls: u64,
}

impl<I, T, E> fmt::Debug for Shared<I, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("PollSet")
            .field("pending", &st.entries.len())
            .field("task_running", &st.task_running)
            .field("shut_down", &st.shut_down)
            .finish()
    }
}

impl<I, T, E> Shared<I, T, E> {
    pub(crate) fn new(
        poller: Arc<dyn Poller<I, T, E>>,
        cancel: Option<CancelFn<I, E>>,
        timing: Timing,
        runtime: Runtime,
        name: Arc<str>,
    ) -> Self
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
        E: fmt::Debug + Send + 'static,
    {
        Shared {
            state: Mutex::new(State {
                entries: Slab::new(),
                task_running: false,
                shut_down: false,
                first_poll_due: None,
                notified: false,
                polls: 0,
            }),
            wake: Notify::new(),
            stop: CancellationToken::new(),
            poller,
            cancel,
            timing,
            runtime,
            ident: Ident::new(name),
            on_abandon: abandoned::<I, T, E>,
        }
    }

    /// Adds a future to the poll set, starting the poll task if none runs. `None` when the
    /// executor is shut down (the future must then fail with `ShutDown`).
    pub(crate) fn register(self: &Arc<Self>, node: &Arc<Node<I, T, E>>) -> Option<usize>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
        E: Clone + fmt::Debug + Send + 'static,
    {
        let mut st = self.lock();
        if st.shut_down {
            return None;
        }
        let key = st.entries.insert(node.clone());
        let mut wake = false;
        if st.first_poll_due.is_none() {
            // The first registration since the last poll started sets the deadline; later
            // ones are registered after it, so their deadline is later and changes nothing.
            st.first_poll_due = Some(deadline_after(Instant::now(), self.timing.first_poll_delay));
            wake = true;
        }
        if !st.task_running {
            st.task_running = true;
            wake = false;
            self.runtime.spawn(crate::task::run(self.clone()));
        }
        drop(st);
        if wake {
            self.wake.notify_one();
        }
        Some(key)
    }

    /// True when `node` is in the poll set.
    pub(crate) fn contains(&self, key: usize, node: &Arc<Node<I, T, E>>) -> bool {
        self.lock().entries.get(key).is_some_and(|n| Arc::ptr_eq(n, node))
    }

    /// Asks for a poll as soon as possible (no-op while the set is empty).
    pub(crate) fn notify(&self) {
        let mut st = self.lock();
        if st.entries.is_empty() || st.shut_down {
            return;
        }
        st.notified = true;
        drop(st);
        self.wake.notify_one();
    }

    /// Resolves every future in the set to `ShutDown` and stops the poll task. Returns how
    /// many futures it resolved.
    pub(crate) fn shutdown(&self) -> usize {
        let drained: Vec<Arc<Node<I, T, E>>> = {
            let mut st = self.lock();
            if st.shut_down {
                return 0;
            }
            st.shut_down = true;
            st.first_poll_due = None;
            st.notified = false;
            st.entries.drain().collect()
        };
        self.stop.cancel();
        let n = drained.len();
        for node in drained {
            node.complete(Err(Error::ShutDown));
        }
        n
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<I, T, E>> {
        // No user code runs under this lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn name(&self) -> Arc<str> {
        self.ident.name.clone()
    }

    /// The name and metrics.
    pub(crate) fn ident(&self) -> &Ident {
        &self.ident
    }

    /// Removes a future whose cancel was approved and resolves it to `Cancelled`. False
    /// when it had already left the set (resolved by a poll, or shut down): the cancel is
    /// then refused, since the future has its result. True when an earlier approved cancel
    /// removed it, so every cancel request agrees with the handle's `Cancelled` result.
    ///
    /// The flag is set under the set's lock, in the same critical section as the removal:
    /// a concurrent request that finds the node gone (its `contains` or `remove` takes the
    /// lock) then also finds the flag set, so it cannot answer `false` for a cancelled node.
    fn remove_cancelled(&self, key: usize, node: &Arc<Node<I, T, E>>) -> bool {
        let removed = {
            let mut st = self.lock();
            let removed = remove_locked(&mut st, key, node);
            if removed {
                node.cancelled.store(true, Ordering::Release);
            }
            removed
        };
        if removed {
            node.complete(Err(Error::Cancelled));
            true
        } else {
            node.cancelled.load(Ordering::Acquire)
        }
    }
}

pub(crate) fn remove_locked<I, T, E>(st: &mut State<I, T, E>, key: usize, node: &Arc<Node<I, T, E>>) -> bool {
    if st.entries.get(key).is_some_and(|n| Arc::ptr_eq(n, node)) {
        st.entries.remove(key);
        true
    } else {
        false
    }
}

/// The cancel gate installed while a future is in the poll set: asks the cancel function.
pub(crate) struct Hook<I, T, E> {
    pub(crate) shared: Arc<Shared<I, T, E>>,
    pub(crate) node: Arc<Node<I, T, E>>,
    pub(crate) key: usize,
}

impl<I, T, E> CancelHook for Hook<I, T, E>
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    fn decide(&self) -> CancelDecision {
        let Some(cancel) = &self.shared.cancel else {
            return CancelDecision::Now(self.shared.remove_cancelled(self.key, &self.node));
        };
        if !self.shared.contains(self.key, &self.node) {
            // Already resolved (the result is on its way to the handle), or cancelled by an
            // earlier approved request whose requester may have stopped waiting.
            return CancelDecision::Now(self.node.cancelled.load(Ordering::Acquire));
        }
        match call_cancel_fn(cancel, self.shared.name(), &self.node.input) {
            Answer::Now(approved) => {
                CancelDecision::Now(approved && self.shared.remove_cancelled(self.key, &self.node))
            }
            Answer::Later(answer) => {
                let (shared, node, key) = (self.shared.clone(), self.node.clone(), self.key);
                // Run the decision on the executor's runtime, so it has a reactor and a
                // timer even when `cancel()` blocks a plain thread on it.
                let task = self
                    .shared
                    .runtime
                    .handle()
                    .spawn(async move { answer.await && shared.remove_cancelled(key, &node) });
                CancelDecision::Later(Box::pin(async move { task.await.unwrap_or(false) }))
            }
        }
    }
}

/// A future was dropped while still in the poll set (not resolved, not cancelled through
/// its handle): calls the cancel function once, best effort. Its answer cannot undo the
/// drop; a refusal, error or panic is logged.
pub(crate) fn abandoned<I, T, E>(shared: &Shared<I, T, E>, node: &Arc<Node<I, T, E>>)
where
    E: fmt::Debug,
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let Some(cancel) = &shared.cancel else { return };
    tracing::debug!(
        executor = &*shared.name(),
        "a future was dropped while in the poll set; calling the cancel function"
    );
    if let Answer::Later(answer) = call_cancel_fn(cancel, shared.name(), &node.input) {
        // Detached: nobody waits for this answer. On a runtime that is shutting down the
        // task is dropped unstarted.
        shared.runtime.handle().spawn(answer);
    }
}

/// A cancel function's answer: decided on the spot, or by a future (to run on the
/// executor's runtime). Failures and panics count as refusals and are logged.
enum Answer {
    Now(bool),
    Later(futures_util::future::BoxFuture<'static, bool>),
}

/// Calls the cancel function with `input`; the one place a cancel function is called.
fn call_cancel_fn<I, E>(cancel: &CancelFn<I, E>, name: Arc<str>, input: &I) -> Answer
where
    E: fmt::Debug + Send + 'static,
{
    use futures_util::FutureExt;
    match cancel {
        CancelFn::Sync(f) => Answer::Now(log_answer(&name, catch_panic(|| f(input)))),
        CancelFn::Async(f) => match catch_panic(|| f(input)) {
            Err(panic) => Answer::Now(log_answer::<E>(&name, Err(panic))),
            Ok(call) => Answer::Later(
                async move {
                    let answer = std::panic::AssertUnwindSafe(call)
                        .catch_unwind()
                        .await
                        .map_err(|p| Panic::from_payload(&*p));
                    log_answer(&name, answer)
                }
                .boxed(),
            ),
        },
    }
}

/// Turns a cancel function's answer into approve/refuse, logging refusals.
fn log_answer<E: fmt::Debug>(name: &str, answer: Result<Result<bool, E>, Panic>) -> bool {
    match answer {
        Ok(Ok(true)) => true,
        Ok(Ok(false)) => {
            tracing::debug!(executor = name, "cancel refused by the poll executor's cancel function");
            false
        }
        Ok(Err(e)) => {
            tracing::error!(
                executor = name,
                error = %crate::task::debug_shown(&e),
                "the cancel function failed; the cancel is refused"
            );
            false
        }
        Err(panic) => {
            tracing::error!(
                executor = name,
                panic = %panic,
                "the cancel function panicked; the cancel is refused"
            );
            false
        }
    }
}
