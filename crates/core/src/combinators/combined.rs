//! The machinery shared by every combinator that returns a [`Handle`]: where its driver task
//! runs, how cancelling it reaches its inputs, and the polling loops over many inputs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use pin_project_lite::pin_project;

use crate::error::{Error, catch_panic};
use crate::handle::control::Control;
use crate::handle::{CancelDecision, CancelGate, CancelHandle, Handle, JobContext};
use crate::job_task::JobTask;
use crate::metrics::StageTimer;
use crate::stage::GateGuard;

/// The runtime combined handles are driven on: the current tokio runtime, or else one small
/// background runtime shared by every combinator of the process (started on first use).
pub(crate) fn runtime() -> tokio::runtime::Handle {
    crate::runtime::current_or_shared_handle()
}

/// Spawns `fut` as the driver task of a new handle whose cancel requests are decided by
/// `gate` for as long as the handle is pending.
///
/// The gate stays installed until the outcome is recorded, so no cancel can slip in
/// between the driver finishing and the handle resolving.
pub(crate) fn spawn<T, E, F>(
    rt: &tokio::runtime::Handle,
    kind: &'static str,
    gate: CancelGate,
    fut: F,
) -> Handle<T, E>
where
    F: Future<Output = Result<T, Error<E>>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    spawn_with_ctx(rt, kind, gate, |_| fut)
}

/// Like [`spawn`], for a driver future that needs the new handle's [`JobContext`] (to
/// install further gates while it runs).
pub(crate) fn spawn_with_ctx<T, E, F>(
    rt: &tokio::runtime::Handle,
    kind: &'static str,
    gate: CancelGate,
    make: impl FnOnce(&JobContext) -> F,
) -> Handle<T, E>
where
    F: Future<Output = Result<T, Error<E>>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let ctl = Control::for_task(|job_id| tracing::debug_span!("combinator", kind, job_id), None);
    let ctx = JobContext::new(ctl.clone());
    let gate = ctx.set_gate(gate);
    let stage = Gated { fut: make(&ctx), _gate: gate };
    // The job task of a submitted job: a panic is the outcome, and the stage (its gate
    // with it) is dropped once the outcome is recorded.
    let task = JobTask::new(stage, ctl.clone(), StageTimer::idle());
    Handle::from_task(rt.spawn(task), ctl)
}

pin_project! {
    /// A combinator's driver future with the gate deciding its cancels; the gate leaves
    /// with the future, which the job task drops after recording the outcome.
    struct Gated<F> {
        #[pin]
        fut: F,
        _gate: GateGuard,
    }
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().fut.poll(cx)
    }
}

/// Spawns `fut` as a handle whose cancel cancels every live input in `inputs`.
pub(crate) fn spawn_with_inputs<T, E, F>(inputs: &Arc<Inputs>, kind: &'static str, fut: F) -> Handle<T, E>
where
    F: Future<Output = Result<T, Error<E>>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let hook_inputs = inputs.clone();
    let gate = CancelGate::Hook(Arc::new(move || hook_inputs.cancel_requested()));
    spawn(&inputs.rt, kind, gate, fut)
}

/// The inputs of a combined handle that are still pending, as cancellers.
pub(crate) struct Inputs {
    rt: tokio::runtime::Handle,
    state: Mutex<InputsState>,
}

struct InputsState {
    live: slab::Slab<CancelHandle>,
    /// More inputs may still be created (traverse); cancelling then always succeeds.
    more_to_come: bool,
    /// The combined handle is being cancelled: inputs added from now on are cancelled at once.
    closed: bool,
}

/// The key of an input added after the set was closed (it was cancelled on the spot).
const CLOSED_KEY: usize = usize::MAX;

impl Inputs {
    pub(crate) fn new(rt: tokio::runtime::Handle) -> Arc<Inputs> {
        Arc::new(Inputs {
            rt,
            state: Mutex::new(InputsState { live: slab::Slab::new(), more_to_come: false, closed: false }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, InputsState> {
        // No user code runs under this lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers an input; returns its key for [`remove`](Self::remove).
    pub(crate) fn add(&self, canceller: CancelHandle) -> usize {
        let mut st = self.lock();
        if st.closed {
            drop(st);
            let _ = canceller.cancel_nonblocking(&self.rt);
            return CLOSED_KEY;
        }
        st.live.insert(canceller)
    }

    /// Forgets an input that has resolved.
    pub(crate) fn remove(&self, key: usize) {
        if key != CLOSED_KEY {
            self.lock().live.try_remove(key);
        }
    }

    pub(crate) fn set_more_to_come(&self, more: bool) {
        self.lock().more_to_come = more;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// The combined handle decided early (an error, a deciding value): cancel the rest
    /// without waiting for their answers.
    pub(crate) fn cancel_rest(&self) {
        let snapshot = {
            let mut st = self.lock();
            st.closed = true;
            st.live.drain().collect::<Vec<_>>()
        };
        for c in snapshot {
            let _ = c.cancel_nonblocking(&self.rt);
        }
    }

    /// The cancel hook of the combined handle: cancel every live input; the cancel is
    /// accepted when at least one input accepted it, or when inputs remain to be created.
    /// Never blocks: inputs deciding asynchronously make the decision asynchronous.
    fn cancel_requested(&self) -> CancelDecision {
        let (snapshot, more_to_come) = {
            let mut st = self.lock();
            if st.more_to_come {
                st.closed = true;
            }
            (st.live.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(), st.more_to_come)
        };
        let mut accepted = more_to_come;
        let mut pending = Vec::new();
        for c in snapshot {
            match c.cancel_nonblocking(&self.rt) {
                CancelDecision::Now(b) => accepted |= b,
                CancelDecision::Later(decision) => pending.push(decision),
            }
        }
        if accepted || pending.is_empty() {
            CancelDecision::Now(accepted)
        } else {
            CancelDecision::Later(Box::pin(async move {
                futures_util::future::join_all(pending).await.into_iter().any(|b| b)
            }))
        }
    }
}

pin_project! {
    /// An input future tagged with its position and its key in [`Inputs`].
    pub(crate) struct Indexed<F> {
        #[pin]
        pub(crate) fut: F,
        pub(crate) index: usize,
        pub(crate) key: usize,
    }
}

impl<F: Future> Future for Indexed<F> {
    type Output = (usize, usize, F::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.fut.poll(cx));
        Poll::Ready((*this.index, *this.key, out))
    }
}

/// Polls `pending` for its next output, cooperating with tokio's task budget per *output*
/// rather than per input.
///
/// Each handle's poll would otherwise consume budget; once the budget is spent every
/// further poll returns `Pending` with a deferred wake, and `FuturesUnordered` would go
/// through all its inputs on every poll (quadratic time for large sets). Here the inputs
/// are polled unconstrained and one unit of budget is consumed per output, so a task
/// draining many finished inputs still yields to the scheduler regularly.
pub(crate) fn poll_next_coop<F: Future>(
    pending: &mut FuturesUnordered<F>,
    cx: &mut Context<'_>,
) -> Poll<Option<F::Output>> {
    let coop = ready!(tokio::task::coop::poll_proceed(cx));
    let inner = std::future::poll_fn(|cx| pending.poll_next_unpin(cx));
    let out = std::pin::pin!(tokio::task::coop::unconstrained(inner)).poll(cx);
    if out.is_ready() {
        coop.made_progress();
    }
    out
}

/// The next output of `pending`; see [`poll_next_coop`].
pub(crate) async fn next_coop<F: Future>(pending: &mut FuturesUnordered<F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| poll_next_coop(pending, cx)).await
}

/// Registers `handles` in a new input set and tags them for polling.
pub(crate) fn register<T, E>(
    rt: tokio::runtime::Handle,
    handles: impl IntoIterator<Item = Handle<T, E>>,
) -> (Arc<Inputs>, Vec<Indexed<Handle<T, E>>>) {
    let inputs = Inputs::new(rt);
    let tagged = handles
        .into_iter()
        .enumerate()
        .map(|(index, h)| Indexed { key: inputs.add(h.canceller()), fut: h, index })
        .collect();
    (inputs, tagged)
}

/// Polls every input concurrently (each woken input is polled alone, never the whole set)
/// and collects the values in input order. The first error cancels the others and is
/// returned.
pub(crate) async fn try_all<F, X, E>(inputs: &Inputs, tagged: Vec<Indexed<F>>) -> Result<Vec<X>, Error<E>>
where
    F: Future<Output = Result<X, Error<E>>>,
{
    let mut slots: Vec<Option<X>> = std::iter::repeat_with(|| None).take(tagged.len()).collect();
    let mut pending: FuturesUnordered<Indexed<F>> = tagged.into_iter().collect();
    while let Some((index, key, result)) = next_coop(&mut pending).await {
        store(inputs, &mut slots, index, key, result)?;
    }
    Ok(slots.into_iter().map(|v| v.expect("every input produced a value")).collect())
}

/// Records that input `key` resolved: its value goes to `slots[index]`; an error cancels
/// the other inputs and is returned.
pub(crate) fn store<X, E>(
    inputs: &Inputs,
    slots: &mut [Option<X>],
    index: usize,
    key: usize,
    result: Result<X, Error<E>>,
) -> Result<(), Error<E>> {
    inputs.remove(key);
    match result {
        Ok(v) => {
            slots[index] = Some(v);
            Ok(())
        }
        Err(e) => {
            inputs.cancel_rest();
            Err(e)
        }
    }
}

/// Waits for the first input whose result `decides` approves (completion order), cancels
/// the rest and returns it; when none decides, returns the result of the last input in
/// input order. A panic in `decides` fails the combined handle and cancels the rest.
pub(crate) async fn first_deciding<T, E, D>(
    inputs: &Inputs,
    tagged: Vec<Indexed<Handle<T, E>>>,
    mut decides: D,
) -> Result<T, Error<E>>
where
    D: FnMut(&Result<T, Error<E>>) -> bool,
{
    let last = tagged.len().checked_sub(1).expect("checked by the caller: at least one input");
    let mut pending: FuturesUnordered<_> = tagged.into_iter().collect();
    let mut last_result = None;
    while let Some((index, key, result)) = next_coop(&mut pending).await {
        inputs.remove(key);
        match catch_panic(|| decides(&result)) {
            Ok(true) => {
                inputs.cancel_rest();
                return result;
            }
            Ok(false) if index == last => last_result = Some(result),
            Ok(false) => {}
            Err(panic) => {
                inputs.cancel_rest();
                return Err(panic.into_error());
            }
        }
    }
    last_result.expect("the last input resolved")
}
