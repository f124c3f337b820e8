//! The client's two background tasks: the submitter (one script call per batch of
//! submissions) and the reader (one blocking pop per tick for the outcomes of every
//! pending job), and the remote part of cancel.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use backon::BackoffBuilder;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::shared::{Reply, Request, Shared, Slot, SlotState};
use crate::call::ScriptCall;
use crate::conn::{Conn, strings};
use crate::keys::GROUP;
use crate::scripts;
use crate::wire;

pub(crate) fn backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_secs(1))
        .with_jitter()
        .without_max_times()
        .build()
}

/// What the submit script answered for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// Enqueued.
    Queued,
    /// The queue was full.
    Full,
    /// The id exists and is pending: its outcome will be pushed to this client.
    Pending,
    /// The id exists and finished: its outcome.
    Finished(Arc<str>),
}

/// The submit script's answer for a batch.
#[derive(Debug)]
pub(crate) struct Submitted {
    /// One per job, in order.
    pub(crate) statuses: Vec<Status>,
    /// The queue's length after the batch.
    pub(crate) len: Option<f64>,
}

impl Submitted {
    fn parse(v: Vec<String>) -> Submitted {
        let mut it = v.into_iter();
        let letters = it.next().unwrap_or_default();
        let len = it.next().and_then(|l| l.parse().ok());
        let statuses = letters
            .bytes()
            .map(|b| match b {
                b'+' => Status::Queued,
                b'F' => Status::Full,
                b'R' => Status::Finished(it.next().unwrap_or_default().into()),
                _ => Status::Pending,
            })
            .collect();
        Submitted { statuses, len }
    }
}

/// Enqueues `slots` (already marked sent) with one call of the submit script, retrying
/// while Redis is unreachable up to the unavailable timeout. Returns the per-job statuses,
/// or the last error message once the timeout expired.
///
/// A script, not plain commands: adding the entries, counting them in the queue's length
/// and writing their queued states happen at once, so a job that counts as queued can be
/// cancelled (its state names its entry) and the length never counts a job twice.
pub(crate) async fn submit_batch(shared: &Shared, slots: &[Arc<Slot>]) -> Result<Submitted, String> {
    let cfg = &shared.config;
    let bytes: usize =
        slots.iter().map(|s| 32 + s.id.len() + s.name.len() + s.payload.len() + s.span.len()).sum();
    let mut call = ScriptCall::new(&scripts::SUBMIT, &[&shared.keys.stream], 3 + 5 * slots.len(), bytes);
    call.arg(&*shared.keys.prefix).arg(cfg.max_len).arg(&shared.client_id);
    for s in slots {
        call.arg(&*s.id).arg(if s.keyed { "1" } else { "0" }).arg(s.name).arg(&s.payload).arg(&s.span);
    }
    let started = Instant::now();
    let mut delays = backoff();
    let mut conn = shared.conn.clone();
    loop {
        match call.invoke::<redis::Value>(&mut conn).await {
            Ok(v) => return Ok(Submitted::parse(strings(v))),
            Err(e) => {
                if started.elapsed() >= cfg.unavailable_timeout {
                    return Err(e.to_string());
                }
                tracing::warn!(error = %e, queue = %shared.keys.queue, "submit failed; retrying");
                tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
            }
        }
    }
}

/// Applies a batch's answer: each job's status and the queue length, or the error that
/// made the batch fail.
fn conclude_batch(shared: &Shared, slots: &[Arc<Slot>], answer: Result<Submitted, String>) {
    match answer {
        Ok(answer) => {
            for (slot, status) in slots.iter().zip(answer.statuses) {
                apply_status(shared, slot, status);
            }
            if let Some(len) = answer.len {
                shared.metrics.queue_len.set(len);
            }
        }
        Err(msg) => {
            for slot in slots {
                shared.resolve(&slot.id, Reply::Unavailable(msg.clone()));
            }
        }
    }
}

/// Applies the submit script's answer for one job.
pub(crate) fn apply_status(shared: &Shared, slot: &Slot, status: Status) {
    match status {
        Status::Queued => shared.metrics.submitted.increment(1),
        Status::Full => shared.resolve(&slot.id, Reply::Full),
        Status::Finished(outcome) => shared.resolve(&slot.id, Reply::Outcome(outcome)),
        Status::Pending => {} // its outcome will be pushed to us.
    }
}

/// The submitter: batches every request waiting in the channel into one script call.
pub(crate) async fn submitter(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut batch: Vec<Arc<Slot>> = Vec::new();
    let mut attach: Vec<Arc<str>> = Vec::new();
    loop {
        let first = match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(_) if shared.closed.load(Ordering::Acquire) && shared.pending() == 0 => return,
            Err(_) => continue,
        };
        let mut next = Some(first);
        while let Some(req) = next.take().or_else(|| rx.try_recv().ok()) {
            match req {
                Request::Submit(slot) => {
                    let mut st = slot.state();
                    if *st == SlotState::Queued {
                        *st = SlotState::Sent;
                        drop(st);
                        batch.push(slot);
                    }
                }
                Request::Attach(id) => attach.push(id),
            }
            if batch.len() >= shared.config.batch {
                break;
            }
        }
        if !batch.is_empty() {
            let answer = submit_batch(&shared, &batch).await;
            conclude_batch(&shared, &batch, answer);
            batch.clear();
        }
        for id in attach.drain(..) {
            attach_one(&shared, id).await;
        }
    }
}

async fn attach_one(shared: &Shared, id: Arc<str>) {
    let started = Instant::now();
    let mut delays = backoff();
    let mut conn = shared.conn.clone();
    loop {
        let r = scripts::ATTACH
            .key(shared.keys.job(&id))
            .key(shared.keys.out(&id))
            .arg(&shared.client_id)
            .invoke_async::<String>(&mut conn)
            .await;
        match r {
            Ok(s) if s == "N" => return shared.resolve(&id, Reply::NotFound),
            Ok(s) if s.starts_with('R') => return shared.resolve(&id, Reply::Outcome(s[1..].into())),
            Ok(_) => return,
            Err(e) if started.elapsed() >= shared.config.unavailable_timeout => {
                return shared.resolve(&id, Reply::Unavailable(e.to_string()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "attach failed; retrying");
                tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
            }
        }
    }
}

/// The reader: while jobs are pending or cancel answers awaited, one `BLMPOP` per tick
/// takes every outcome and cancel answer pushed to this client's reply list, up to the
/// batch size. (A worker answers an accepted cancel after it stored the cancelled outcome,
/// so the outcome may resolve the handle before the answer comes.)
pub(crate) async fn reader(shared: Arc<Shared>, mut conn: Conn) {
    let block = shared.config.common.block.as_secs_f64();
    let mut failing_since: Option<Instant> = None;
    let mut delays = backoff();
    loop {
        if shared.pending() == 0 && !shared.awaits_cancel_answers() {
            if shared.closed.load(Ordering::Acquire) {
                return;
            }
            // A registration after this check notifies (the permit is stored).
            tokio::select! {
                _ = shared.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        let r: redis::RedisResult<Option<(String, Vec<String>)>> = redis::cmd("BLMPOP")
            .arg(block)
            .arg(1)
            .arg(&shared.reply_key)
            .arg("LEFT")
            .arg("COUNT")
            .arg(shared.config.batch)
            .query_async(&mut conn)
            .await;
        shared.ticks.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(popped) => {
                failing_since = None;
                delays = backoff();
                for msg in popped.map(|(_, m)| m).unwrap_or_default() {
                    for line in msg.split('\n') {
                        route(&shared, line);
                    }
                }
            }
            Err(e) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= shared.config.unavailable_timeout {
                    tracing::error!(error = %e, queue = %shared.keys.queue, "Redis unreachable; failing pending handles");
                    shared.fail_all(&e.to_string());
                    failing_since = None;
                } else {
                    tracing::warn!(error = %e, queue = %shared.keys.queue, "reading outcomes failed; retrying");
                    tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
                }
            }
        }
    }
}

/// Routes one line of a message of the reply list: `r <id> <outcome>` or `c <id> <0|1>`
/// (a worker pushes the outcomes of a batch as one message, one line each).
fn route(shared: &Shared, msg: &str) {
    let mut parts = msg.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("r"), Some(id), Some(outcome)) => shared.resolve(id, Reply::Outcome(outcome.into())),
        (Some("c"), Some(id), Some(answer)) => shared.cancel_answer(id, answer == "1"),
        _ => tracing::warn!(message = msg, "unexpected message on the reply list; ignored"),
    }
}

/// Cancels a job that was sent to Redis: see [`scripts::CANCEL`].
pub(crate) async fn cancel_remote(shared: &Arc<Shared>, id: &Arc<str>) -> bool {
    let answer = shared.expect_cancel_answer(id);
    let mut conn = shared.conn.clone();
    let r = scripts::CANCEL
        .key(&*shared.keys.stream)
        .key(shared.keys.job(id))
        .key(shared.keys.out(id))
        .arg(&*shared.keys.prefix)
        .arg(GROUP)
        .arg(&**id)
        .arg(&shared.client_id)
        .arg(shared.config.common.result_ttl.as_millis() as u64)
        .arg(wire::CANCELLED)
        .invoke_async::<String>(&mut conn)
        .await;
    let accepted = match r.as_deref() {
        Ok("C") => true,
        Ok("F") => {
            // The worker's answer arrives on the reply list; keep the reader ticking.
            shared.wake.notify_one();
            match tokio::time::timeout(shared.config.cancel_timeout, answer).await {
                Ok(Ok(accepted)) => accepted,
                _ => {
                    tracing::warn!(job = %id, "the worker did not answer the cancel request in time; refused");
                    false
                }
            }
        }
        Ok(_) => false,
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "cancel failed: Redis unreachable; refused");
            false
        }
    };
    if !accepted {
        shared.cancel_answer(id, false);
    }
    accepted
}
