//! [`RedisExecutor`]: the client side. Submit jobs to a queue in Redis; handles resolve
//! when a worker (in any process) has run them.

mod builder;
mod future;
mod shared;
pub(crate) mod tasks;

pub use builder::RedisExecutorBuilder;
pub use future::RedisFuture;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use more_executors_core::metrics::{Instrumented, StageMetrics};
use more_executors_core::stage::{CancelGate, JobContext, submit_stage};
use more_executors_core::{Error, Executor, Handle, Lifecycle, Runtime};

use crate::error::RemoteError;
use crate::job::RemoteJob;
use crate::keys::{random_id, valid_id};
use future::{ClientCancel, Registration};
use shared::{Reply, Request, Shared, Slot, SlotState};

/// An executor whose jobs run on [`RedisWorker`](crate::RedisWorker)s, in this process or
/// any other, through a queue in Redis.
///
/// # Semantics
/// - **Submit** returns at once. Jobs submitted close together are enqueued by one script
///   call (one round trip for the whole batch); each gets an id (random, or its
///   [`idempotency_key`](RemoteJob::idempotency_key)).
/// - **Resolution**: while jobs are pending, one background task makes one Redis round
///   trip per tick (a blocking pop of this client's reply list) for all of them, however
///   many there are; workers push each outcome there. Each handle resolves exactly once:
///   to the job's output, [`RemoteError::Job`] with its error, the core error the worker's
///   stack produced (timed out, panicked, cancelled), [`RemoteError::DeadLettered`],
///   [`RemoteError::QueueFull`], or [`RemoteError::Unavailable`] when Redis stayed
///   unreachable for the unavailable timeout.
/// - **Cancel**: a job not yet sent or still queued in Redis is cancelled at once and
///   never runs; a running job's cancel is forwarded to its worker, whose local stack
///   decides (a running blocking job refuses), and `cancel()` returns that answer
///   (refused if the worker does not answer within the cancel timeout); a finished job's
///   cancel returns false.
/// - Layers stack on it as on any executor (`retry`, `timeout`, `limit`, `map`,
///   `cancel_on_shutdown`); they apply on the client. A client-side retry needs a `Clone`
///   job and submits it again: give the job an idempotency key to make that re-attach to
///   the first job instead.
/// - **Shutdown** refuses new jobs; pending handles keep waiting for their outcomes.
///
/// Cloning is cheap; clones share the connection and the background tasks, which end
/// once the last clone is dropped and nothing is pending.
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
/// use more_executors_core::Executor;
/// use more_executors_redis::{RedisExecutor, RemoteJob};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Add(u32, u32);
/// impl RemoteJob for Add {
///     const NAME: &'static str = "add";
///     type Output = u32;
///     type Error = String;
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let exec = RedisExecutor::builder("redis://127.0.0.1:6379/", "math").connect().await?;
/// let sum = exec.submit(Add(2, 3)).await?; // a worker on the "math" queue runs it
/// assert_eq!(sum, 5);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisExecutor {
    owner: Arc<Owner>,
}

/// Closes the shared state when the last executor clone goes away.
struct Owner {
    shared: Arc<Shared>,
    runtime: Runtime,
    stage: StageMetrics,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        if !self.runtime.is_shut_down() {
            self.shared.metrics.exec_inprogress.decrement(1.0);
        }
    }
}

impl fmt::Debug for RedisExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisExecutor")
            .field("queue", &self.owner.shared.keys.queue)
            .field("name", &self.owner.shared.name)
            .field("pending", &self.pending())
            .finish()
    }
}

impl RedisExecutor {
    /// A builder for an executor on queue `queue` of the Redis server at `url`
    /// (`redis://host:port/db`, `rediss://` for TLS if redis' TLS features are enabled).
    ///
    /// ```
    /// use std::time::Duration;
    /// use more_executors_redis::RedisExecutor;
    /// let builder = RedisExecutor::builder("redis://127.0.0.1:6379/", "mail")
    ///     .max_queue_len(10_000)
    ///     .result_ttl(Duration::from_secs(3600));
    /// # drop(builder);
    /// ```
    pub fn builder(url: &str, queue: &str) -> RedisExecutorBuilder {
        RedisExecutorBuilder::new(redis::Client::open(url).map(crate::conn::Backend::Single), queue)
    }

    /// A builder for an executor using an existing `redis::Client`.
    ///
    /// ```
    /// use more_executors_redis::RedisExecutor;
    /// let client = redis::Client::open("redis://127.0.0.1:6379/").unwrap();
    /// let builder = RedisExecutor::with_client(client, "mail");
    /// # drop(builder);
    /// ```
    pub fn with_client(client: redis::Client, queue: &str) -> RedisExecutorBuilder {
        RedisExecutorBuilder::new(Ok(crate::conn::Backend::Single(client)), queue)
    }

    /// A builder for an executor on a Redis Cluster (feature `cluster`). All keys of a
    /// queue share its hash tag, so a queue lives on one shard; spread load with several
    /// queues.
    ///
    /// ```no_run
    /// use more_executors_redis::RedisExecutor;
    /// let cluster = redis::cluster::ClusterClient::new(vec!["redis://10.0.0.1:7000/"]).unwrap();
    /// let builder = RedisExecutor::with_cluster(cluster, "mail");
    /// # drop(builder);
    /// ```
    #[cfg(feature = "cluster")]
    pub fn with_cluster(client: redis::cluster::ClusterClient, queue: &str) -> RedisExecutorBuilder {
        RedisExecutorBuilder::new(Ok(crate::conn::Backend::Cluster(Box::new(client))), queue)
    }

    pub(crate) fn from_parts(shared: Arc<Shared>, runtime: Runtime) -> Self {
        let stage = StageMetrics::new("redis", &shared.name);
        RedisExecutor { owner: Arc::new(Owner { shared, runtime, stage }) }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.owner.shared
    }

    /// The queue's name.
    pub fn queue(&self) -> &str {
        &self.shared().keys.queue
    }

    /// Jobs of this client whose outcome has not arrived yet.
    pub fn pending(&self) -> usize {
        self.shared().pending()
    }

    /// How many round trips the outcome reader has made (one per tick, for all pending
    /// jobs together). Exposed to observe the batching.
    pub fn ticks(&self) -> u64 {
        self.shared().ticks.load(Ordering::Relaxed)
    }

    /// The queue's state in Redis: jobs waiting or running, and jobs in the dead-letter
    /// stream (one round trip).
    ///
    /// # Errors
    /// The Redis error when the server cannot be reached.
    ///
    /// ```no_run
    /// # use more_executors_redis::RedisExecutor;
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let exec = RedisExecutor::builder("redis://127.0.0.1:6379/", "math").connect().await?;
    /// let info = exec.queue_info().await?;
    /// println!("{} in the queue, {} dead letters", info.queued, info.dead_letters);
    /// # Ok(()) }
    /// ```
    pub async fn queue_info(&self) -> Result<QueueInfo, redis::RedisError> {
        let keys = &self.shared().keys;
        let mut conn = self.shared().conn.clone();
        let (queued, dead_letters): (Option<i64>, u64) =
            redis::pipe().get(&*keys.len).xlen(&*keys.dead).query_async(&mut conn).await?;
        Ok(QueueInfo { queued: queued.unwrap_or(0).max(0) as u64, dead_letters })
    }

    /// This client's id: the name of its reply list in Redis.
    pub fn client_id(&self) -> &str {
        &self.shared().client_id
    }

    /// Submits `job` and returns its id with its handle. The id is what
    /// [`attach`](Self::attach) takes, from this process or another one.
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// # use more_executors_redis::{RedisExecutor, RemoteJob};
    /// # #[derive(Clone, Serialize, Deserialize)] struct Add(u32, u32);
    /// # impl RemoteJob for Add { const NAME: &'static str = "add"; type Output = u32; type Error = String; }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let exec = RedisExecutor::builder("redis://127.0.0.1:6379/", "math").connect().await?;
    /// let (id, handle) = exec.submit_with_id(Add(1, 1));
    /// println!("submitted {id}");
    /// assert_eq!(handle.await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn submit_with_id<J: RemoteJob>(&self, job: J) -> (String, Handle<J::Output, RemoteError<J::Error>>) {
        let mut id = String::new();
        let h = submit_stage(self, |ctx| {
            let (i, fut) = self.stage(job, ctx);
            id = i.to_string();
            fut
        });
        (id, h)
    }

    /// Like [`submit`](Executor::submit), but when the queue is at its maximum length
    /// this waits (retrying with backoff) until the job is accepted, instead of resolving
    /// the handle to [`RemoteError::QueueFull`]: back pressure on the submitter. Without a
    /// maximum length it is `submit` plus one round trip.
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// # use more_executors_redis::{RedisExecutor, RemoteJob};
    /// # #[derive(Clone, Serialize, Deserialize)] struct Add(u32, u32);
    /// # impl RemoteJob for Add { const NAME: &'static str = "add"; type Output = u32; type Error = String; }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let exec = RedisExecutor::builder("redis://127.0.0.1:6379/", "math").max_queue_len(100).connect().await?;
    /// let handle = exec.submit_ready(Add(1, 2)).await;
    /// assert_eq!(handle.await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn submit_ready<J: RemoteJob>(&self, job: J) -> Handle<J::Output, RemoteError<J::Error>> {
        if self.is_shut_down() {
            return Handle::from_error(Error::ShutDown);
        }
        let shared = self.shared().clone();
        let slot = match make_slot(&job) {
            Ok(slot) => slot,
            Err(msg) => return Handle::from_error(Error::Job(RemoteError::Invalid(msg))),
        };
        *slot.state() = SlotState::Sent;
        let (tx, rx) = oneshot::channel();
        let token = shared.register(&slot.id, tx);
        let reg = Registration { shared: shared.clone(), id: slot.id.clone(), token };
        let mut delays = tasks::backoff();
        loop {
            match tasks::submit_batch(&shared, std::slice::from_ref(&slot)).await {
                Ok(st) if st.statuses.first() == Some(&tasks::Status::Full) => {
                    let delay = delays.next().unwrap_or(std::time::Duration::from_secs(1));
                    tokio::time::sleep(delay).await;
                }
                Ok(st) => {
                    let status = st.statuses.into_iter().next().unwrap_or(tasks::Status::Pending);
                    tasks::apply_status(&shared, &slot, status);
                    break;
                }
                Err(msg) => {
                    shared.resolve(&slot.id, Reply::Unavailable(msg));
                    break;
                }
            }
        }
        let stage = self.owner.stage.clone();
        submit_stage(self, move |ctx| {
            let span = job_span(&shared, &slot.id);
            let gate = ctx.set_gate(CancelGate::Hook(Arc::new(ClientCancel {
                shared: shared.clone(),
                slot: None,
                id: slot.id.clone(),
            })));
            stage.instrument(RedisFuture::waiting(rx, reg, span, gate))
        })
    }

    /// A handle for job `id`, submitted earlier by this or another client (a replica that
    /// restarted, say). It resolves like the original handle: at once if the job already
    /// finished within the result TTL, else when it does. A job unknown to Redis (never
    /// submitted, or finished longer ago than the TTL) resolves to
    /// [`RemoteError::NotFound`]. Cancelling the handle cancels the job by the usual rules.
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// # use more_executors_redis::{RedisExecutor, RemoteJob};
    /// # #[derive(Clone, Serialize, Deserialize)] struct Add(u32, u32);
    /// # impl RemoteJob for Add { const NAME: &'static str = "add"; type Output = u32; type Error = String; }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let exec = RedisExecutor::builder("redis://127.0.0.1:6379/", "math").connect().await?;
    /// let (id, first) = exec.submit_with_id(Add(2, 2));
    /// drop(first); // e.g. the process restarted
    /// let again = exec.attach::<Add>(&id);
    /// assert_eq!(again.await?, 4);
    /// # Ok(()) }
    /// ```
    pub fn attach<J: RemoteJob>(&self, id: &str) -> Handle<J::Output, RemoteError<J::Error>> {
        if !valid_id(id) {
            return Handle::from_error(Error::Job(RemoteError::Invalid(format!("{id:?} is not a job id"))));
        }
        let shared = self.shared().clone();
        let stage = self.owner.stage.clone();
        let id: Arc<str> = id.into();
        submit_stage(self, move |ctx| {
            let (tx, rx) = oneshot::channel();
            let token = shared.register(&id, tx);
            let reg = Registration { shared: shared.clone(), id: id.clone(), token };
            let gate = ctx.set_gate(CancelGate::Hook(Arc::new(ClientCancel {
                shared: shared.clone(),
                slot: None,
                id: id.clone(),
            })));
            let _ = shared.requests.send(Request::Attach(id.clone()));
            stage.instrument(RedisFuture::waiting(rx, reg, job_span(&shared, &id), gate))
        })
    }

    fn stage<J: RemoteJob>(&self, job: J, ctx: &JobContext) -> (Arc<str>, StageFuture<J>) {
        let stage = &self.owner.stage;
        let slot = match make_slot(&job) {
            Ok(slot) => slot,
            Err(msg) => return ("".into(), stage.instrument(RedisFuture::failed(msg))),
        };
        let shared = self.shared();
        let id = slot.id.clone();
        let (tx, rx) = oneshot::channel();
        let token = shared.register(&id, tx);
        let reg = Registration { shared: shared.clone(), id: id.clone(), token };
        let span = job_span(shared, &id);
        let mut slot = slot;
        if let (Some(s), Some(m)) = (span.id(), Arc::get_mut(&mut slot)) {
            m.span = format!("{}/{}", shared.client_id, s.into_u64());
        }
        let gate = ctx.set_gate(CancelGate::Hook(Arc::new(ClientCancel {
            shared: shared.clone(),
            slot: Some(slot.clone()),
            id: id.clone(),
        })));
        // The submitter outlives every executor clone while anything is pending.
        let _ = shared.requests.send(Request::Submit(slot));
        (id, stage.instrument(RedisFuture::waiting(rx, reg, span, gate)))
    }
}

/// The state of a queue in Redis; see [`RedisExecutor::queue_info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueInfo {
    /// Jobs in the queue: waiting, or claimed and not yet acknowledged.
    pub queued: u64,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
}

/// The stage future of a job of type `J`.
type StageFuture<J> = Instrumented<RedisFuture<<J as RemoteJob>::Output, <J as RemoteJob>::Error>>;

fn job_span(shared: &Shared, id: &str) -> tracing::Span {
    tracing::debug_span!("redis_job", queue = %shared.keys.queue, job_id = %id)
}

fn make_slot<J: RemoteJob>(job: &J) -> Result<Arc<Slot>, String> {
    let (id, keyed): (Arc<str>, bool) = match job.idempotency_key() {
        Some(k) if valid_id(&k) => (k.into(), true),
        Some(k) => {
            return Err(format!("idempotency key {k:?} must be 1 to 200 characters of A-Z a-z 0-9 - _ . :"));
        }
        None => (random_id().into(), false),
    };
    if J::NAME.contains('\n') {
        return Err(format!("job name {:?} must not contain a line break", J::NAME));
    }
    let payload =
        serde_json::to_string(job).map_err(|e| format!("job {:?} could not be encoded: {e}", J::NAME))?;
    Ok(Arc::new(Slot {
        id,
        name: J::NAME,
        keyed,
        payload,
        span: String::new(),
        state: std::sync::Mutex::new(SlotState::Queued),
    }))
}

impl Lifecycle for RedisExecutor {
    fn name(&self) -> &str {
        &self.shared().name
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn runtime(&self) -> &Runtime {
        &self.owner.runtime
    }

    /// Refuses new jobs from now on; handles already returned keep waiting for their
    /// outcomes (jobs in Redis are not affected).
    fn shutdown(&self) {
        if !self.owner.runtime.is_shut_down() {
            self.owner.runtime.shutdown();
            self.shared().metrics.exec_inprogress.decrement(1.0);
        }
    }
}

impl<J: RemoteJob> Executor<J> for RedisExecutor {
    type Future = Instrumented<RedisFuture<J::Output, J::Error>>;

    fn call(&self, job: J, ctx: &JobContext) -> Self::Future {
        self.stage(job, ctx).1
    }
}
