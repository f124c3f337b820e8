use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use more_executors_core::Error;

use crate::job::Job;
use crate::scheduler::Spawn;
use crate::scheduler::spawned::SpawnedJob;

/// Stage future of a [`WorkerPool`](super::WorkerPool) item: waits for room in the queue,
/// then for the item's job. Dropping it (the handle was cancelled) closes the job.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use more_executors_core::Executor;
/// use more_executors_core::stage::JobContext;
/// let pool = more_executors_jobs::WorkerPool::new(1, 8, |n: u8| async move { Ok::<_, String>(n) }).unwrap();
/// let stage = pool.call(5, &JobContext::detached());
/// assert_eq!(stage.await, Ok(5));
/// # }
/// ```
pub struct PoolFuture<Fut, T, E> {
    job: SpawnedJob<Fut, T, E>,
    /// Set when the item failed before it could be spawned.
    failed: Option<Error<E>>,
}

// Nothing is pinned: the spawn future and the job handle are moved freely.
impl<Fut, T, E> Unpin for PoolFuture<Fut, T, E> {}

impl<Fut, T, E> fmt::Debug for PoolFuture<Fut, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.failed.is_some() { "failed" } else { self.job.describe() };
        f.debug_struct("PoolFuture").field("state", &state).finish()
    }
}

impl<Fut, T, E> PoolFuture<Fut, T, E> {
    pub(super) fn spawning(spawn: Spawn<Fut, T, E>) -> Self {
        PoolFuture { job: SpawnedJob::Spawning(spawn), failed: None }
    }

    pub(super) fn running(job: Job<T, E>) -> Self {
        PoolFuture { job: SpawnedJob::Running(job), failed: None }
    }

    pub(super) fn failed(e: Error<E>) -> Self {
        PoolFuture { job: SpawnedJob::Done, failed: Some(e) }
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
        if let Some(e) = self.failed.take() {
            return Poll::Ready(Err(e));
        }
        // A scheduler that refuses the item was shut down.
        self.job.poll_job(cx).map(|out| out.unwrap_or(Err(Error::ShutDown)))
    }
}

impl<Fut, T, E> Drop for PoolFuture<Fut, T, E> {
    fn drop(&mut self) {
        if let Some(job) = self.job.job() {
            // The item's handle was cancelled (its driver dropped us): close the job too.
            drop(job.close());
        }
    }
}
