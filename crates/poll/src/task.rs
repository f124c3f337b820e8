//! The poll task: one per poll executor, alive only while its poll set is non-empty.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use more_executors_core::Error;
use more_executors_core::stage::{Panic, catch_panic, deadline_after};
use tokio::time::Instant;

use crate::descriptor::PollDescriptor;
use crate::set::{Shared, remove_locked};

/// How a poll call ended.
pub(crate) enum Outcome<E> {
    Ok(Option<Duration>),
    Failed(Error<E>),
}

/// Runs polls until the set is empty or the executor shuts down.
///
/// Schedule: the next poll starts at the earliest of (a) the delay the last poll returned
/// (else the default interval) after it returned, (b) the first-poll deadline of futures
/// registered since the last poll started, (c) at once after `notify()`.
pub(crate) async fn run<I, T, E>(shared: Arc<Shared<I, T, E>>)
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    let mut exit = ExitGuard { shared: &shared, armed: true };
    let mut next_regular: Option<Instant> = None;
    let mut batch: Vec<PollDescriptor<I, T, E>> = Vec::new();
    loop {
        if !wait_until_due(&shared, next_regular).await {
            // `task_running` was cleared under the lock; a new task may already run.
            exit.armed = false;
            return;
        }
        {
            let mut st = shared.lock();
            st.first_poll_due = None;
            st.notified = false;
            if st.entries.is_empty() || st.shut_down {
                continue;
            }
            st.polls += 1;
            batch.reserve(st.entries.len());
            batch.extend(st.entries.iter().map(|(key, node)| PollDescriptor::attached(node.clone(), key)));
        }
        let started = Instant::now();
        // Called inside the caught future: a hand-written poller may panic before
        // returning its future.
        let call =
            std::panic::AssertUnwindSafe(async { shared.poller.poll(&mut batch).await }).catch_unwind();
        let outcome = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => {
                // Shut down mid-call: the set was drained and no registration can follow.
                drop(exit);
                return;
            }
            r = call => match r {
                Ok(Ok(delay)) => Outcome::Ok(delay),
                Ok(Err(e)) => Outcome::Failed(Error::Job(e)),
                Err(p) => {
                    let panic = Panic::from_payload(&*p);
                    // The payload is a user value too.
                    drop_user(&shared.ident().name, move || drop(p));
                    Outcome::Failed(panic.into_error())
                }
            },
        };
        let elapsed = started.elapsed();
        let ident = shared.ident();
        let name = &ident.name;
        ident.metrics.polls.increment(1);
        ident.metrics.time.increment(elapsed.as_secs_f64());
        let size = batch.len();
        let delay = match &outcome {
            Outcome::Ok(d) => d.unwrap_or(shared.timing.default_interval),
            Outcome::Failed(e) => {
                ident.metrics.errors.increment(1);
                tracing::error!(
                    executor = &**name,
                    batch = size,
                    error = %debug_shown(e),
                    "poll function failed; every future it did not resolve in this call fails with this error"
                );
                shared.timing.default_interval
            }
        };
        let resolved = deliver(&shared, &mut batch, &outcome);
        tracing::debug!(
            executor = &**name,
            batch = size,
            resolved,
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            next_poll_in_ms = delay.as_secs_f64() * 1e3,
            "poll tick"
        );
        // Undelivered yields, inputs of futures that left the set meanwhile, the call's
        // error: user values, dropped after the wakes, and a panic in a destructor must
        // not end the task while other futures wait in the set.
        drop_user(name, || batch.clear());
        drop_user(name, move || drop(outcome));
        next_regular = Some(deadline_after(Instant::now(), delay));
        if delay.is_zero() {
            // An immediate re-poll: let other tasks run first.
            tokio::task::yield_now().await;
        }
    }
}

/// Sleeps until the next poll is due. False when the task must end (set empty, or shut down).
async fn wait_until_due<I, T, E>(shared: &Shared<I, T, E>, next_regular: Option<Instant>) -> bool
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Clone + fmt::Debug + Send + 'static,
{
    loop {
        let deadline = {
            let mut st = shared.lock();
            if st.shut_down || st.entries.is_empty() {
                // Decided under the lock: a registration after this point sees
                // `task_running == false` and starts a new task.
                st.task_running = false;
                st.first_poll_due = None;
                st.notified = false;
                return false;
            }
            if st.notified {
                return true;
            }
            let deadline = match (next_regular, st.first_poll_due) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => deadline_after(Instant::now(), shared.timing.first_poll_delay),
            };
            if deadline <= Instant::now() {
                return true;
            }
            deadline
        };
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = shared.wake.notified() => {}
            _ = shared.stop.cancelled() => {}
        }
    }
}

/// Removes the resolved futures of a finished call from the set and hands them their
/// results. Returns how many were resolved.
pub(crate) fn deliver<I, T, E>(
    shared: &Shared<I, T, E>,
    batch: &mut [PollDescriptor<I, T, E>],
    outcome: &Outcome<E>,
) -> usize
where
    E: Clone,
{
    let failed = matches!(outcome, Outcome::Failed(_));
    {
        let mut st = shared.lock();
        for d in batch.iter_mut() {
            if (failed || d.outcome.is_some()) && remove_locked(&mut st, d.key, &d.node) {
                d.deliver = true;
            }
        }
    }
    let mut resolved = 0;
    for d in batch.iter_mut().filter(|d| d.deliver) {
        let result = match (d.outcome.take(), outcome) {
            (Some(r), _) => r.map_err(Error::Job),
            // A panicking `Clone` of the error must not strand the futures already taken
            // out of the set.
            (None, Outcome::Failed(e)) => Err(catch_panic(|| e.clone()).unwrap_or_else(Panic::into_error)),
            (None, Outcome::Ok(_)) => {
                unreachable!("only resolved descriptors are delivered after a good poll")
            }
        };
        d.node.complete(result);
        resolved += 1;
    }
    resolved
}

/// `{value:?}` for a log line, without letting a panic in a user type's `Debug` unwind
/// into the caller.
pub(crate) fn debug_shown(value: &impl fmt::Debug) -> String {
    catch_panic(|| format!("{value:?}")).unwrap_or_else(|p| format!("<its Debug panicked: {p}>"))
}

/// Drops user values without letting a panic in a destructor unwind into the poll task;
/// the panic is logged.
fn drop_user(name: &str, drop: impl FnOnce()) {
    if let Err(panic) = catch_panic(drop) {
        tracing::error!(executor = name, panic = %panic, "a value dropped by the poll task panicked in its destructor");
    }
}

/// Marks the task as gone when it ends other than by finding the set empty (shut down, or
/// aborted with its runtime), so the state never claims a task that does not exist.
struct ExitGuard<'a, I, T, E> {
    shared: &'a Shared<I, T, E>,
    armed: bool,
}

impl<I, T, E> Drop for ExitGuard<'_, I, T, E> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.shared.lock();
            st.task_running = false;
            st.first_poll_due = None;
        }
    }
}
