use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use more_executors_core::Error;
use more_executors_core::stage::{CallStage, StageFuture};
use more_executors_core::stage::{JobContext, Panic, catch_panic};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::policy::{Attempt, RetryDecision, RetryPolicy};
use crate::shared::{Shared, WaitingGuard};

pin_project! {
    /// Stage future of [`Retry`](crate::Retry): runs an attempt as the inner stage future,
    /// asks the policy, waits (a timer inside this future; no task), and runs the next
    /// attempt, until the policy is done.
    pub struct RetryFuture<F, J, P> {
        #[pin]
        state: State<F>,
        data: Data<F, J, P>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Attempt { #[pin] fut: F },
        // The attempt has finished and its stage future is dropped (with any cancel gate it
        // held) while the policy decides, so a cancel in the meantime succeeds.
        Deciding,
        // Boxed: waiting is the slow path, and this keeps the future of a job whose first
        // attempt succeeds as small as the inner one.
        Waiting { wait: Pin<Box<Wait>> },
        // The next attempt starts at the next poll (after a zero delay, or once a delay
        // is over).
        Yield,
        Done,
    }
}

pin_project! {
    struct Wait {
        #[pin]
        sleep: Sleep,
        #[pin]
        shutdown: WaitForCancellationFutureOwned,
        waiting: WaitingGuard,
    }
}

/// The executor's state and its inner executor, as each job holds them: the inner
/// executor's type erased behind its `call`.
pub(crate) type SharedCaller<P, J, F> = Arc<Shared<P, dyn CallStage<J, Future = F>>>;

struct Data<F, J, P> {
    shared: SharedCaller<P, J, F>,
    job: J,
    ctx: JobContext,
    /// The policy's per-job state (its `RetryPolicy::State`), made by `start` before the
    /// first decision. Stored erased so this future's type does not name the job's output
    /// and error types (see `more_executors_core::stage`); a state of size zero, such as
    /// the built-in policies' `()`, is not allocated.
    policy_state: Option<Box<dyn Any + Send>>,
    attempt: u32,
    started: Instant,
    cancel_requests: u64,
}

enum Next {
    Done,
    ShutDown,
    Panicked(Panic),
    RetryAfter(Duration),
}

impl<F, J: Clone, P> RetryFuture<F, J, P> {
    pub(crate) fn new(shared: SharedCaller<P, J, F>, job: J, ctx: &JobContext) -> Self {
        if let Some(budget) = &shared.budget {
            budget.deposit();
        }
        let started = Instant::now();
        let cancel_requests = ctx.cancel_requests();
        let fut = shared.inner.call_stage(job.clone(), ctx);
        RetryFuture {
            state: State::Attempt { fut },
            data: Data {
                shared,
                job,
                ctx: ctx.clone(),
                policy_state: None,
                attempt: 1,
                started,
                cancel_requests,
            },
        }
    }
}

impl<F, J, P> Data<F, J, P>
where
    F: StageFuture<Err: fmt::Debug>,
    J: Clone,
    P: RetryPolicy<F::Ok, F::Err>,
{
    fn is_shut_down(&self) -> bool {
        self.shared.is_shut_down() || self.shared.inner.runtime().is_shut_down()
    }

    /// Why no further attempt may start, if so: the executor shut down, or the job was
    /// cancelled while it waited.
    fn before_next_attempt(&self) -> Option<Error<F::Err>> {
        if self.is_shut_down() {
            Some(Error::ShutDown)
        } else if self.ctx.is_cancelled() {
            Some(Error::Cancelled)
        } else {
            None
        }
    }

    fn after_attempt(&mut self, out: &Result<F::Ok, Error<F::Err>>) -> Next {
        if matches!(out, Err(Error::Cancelled | Error::ShutDown)) {
            return Next::Done;
        }
        if self.ctx.cancel_requests() != self.cancel_requests {
            tracing::debug!(
                attempt = self.attempt,
                "a cancel was refused during the attempt; its outcome is final"
            );
            return Next::Done;
        }
        let policy = &self.shared.policy;
        if self.policy_state.is_none() {
            match catch_panic(|| policy.start()) {
                Ok(state) => self.policy_state = Some(Box::new(state)),
                Err(panic) => {
                    tracing::error!(panic = %panic, "retry policy panicked starting a job's state; the job fails");
                    return Next::Panicked(panic);
                }
            }
        }
        let Some(state) = self.policy_state.as_mut().and_then(|s| s.downcast_mut::<P::State>()) else {
            return Next::Done;
        };
        let attempt = Attempt::started_at(self.attempt, self.started);
        let delay = match catch_panic(|| policy.decide(state, &attempt, out)) {
            Ok(RetryDecision::Done) => return Next::Done,
            Ok(RetryDecision::RetryAfter(d)) => d,
            Err(panic) => {
                tracing::error!(
                    attempt = self.attempt,
                    panic = %panic,
                    "retry policy panicked; the job fails with the panic"
                );
                return Next::Panicked(panic);
            }
        };
        if self.is_shut_down() {
            return Next::ShutDown;
        }
        if let Some(budget) = &self.shared.budget {
            if !budget.withdraw() {
                tracing::warn!(
                    attempt = self.attempt,
                    error = ?out.as_ref().err(),
                    "retry budget exhausted; the attempt's outcome is final"
                );
                return Next::Done;
            }
        }
        self.shared.retries.increment(1);
        self.shared.delay.increment(delay.as_secs_f64());
        tracing::debug!(attempt = self.attempt, delay = ?delay, error = ?out.as_ref().err(), "retry scheduled");
        Next::RetryAfter(delay)
    }

    fn wait(&self, delay: Duration) -> Pin<Box<Wait>> {
        // The first poll of an inline executor's job happens in `submit`, maybe outside any
        // runtime; the timer must be created inside one.
        let _enter = tokio::runtime::Handle::try_current()
            .is_err()
            .then(|| self.shared.inner.runtime().handle().enter());
        Box::pin(Wait {
            sleep: tokio::time::sleep(delay),
            shutdown: self.shared.shutdown.clone().cancelled_owned(),
            waiting: self.shared.waiting.enter(),
        })
    }

    fn next_attempt(&mut self) -> F {
        // Saturates: a policy that always retries sees `u32::MAX` from then on.
        self.attempt = self.attempt.saturating_add(1);
        self.shared.inner.call_stage(self.job.clone(), &self.ctx)
    }
}

/// Attempts after a zero delay started within one poll, at most; then the task yields.
const MAX_IMMEDIATE_RETRIES: u32 = 16;

impl<F, J, P> Future for RetryFuture<F, J, P>
where
    F: StageFuture<Err: fmt::Debug>,
    J: Clone,
    P: RetryPolicy<F::Ok, F::Err>,
{
    type Output = Result<F::Ok, Error<F::Err>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut immediate = 0;
        loop {
            match this.state.as_mut().project() {
                StateProj::Attempt { fut } => {
                    let out = ready!(fut.poll(cx));
                    this.state.set(State::Deciding);
                    let next = this.data.after_attempt(&out);
                    if !matches!(next, Next::Done) && this.data.ctx.is_cancelled() {
                        // Cancelled while the policy decided: nothing was running, and no
                        // further attempt starts.
                        this.state.set(State::Done);
                        return Poll::Ready(Err(Error::Cancelled));
                    }
                    match next {
                        Next::Done => {
                            this.state.set(State::Done);
                            return Poll::Ready(out);
                        }
                        Next::ShutDown => {
                            this.state.set(State::Done);
                            return Poll::Ready(Err(Error::ShutDown));
                        }
                        Next::Panicked(panic) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Err(panic.into_error()));
                        }
                        Next::RetryAfter(delay) if delay.is_zero() => {
                            // Retry at once while the task may go on (tokio's cooperative
                            // budget, and a bound per poll for code outside a runtime);
                            // otherwise at the task's next poll, so a policy that never
                            // stops cannot hold the thread.
                            immediate += 1;
                            let proceed = match tokio::task::coop::poll_proceed(cx) {
                                Poll::Ready(coop) if immediate <= MAX_IMMEDIATE_RETRIES => {
                                    coop.made_progress();
                                    true
                                }
                                Poll::Ready(_) => {
                                    cx.waker().wake_by_ref();
                                    false
                                }
                                // The budget is spent: tokio wakes the task once it may go on.
                                Poll::Pending => false,
                            };
                            this.state.set(State::Yield);
                            if !proceed {
                                return Poll::Pending;
                            }
                        }
                        Next::RetryAfter(delay) => {
                            let wait = this.data.wait(delay);
                            this.state.set(State::Waiting { wait });
                        }
                    }
                }
                StateProj::Waiting { wait } => {
                    let w = wait.as_mut().project();
                    if w.shutdown.poll(cx).is_ready() {
                        tracing::debug!(
                            attempt = this.data.attempt,
                            "executor shut down while waiting to retry"
                        );
                        this.state.set(State::Done);
                        return Poll::Ready(Err(Error::ShutDown));
                    }
                    ready!(w.sleep.poll(cx));
                    // The delay is over: start the next attempt as after a yield.
                    this.state.set(State::Yield);
                }
                StateProj::Yield => {
                    if let Some(end) = this.data.before_next_attempt() {
                        this.state.set(State::Done);
                        return Poll::Ready(Err(end));
                    }
                    let fut = this.data.next_attempt();
                    this.state.set(State::Attempt { fut });
                }
                StateProj::Deciding | StateProj::Done => panic!("RetryFuture polled after it completed"),
            }
        }
    }
}

impl<F, J, P> fmt::Debug for RetryFuture<F, J, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Attempt { .. } => "attempt",
            State::Waiting { .. } | State::Yield => "waiting",
            State::Deciding => "deciding",
            State::Done => "done",
        };
        f.debug_struct("RetryFuture").field("attempt", &self.data.attempt).field("state", &state).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use more_executors_core::prelude::*;
    use more_executors_core::stage::JobContext;

    use super::*;
    use crate::Retry;

    /// A policy that always retries sees the attempt number stop at `u32::MAX`: counting on
    /// past it must not overflow (a panic in a debug build, a wrap to 0 in a release one).
    #[tokio::test(start_paused = true)]
    async fn the_attempt_number_saturates_under_a_policy_that_always_retries() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let policy = move |a: &Attempt, _: &Result<u32, Error<u32>>| {
            let mut seen = s.lock().unwrap();
            seen.push(a.number);
            if seen.len() < 4 { RetryDecision::RetryAfter(Duration::ZERO) } else { RetryDecision::Done }
        };
        let exec = Retry::new(InlineExecutor::new(), policy);
        let mut fut = exec.call(|| Err::<u32, u32>(7), &JobContext::detached());
        // As if u32::MAX - 2 attempts had already run.
        fut.data.attempt = u32::MAX - 1;
        let out = tokio::time::timeout(Duration::from_secs(1), fut).await.expect("the job ends");
        assert_eq!(out, Err(Error::Job(7)));
        assert_eq!(*seen.lock().unwrap(), [u32::MAX - 1, u32::MAX, u32::MAX, u32::MAX]);
    }
}
