//! Waiting for a spawn to be accepted, then for the job: the state machine shared by the
//! worker pool's stage future and the web layer's response future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use more_executors_core::Error;

use super::Spawn;
use crate::job::Job;

/// The scheduler was closed before it accepted the job.
pub(crate) struct Refused;

pub(crate) enum SpawnedJob<F, T, E> {
    Spawning(Spawn<F, T, E>),
    Running(Job<T, E>),
    Done,
}

impl<F, T, E> SpawnedJob<F, T, E> {
    /// The job, once the scheduler accepted it and until it resolved.
    pub(crate) fn job(&self) -> Option<&Job<T, E>> {
        match self {
            SpawnedJob::Running(job) => Some(job),
            _ => None,
        }
    }

    /// What the state is, for `Debug` output.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            SpawnedJob::Spawning(_) => "queueing",
            SpawnedJob::Running(_) => "running",
            SpawnedJob::Done => "done",
        }
    }
}

impl<F, T, E> SpawnedJob<F, T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    /// Polls the spawn, then the job. Nothing is pinned (the spawn future and the job
    /// handle are `Unpin`), so `&mut self` is enough.
    pub(crate) fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<Result<Result<T, Error<E>>, Refused>> {
        loop {
            match self {
                SpawnedJob::Spawning(spawn) => match ready!(Pin::new(spawn).poll(cx)) {
                    Ok(job) => *self = SpawnedJob::Running(job),
                    Err(_closed) => {
                        *self = SpawnedJob::Done;
                        return Poll::Ready(Err(Refused));
                    }
                },
                SpawnedJob::Running(job) => {
                    let out = ready!(Pin::new(job).poll(cx));
                    *self = SpawnedJob::Done;
                    return Poll::Ready(Ok(out));
                }
                SpawnedJob::Done => panic!("a job future was polled after completion"),
            }
        }
    }
}
