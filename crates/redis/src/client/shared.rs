//! State shared by a client's executor clones, handles and background tasks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use more_executors_core::metrics::{Counter, Gauge};

use crate::conn::Conn;
use crate::keys::Keys;
use crate::settings::CommonSettings;

/// Settings of a client.
#[derive(Debug, Clone)]
pub(crate) struct ClientConfig {
    pub(crate) max_len: u64,
    pub(crate) unavailable_timeout: Duration,
    pub(crate) cancel_timeout: Duration,
    pub(crate) batch: usize,
    pub(crate) common: CommonSettings,
}

/// What the background tasks deliver to a waiting handle.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// The job's encoded outcome.
    Outcome(Arc<str>),
    /// The queue was full; the job was not enqueued.
    Full,
    /// Redis stayed unreachable for the unavailable timeout.
    Unavailable(String),
    /// `attach` found no such job.
    NotFound,
}

/// Where a submitted job stands on this side of Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Waiting for the submitter's next batch: a cancel removes it without asking Redis.
    Queued,
    /// Sent to Redis (or being sent).
    Sent,
    /// Cancelled before it was sent.
    Cancelled,
}

/// One job on its way to Redis.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) id: Arc<str>,
    pub(crate) name: &'static str,
    /// The id is the job's idempotency key (looked up in Redis before enqueueing).
    pub(crate) keyed: bool,
    pub(crate) payload: String,
    pub(crate) span: String,
    pub(crate) state: Mutex<SlotState>,
}

impl Slot {
    pub(crate) fn state(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A request for the submitter task.
#[derive(Debug)]
pub(crate) enum Request {
    Submit(Arc<Slot>),
    Attach(Arc<str>),
}

type Waiters = HashMap<Arc<str>, Vec<(u64, oneshot::Sender<Reply>)>>;

/// Counters of one client.
#[derive(Debug)]
pub(crate) struct ClientMetrics {
    pub(crate) queue_len: Gauge,
    pub(crate) submitted: Counter,
    pub(crate) exec_inprogress: Gauge,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) keys: Keys,
    pub(crate) name: Arc<str>,
    pub(crate) conn: Conn,
    pub(crate) client_id: String,
    pub(crate) reply_key: String,
    pub(crate) config: ClientConfig,
    waiters: Mutex<Waiters>,
    cancels: Mutex<HashMap<Arc<str>, Vec<oneshot::Sender<bool>>>>,
    next_token: AtomicU64,
    pub(crate) requests: mpsc::UnboundedSender<Request>,
    /// Wakes the reader when the first job of an idle period is registered.
    pub(crate) wake: Notify,
    /// Set when the last executor clone is dropped: the tasks end once nothing is pending.
    pub(crate) closed: AtomicBool,
    pub(crate) ticks: AtomicU64,
    pub(crate) metrics: ClientMetrics,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        keys: Keys,
        name: Arc<str>,
        conn: Conn,
        client_id: String,
        config: ClientConfig,
        requests: mpsc::UnboundedSender<Request>,
    ) -> Shared {
        let reply_key = keys.reply(&client_id);
        let metrics = ClientMetrics {
            queue_len: Gauge::labelled("more_executors_redis_queue_length", "queue", &keys.queue),
            submitted: Counter::typed("more_executors_redis_submitted_total", "redis", &name),
            exec_inprogress: Gauge::typed("more_executors_exec_inprogress", "redis", &name),
        };
        Counter::typed("more_executors_exec_total", "redis", &name).increment(1);
        metrics.exec_inprogress.increment(1.0);
        Shared {
            keys,
            name,
            conn,
            client_id,
            reply_key,
            config,
            waiters: Mutex::new(HashMap::new()),
            cancels: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(0),
            requests,
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            ticks: AtomicU64::new(0),
            metrics,
        }
    }

    fn waiters(&self) -> MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a handle waiting for job `id`; returns its token for [`unregister`](Self::unregister).
    pub(crate) fn register(&self, id: &Arc<str>, tx: oneshot::Sender<Reply>) -> u64 {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let was_empty = {
            let mut w = self.waiters();
            let was_empty = w.is_empty();
            w.entry(id.clone()).or_default().push((token, tx));
            was_empty
        };
        if was_empty {
            self.wake.notify_one();
        }
        token
    }

    pub(crate) fn unregister(&self, id: &str, token: u64) {
        let mut w = self.waiters();
        if let Some(list) = w.get_mut(id) {
            list.retain(|(t, _)| *t != token);
            if list.is_empty() {
                w.remove(id);
            }
        }
    }

    /// Delivers `reply` to every handle waiting for `id`.
    pub(crate) fn resolve(&self, id: &str, reply: Reply) {
        let list = self.waiters().remove(id);
        for (_, tx) in list.into_iter().flatten() {
            let _ = tx.send(reply.clone());
        }
    }

    /// Fails every waiting handle (Redis unreachable for too long).
    pub(crate) fn fail_all(&self, message: &str) {
        let all = std::mem::take(&mut *self.waiters());
        for (_, list) in all {
            for (_, tx) in list {
                let _ = tx.send(Reply::Unavailable(message.to_string()));
            }
        }
    }

    pub(crate) fn pending(&self) -> usize {
        self.waiters().len()
    }

    pub(crate) fn expect_cancel_answer(&self, id: &Arc<str>) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        self.cancels.lock().unwrap_or_else(|p| p.into_inner()).entry(id.clone()).or_default().push(tx);
        rx
    }

    /// Whether a cancel request waits for its worker's answer.
    pub(crate) fn awaits_cancel_answers(&self) -> bool {
        !self.cancels.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    pub(crate) fn cancel_answer(&self, id: &str, accepted: bool) {
        let list = self.cancels.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        for tx in list.into_iter().flatten() {
            let _ = tx.send(accepted);
        }
    }
}
