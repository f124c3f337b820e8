//! Spawning: [`JobBuilder`] and the [`Spawn`] futures.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use std::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Scheduler;
use super::shared::{Entered, Mode, Shared};
use crate::error::{Closed, ClosedReason, TrySpawnError};
use crate::job::cell::{Cell, Head};
use crate::job::task::{AsyncWork, BlockingWork};
use crate::job::{AlwaysOk, Job, JobCtx, JobKind, always_ok};
use crate::seam::{Stage, Work};

/// Options for one job: a name and a cancellation token. Obtained from
/// [`Scheduler::job`]; finish with one of the spawning methods.
///
/// ```
/// use tokio_util::sync::CancellationToken;
/// use more_executors_jobs::Scheduler;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scheduler = Scheduler::new();
/// let token = CancellationToken::new();
/// let watch = token.clone();
/// let job = scheduler
///     .job()
///     .name("sync-inventory")
///     .token(token)
///     .spawn(async move {
///         watch.cancelled().await; // stop cooperatively when closed
///         Ok::<_, String>("flushed")
///     })
///     .await
///     .unwrap();
/// assert_eq!(&*job.name(), "sync-inventory");
/// assert!(job.close().await.was_cancelled());
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a JobBuilder spawns nothing until one of its spawn methods is called"]
pub struct JobBuilder<'a> {
    scheduler: &'a Scheduler,
    name: Option<Arc<str>>,
    token: Option<CancellationToken>,
}

struct Opts {
    /// Assigned ahead of the cell when the job's context needs it.
    id: Option<u64>,
    name: Option<Arc<str>>,
    token: Option<CancellationToken>,
    location: &'static Location<'static>,
    kind: JobKind,
}

impl<'a> JobBuilder<'a> {
    pub(crate) fn new(scheduler: &'a Scheduler) -> Self {
        JobBuilder { scheduler, name: None, token: None }
    }

    /// Names the job (shown in [`Scheduler::jobs`], tracing spans and error reports).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("x").spawn(async { Ok::<_, String>(()) }).await.unwrap();
    /// assert_eq!(&*job.name(), "x");
    /// # }
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Gives the job a cancellation token to watch. Closing the job (or the scheduler)
    /// cancels the token and lets the job finish within the close timeout before its
    /// future is dropped; a job without a token is dropped at its next `.await`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use more_executors_jobs::{CancellationToken, Scheduler};
    /// let s = Scheduler::new();
    /// let token = CancellationToken::new();
    /// let job = s.job().token(token.clone()).spawn(std::future::pending::<Result<(), String>>()).await.unwrap();
    /// drop(job.close());
    /// assert!(token.is_cancelled());
    /// # }
    /// ```
    pub fn token(mut self, token: CancellationToken) -> Self {
        self.token = Some(token);
        self
    }

    fn opts(self, kind: JobKind, location: &'static Location<'static>) -> (Arc<Shared>, Opts) {
        (self.scheduler.shared.clone(), Opts { id: None, name: self.name, token: self.token, location, kind })
    }

    /// Spawns `fut` as a job; see [`Scheduler::spawn`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("a").spawn(async { Ok::<_, String>(1) }).await.unwrap();
    /// assert_eq!(job.await, Ok(1));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F, T, E>(self, fut: F) -> Spawn<F, T, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let (shared, opts) = self.opts(JobKind::Async, Location::caller());
        Spawn { inner: SpawnInner::new(shared, AsyncWork(fut), opts) }
    }

    /// Spawns the future `f` makes from the job's [`JobCtx`] (its id and cancellation
    /// token); see [`Scheduler::spawn_with`]. The token is the one given with
    /// [`token`](Self::token), else a new one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("a").spawn_with(|ctx| async move { Ok::<_, String>(ctx.id()) }).await.unwrap();
    /// let id = job.id();
    /// assert_eq!(job.await, Ok(id));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_with<M, F, T, E>(mut self, f: M) -> Spawn<F, T, E>
    where
        M: FnOnce(JobCtx) -> F,
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let token = self.token.get_or_insert_with(CancellationToken::new).clone();
        let id = self.scheduler.shared.next_id();
        let fut = f(JobCtx { id, token });
        let (shared, mut opts) = self.opts(JobKind::Async, Location::caller());
        opts.id = Some(id);
        Spawn { inner: SpawnInner::new(shared, AsyncWork(fut), opts) }
    }

    /// Spawns a future whose output is the job's value and which cannot fail; the short
    /// form of `spawn(always_ok(fut))` (see [`always_ok`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("tick").spawn_infallible(async { 7 }).await.unwrap();
    /// assert_eq!(job.await, Ok(7));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_infallible<F>(self, fut: F) -> Spawn<AlwaysOk<F>, F::Output, Infallible>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn(always_ok(fut))
    }

    /// Spawns `fut` if it can start or be queued now; see [`Scheduler::try_spawn`].
    ///
    /// # Errors
    /// [`TrySpawnError::Full`] or [`TrySpawnError::Closed`], with `fut` unrun.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("a").try_spawn(async { Ok::<_, String>(1) }).unwrap();
    /// assert_eq!(job.await, Ok(1));
    /// # }
    /// ```
    #[track_caller]
    pub fn try_spawn<F, T, E>(self, fut: F) -> Result<Job<T, E>, TrySpawnError<F>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let (shared, opts) = self.opts(JobKind::Async, Location::caller());
        try_enter(&shared, AsyncWork(fut), opts, Mode::Try).map_err(|e| map_try(e, |w| w.0))
    }

    /// Spawns the blocking closure `f`; see [`Scheduler::spawn_blocking`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("hash").spawn_blocking(|| Ok::<_, String>(2)).await.unwrap();
    /// assert_eq!(job.await, Ok(2));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, T, E>(self, f: F) -> SpawnBlocking<F, T, E>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let (shared, opts) = self.opts(JobKind::Blocking, Location::caller());
        SpawnBlocking { inner: SpawnInner::new(shared, BlockingWork(f), opts) }
    }

    /// Spawns the blocking closure `f` if it can start or be queued now.
    ///
    /// # Errors
    /// [`TrySpawnError::Full`] or [`TrySpawnError::Closed`], with `f` unrun.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().try_spawn_blocking(|| Ok::<_, String>(2)).unwrap();
    /// assert_eq!(job.await, Ok(2));
    /// # }
    /// ```
    #[track_caller]
    pub fn try_spawn_blocking<F, T, E>(self, f: F) -> Result<Job<T, E>, TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let (shared, opts) = self.opts(JobKind::Blocking, Location::caller());
        try_enter(&shared, BlockingWork(f), opts, Mode::Try).map_err(|e| map_try(e, |w| w.0))
    }

    /// Runs `fut` as a shield; see [`Scheduler::shield`].
    ///
    /// # Errors
    /// [`Closed`] after the scheduler was closed, with `fut` unrun.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let s = more_executors_jobs::Scheduler::new();
    /// let job = s.job().name("write").shield(async { Ok::<_, String>(3) }).unwrap();
    /// assert_eq!(job.await, Ok(3));
    /// # }
    /// ```
    #[track_caller]
    pub fn shield<F, T, E>(self, fut: F) -> Result<Job<T, E>, Closed<F>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let (shared, opts) = self.opts(JobKind::Shield, Location::caller());
        match try_enter(&shared, AsyncWork(fut), opts, Mode::Shield) {
            Ok(job) => Ok(job),
            Err(TrySpawnError::RuntimeGone(w)) => Err(Closed::new(w.0, ClosedReason::RuntimeGone)),
            Err(e) => Err(Closed::new(e.into_inner().0, ClosedReason::Closed)),
        }
    }
}

fn map_try<W, F>(e: TrySpawnError<W>, f: impl FnOnce(W) -> F) -> TrySpawnError<F> {
    match e {
        TrySpawnError::Full(w) => TrySpawnError::Full(f(w)),
        TrySpawnError::Closed(w) => TrySpawnError::Closed(f(w)),
        TrySpawnError::RuntimeGone(w) => TrySpawnError::RuntimeGone(f(w)),
    }
}

fn new_cell<W, T, E>(shared: Arc<Shared>, work: W, opts: Opts) -> Arc<Cell<W, T, E>> {
    let id = opts.id.unwrap_or_else(|| shared.next_id());
    let head = Head::new(id, opts.name, opts.kind, opts.location, Instant::now(), opts.token);
    Cell::new(head, shared, work)
}

fn try_enter<W, T, E>(
    shared: &Arc<Shared>,
    work: W,
    opts: Opts,
    mode: Mode,
) -> Result<Job<T, E>, TrySpawnError<W>>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    if shared.is_closed() {
        return Err(TrySpawnError::Closed(work));
    }
    let cell = new_cell(shared.clone(), work, opts);
    let take = |cell: &Cell<W, T, E>| cell.take_work().expect("the work is still in the cell");
    match shared.enter(&cell, mode) {
        Entered::Started | Entered::Queued => Ok(Job::new(cell)),
        Entered::Full | Entered::Blocked => Err(TrySpawnError::Full(take(&cell))),
        Entered::Closed => Err(TrySpawnError::Closed(take(&cell))),
        Entered::RuntimeGone => Err(TrySpawnError::RuntimeGone(take(&cell))),
    }
}

/// The state machine behind [`Spawn`] and [`SpawnBlocking`].
struct SpawnInner<W, T, E> {
    state: State<W, T, E>,
}

enum State<W, T, E> {
    Init { shared: Arc<Shared>, work: W, opts: Opts },
    Blocked { cell: Arc<Cell<W, T, E>> },
    Done,
}

// The work is moved, never pinned.
impl<W, T, E> Unpin for SpawnInner<W, T, E> {}

impl<W, T, E> SpawnInner<W, T, E> {
    fn new(shared: Arc<Shared>, work: W, opts: Opts) -> Self {
        SpawnInner { state: State::Init { shared, work, opts } }
    }
}

impl<W, T, E> SpawnInner<W, T, E>
where
    W: Work<T, E>,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn poll_spawn(&mut self, cx: &mut Context<'_>) -> Poll<Result<Job<T, E>, Closed<W>>> {
        if let State::Init { .. } = self.state {
            let State::Init { shared, work, opts } = std::mem::replace(&mut self.state, State::Done) else {
                unreachable!()
            };
            if shared.is_closed() {
                return Poll::Ready(Err(Closed::new(work, ClosedReason::Closed)));
            }
            let cell = new_cell(shared, work, opts);
            let refused = |reason| {
                let work = cell.take_work().expect("the work is still in the cell");
                Poll::Ready(Err(Closed::new(work, reason)))
            };
            match cell.shared.enter(&cell, Mode::Wait) {
                Entered::Started | Entered::Queued => return Poll::Ready(Ok(Job::new(cell))),
                Entered::Closed | Entered::Full => return refused(ClosedReason::Closed),
                Entered::RuntimeGone => return refused(ClosedReason::RuntimeGone),
                Entered::Blocked => self.state = State::Blocked { cell },
            }
        }
        let State::Blocked { cell } = &self.state else {
            panic!("a spawn future was polled after it completed");
        };
        cell.register_spawner(cx.waker());
        match cell.stage.load(Ordering::Acquire) {
            Stage::Blocked => Poll::Pending,
            Stage::Rejected => {
                let work = cell.take_work().expect("the work is still in the cell");
                self.state = State::Done;
                Poll::Ready(Err(Closed::new(work, ClosedReason::Closed)))
            }
            _ => {
                let State::Blocked { cell } = std::mem::replace(&mut self.state, State::Done) else {
                    unreachable!()
                };
                Poll::Ready(Ok(Job::new(cell)))
            }
        }
    }
}

impl<W, T, E> Drop for SpawnInner<W, T, E> {
    fn drop(&mut self) {
        if let State::Blocked { cell } = &self.state {
            if cell.stage.load(Ordering::Acquire) == Stage::Blocked {
                // Not admitted yet: nothing is spawned. Admitted meanwhile: it stays, detached.
                cell.shared.cancel_blocked(Arc::as_ptr(cell) as *const ());
            }
        }
    }
}

/// The future of [`Scheduler::spawn`]: resolves to the [`Job`] once it started or was
/// queued, or to [`Closed`] with the future back.
///
/// Dropping it while it waits for room in the queue spawns nothing (if room appeared just
/// before, the job is already queued and stays, detached).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let s = more_executors_jobs::Scheduler::new();
/// let spawn = s.spawn(async { Ok::<_, String>(1) });
/// let job = spawn.await.unwrap();
/// assert_eq!(job.await, Ok(1));
/// # }
/// ```
#[must_use = "nothing is spawned until this is awaited"]
pub struct Spawn<F, T, E> {
    inner: SpawnInner<AsyncWork<F>, T, E>,
}

impl<F, T, E> fmt::Debug for Spawn<F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Spawn")
    }
}

impl<F, T, E> Future for Spawn<F, T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    type Output = Result<Job<T, E>, Closed<F>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll_spawn(cx).map(|r| r.map_err(|c| c.map(|w| w.0)))
    }
}

/// The future of [`Scheduler::spawn_blocking`]; like [`Spawn`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let s = more_executors_jobs::Scheduler::new();
/// let spawn = s.spawn_blocking(|| Ok::<_, String>(1));
/// assert_eq!(spawn.await.unwrap().await, Ok(1));
/// # }
/// ```
#[must_use = "nothing is spawned until this is awaited"]
pub struct SpawnBlocking<F, T, E> {
    inner: SpawnInner<BlockingWork<F>, T, E>,
}

impl<F, T, E> fmt::Debug for SpawnBlocking<F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpawnBlocking")
    }
}

impl<F, T, E> Future for SpawnBlocking<F, T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    type Output = Result<Job<T, E>, Closed<F>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll_spawn(cx).map(|r| r.map_err(|c| c.map(|w| w.0)))
    }
}
