use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use more_executors_core::Error;

use crate::job::Job;
use crate::scheduler::Spawn;

/// Stage future of a [`WorkerPool`](super::WorkerPool) item: waits for room in the queue,
/// then for the item's job. Dropping it (the handle was cancelled) closes the job.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use more_executors_core::{Executor, JobContext};
/// let pool = more_executors_jobs::WorkerPool::new(1, 8, |n: u8| async move { Ok::<_, String>(n) }).unwrap();
/// let stage = pool.call(5, &JobContext::detached());
/// assert_eq!(stage.await, Ok(5));
/// # }
/// ```
pub struct PoolFuture<Fut, T, E>
where
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    state: State<Fut, T, E>,
}

enum State<Fut, T, E>
where
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    Spawning(Spawn<Fut, T, E>),
    Running(Job<T, E>),
    Failed(Option<Error<E>>),
    Done,
}

// Nothing is pinned: the spawn future and the job handle are moved freely.
impl<Fut, T, E> Unpin for PoolFuture<Fut, T, E>
where
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
}

impl<Fut, T, E> fmt::Debug for PoolFuture<Fut, T, E>
where
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Spawning(_) => "queueing",
            State::Running(_) => "running",
            State::Failed(_) => "failed",
            State::Done => "done",
        };
        f.debug_struct("PoolFuture").field("state", &state).finish()
    }
}

impl<Fut, T, E> PoolFuture<Fut, T, E>
where
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    pub(super) fn spawning(spawn: Spawn<Fut, T, E>) -> Self {
        PoolFuture { state: State::Spawning(spawn) }
    }

    pub(super) fn running(job: Job<T, E>) -> Self {
        PoolFuture { state: State::Running(job) }
    }

    pub(super) fn failed(e: Error<E>) -> Self {
        PoolFuture { state: State::Failed(Some(e)) }
    }
}

impl<Fut, T, E> Future for PoolFuture<Fut, T, E>
where
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    type Output = Result<T, Error<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Spawning(spawn) => match ready!(Pin::new(spawn).poll(cx)) {
                    Ok(job) => this.state = State::Running(job),
                    Err(_closed) => {
                        this.state = State::Done;
                        return Poll::Ready(Err(Error::ShutDown));
                    }
                },
                State::Running(job) => {
                    let out = ready!(Pin::new(job).poll(cx));
                    this.state = State::Done;
                    return Poll::Ready(out);
                }
                State::Failed(e) => {
                    let e = e.take().unwrap_or(Error::Cancelled);
                    this.state = State::Done;
                    return Poll::Ready(Err(e));
                }
                State::Done => panic!("PoolFuture polled after completion"),
            }
        }
    }
}

impl<Fut, T, E> Drop for PoolFuture<Fut, T, E>
where
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn drop(&mut self) {
        if let State::Running(job) = &self.state {
            // The item's handle was cancelled (its driver dropped us): close the job too.
            drop(job.close());
        }
    }
}
