//! The seam between a job's cell and the rest of the crate.
//!
//! A job lives in one [`Cell`], generic over its work `W` (a future
//! or a blocking closure), its value `T` and its error `E`. Three parties use the cell
//! without knowing all of these types, each through one trait object:
//!
//! - the **scheduler** keeps its live jobs and its queue as `Arc<dyn` [`Entry`]`>`: it
//!   activates, launches, admits, rejects, stops and lists jobs of every type in one table;
//! - a [`Job<T, E>`](crate::Job) holds an `Arc<dyn` [`JobApi<T, E>`]`>`: it knows the
//!   result's types but not the work's;
//! - a [`JobClose`](crate::JobClose) future holds an `Arc<dyn` [`Stopper`]`>`: it only waits
//!   for the job's task to end.
//!
//! The fourth trait, [`Work`], goes the other way: it is what the cell needs from the work
//! it holds, namely a way to start the job's task.
//!
//! The words they share: [`Stop`] (why a job is stopped from outside) and [`Stage`] (where
//! the job is, as the scheduler sees it), kept in the cell as an [`AtomicStage`].
//!
//! Lock order across the seam: the scheduler's lock may be held while a cell's lock is
//! taken, never the other way round; no user code runs under either lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use more_executors_core::Error;

use crate::job::cell::{Cell, Head};
use crate::job::{JobClosed, JobInfo, JobState, Outcome};
use crate::scheduler::ClosedJob;
use crate::scheduler::shared::Shared;

/// The body of a job, a future or a blocking closure: what the cell needs from it.
pub(crate) trait Work<T, E>: Send + Sized + 'static {
    /// Starts the job's task on `shared`'s runtime. The task must end with
    /// [`Cell::finish`](crate::job::cell::Cell::finish).
    fn launch(self, cell: Arc<Cell<Self, T, E>>, shared: &Shared);
}

/// What the scheduler does with a job without knowing its types.
pub(crate) trait Entry: Send + Sync + 'static {
    /// Marks the job active in slot `key`. Called under the scheduler's lock.
    fn activate(&self, key: usize);
    /// Starts the task of a job activated from the queue. Called without locks.
    fn launch(self: Arc<Self>, shared: &Shared);
    /// The pending queue has room for this blocked spawner's job now.
    fn admit(&self);
    /// The scheduler closed while this job's spawner waited.
    fn reject(&self);
    /// Removes a pending job unrun.
    fn drop_unrun(&self, why: Stop);
    /// Stops an active job; see [`Cell::stop_active`](crate::job::cell::Cell::stop_active).
    fn stop(&self, why: Stop) -> bool;
    /// Drops the job's future at its next poll, and reports the overrun.
    fn force(&self);
    /// The job as listed in a close report.
    fn closed_job(&self, fate: JobClosed) -> ClosedJob;
    /// A snapshot of the job.
    fn info(&self) -> JobInfo;
}

/// What a [`Job`](crate::Job) does with its job without knowing the work's type.
pub(crate) trait JobApi<T, E>: Send + Sync {
    /// What never changes after spawn (and the name).
    fn head(&self) -> &Head;
    /// The scheduler the job belongs to.
    fn scheduler(&self) -> &Arc<Shared>;
    /// Takes the result when it is there; else registers the waiter (the caller now waits
    /// for the job, so a failure goes to it rather than to the error handler).
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, Error<E>>>;
    /// The waiter went away without the result: a failure handed to it goes to the error
    /// handler instead.
    fn leave(&self);
    /// Stops the job wherever it is (queue or running); true when its outcome is now (or
    /// already was) cancelled or timed out.
    fn stop(&self, why: Stop) -> bool;
    /// The job's state and outcome, now.
    fn state(&self) -> (JobState, Option<Outcome>);
    /// A snapshot of the job.
    fn info(&self) -> JobInfo;
    /// The same cell, seen as a [`Stopper`].
    fn as_stopper(self: Arc<Self>) -> Arc<dyn Stopper>;
    /// A running blocking job was asked to stop: it cannot be interrupted, so an overrun is
    /// reported if it still runs when the close timeout expires.
    fn watch_overrun(self: Arc<Self>);
}

/// Waiting for a job's task to end (for [`JobClose`](crate::JobClose)).
pub(crate) trait Stopper: Send + Sync + 'static {
    /// Ready once the job's task has ended.
    fn poll_stopped(&self, cx: &mut Context<'_>) -> Poll<()>;
    /// How long a close waits for the job to stop: `None` for async jobs (they are
    /// aborted at the end of the grace period anyway), the close timeout for blocking jobs.
    fn stop_deadline(&self) -> Option<Duration>;
    /// The job overran its close timeout (it was aborted or, blocking, detached).
    fn overran(&self) -> bool;
    /// The job had started running (false for a job removed from the queue unrun).
    fn started(&self) -> bool;
    /// The close timeout expired while the job still ran: report the overrun (once).
    fn report_overrun(&self);
}

/// Why a job is being stopped from outside.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    /// [`Job::close`](crate::Job::close) or the scheduler's close.
    Cancel,
    /// [`Job::wait`](crate::Job::wait)'s timeout expired.
    Timeout(Duration),
}

impl Stop {
    /// The outcome a stop decides.
    pub(crate) fn outcome(self) -> Outcome {
        match self {
            Stop::Cancel => Outcome::Cancelled,
            Stop::Timeout(_) => Outcome::TimedOut,
        }
    }

    /// The result a stop gives the job's waiter.
    pub(crate) fn error<E>(self) -> Error<E> {
        match self {
            Stop::Cancel => Error::Cancelled,
            Stop::Timeout(d) => Error::TimedOut(d),
        }
    }
}

/// Where a job is, as the scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Stage {
    /// Its spawner waits for room in the pending queue.
    Blocked = 0,
    /// In the pending queue.
    Pending = 1,
    /// Holds a slot (or is a shield) and its task runs.
    Active = 2,
    /// Its task has ended, or it left the queue unrun.
    Closed = 3,
    /// The scheduler closed while the spawner waited; the spawner takes the work back.
    Rejected = 4,
}

impl Stage {
    /// The job's state as [`Job::state`](crate::Job::state) reports it.
    pub(crate) fn state(self) -> JobState {
        match self {
            Stage::Blocked | Stage::Pending => JobState::Pending,
            Stage::Active => JobState::Active,
            Stage::Closed | Stage::Rejected => JobState::Closed,
        }
    }
}

impl From<Stage> for u8 {
    fn from(stage: Stage) -> u8 {
        stage as u8
    }
}

/// A byte that is not a [`Stage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotAStage(pub(crate) u8);

impl TryFrom<u8> for Stage {
    type Error = NotAStage;

    fn try_from(v: u8) -> Result<Self, NotAStage> {
        Ok(match v {
            0 => Stage::Blocked,
            1 => Stage::Pending,
            2 => Stage::Active,
            3 => Stage::Closed,
            4 => Stage::Rejected,
            other => return Err(NotAStage(other)),
        })
    }
}

/// A [`Stage`] stored in an atomic byte: the scheduler, the spawner and the job's task
/// read and write it without the cell's lock.
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct AtomicStage(AtomicU8);

impl AtomicStage {
    pub(crate) fn new(stage: Stage) -> Self {
        AtomicStage(AtomicU8::new(stage.into()))
    }

    pub(crate) fn load(&self, order: Ordering) -> Stage {
        // Only `Stage` values are ever stored.
        Stage::try_from(self.0.load(order)).unwrap_or(Stage::Closed)
    }

    pub(crate) fn store(&self, stage: Stage, order: Ordering) {
        self.0.store(stage.into(), order);
    }

    pub(crate) fn swap(&self, stage: Stage, order: Ordering) -> Stage {
        Stage::try_from(self.0.swap(stage.into(), order)).unwrap_or(Stage::Closed)
    }
}
