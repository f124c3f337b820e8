//! The worker's tasks: reader (new jobs), reclaimer (jobs of dead workers, dead letters),
//! heartbeat, control (cancel requests from clients) and finisher (outcomes, in batches).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use more_executors_core::CancelHandle;
use more_executors_core::stage::deadline_after;

use super::WorkerConfig;
use super::handler::{Dispatch, Encoded};
use super::report::{ShutdownReport, Stats, WorkerStats};
use crate::call::{Concat, ScriptCall};
use crate::client::tasks::backoff;
use crate::conn::{Backend, Conn, strings};
use crate::keys::{GROUP, Keys};
use crate::scripts;

struct Job {
    eid: Arc<str>,
    canceller: CancelHandle,
    client_cancel: bool,
    released: bool,
    /// Finished here; its outcome is on the way to Redis (the entry is still heartbeated
    /// until it is stored, so no other worker runs it again meanwhile).
    done: bool,
    /// Dropped with the job when it leaves the running set (its outcome stored, or the
    /// job handed back): what an accepted cancel waits for before it answers.
    gone: Vec<oneshot::Sender<()>>,
}

/// One stream entry to run.
struct Entry {
    eid: Arc<str>,
    id: Arc<str>,
    name: String,
    payload: String,
    span: String,
    deliveries: u64,
}

enum Msg {
    Done { eid: Arc<str>, id: Arc<str>, state: &'static str, outcome: String },
    Flush(oneshot::Sender<()>),
}

struct W {
    keys: Keys,
    id: String,
    conn: Conn,
    handlers: HashMap<&'static str, Arc<dyn Dispatch>>,
    config: WorkerConfig,
    stats: Stats,
    running: Mutex<HashMap<Arc<str>, Job>>,
    sem: Arc<Semaphore>,
    /// Stop claiming.
    stop: watch::Sender<bool>,
    /// Stop everything.
    halt: watch::Sender<bool>,
    idle: Notify,
    done: mpsc::UnboundedSender<Msg>,
    /// Jobs whose outcome this worker produced (stored or about to be).
    completed: std::sync::atomic::AtomicU64,
    /// The runtime the worker runs on (done callbacks may run on other threads).
    rt: tokio::runtime::Handle,
}

impl W {
    /// Drops a job from the running set, waking a shutdown waiting for it to empty.
    fn forget(&self, id: &str) {
        let mut running = self.running();
        running.remove(id);
        if running.is_empty() {
            drop(running);
            self.idle.notify_waiters();
        }
    }

    /// [`forget`](Self::forget) for many jobs, under one lock.
    fn forget_all<'a>(&self, ids: impl Iterator<Item = &'a Arc<str>>) {
        let mut running = self.running();
        for id in ids {
            running.remove(id);
        }
        if running.is_empty() {
            drop(running);
            self.idle.notify_waiters();
        }
    }

    fn running(&self) -> MutexGuard<'_, HashMap<Arc<str>, Job>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) struct Running {
    w: Arc<W>,
    claimers: Vec<JoinHandle<()>>,
    others: Vec<JoinHandle<()>>,
}

pub(crate) async fn start(
    backend: Backend,
    keys: Keys,
    id: String,
    handlers: HashMap<&'static str, Arc<dyn Dispatch>>,
    config: WorkerConfig,
) -> Result<super::RedisWorker, redis::RedisError> {
    let mut conn = backend.connect(None).await?;
    let read_conn = backend.connect(Some(config.common.block)).await?;
    let ctl_conn = backend.connect(Some(config.common.block)).await?;
    create_group(&mut conn, &keys).await?;
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let w = Arc::new(W {
        stats: Stats::new(&keys.queue),
        keys,
        id,
        conn,
        handlers,
        sem: Arc::new(Semaphore::new(config.prefetch)),
        config,
        running: Mutex::new(HashMap::new()),
        stop: watch::channel(false).0,
        halt: watch::channel(false).0,
        idle: Notify::new(),
        done: done_tx,
        completed: std::sync::atomic::AtomicU64::new(0),
        rt: tokio::runtime::Handle::current(),
    });
    let claimers = vec![tokio::spawn(claimer(w.clone(), read_conn))];
    let others = vec![
        tokio::spawn(heartbeat(w.clone())),
        tokio::spawn(control(w.clone(), ctl_conn)),
        tokio::spawn(finisher(w.clone(), done_rx)),
    ];
    tracing::info!(worker = %w.id, queue = %w.keys.queue, "worker started");
    Ok(super::RedisWorker { inner: Running { w, claimers, others } })
}

async fn create_group(conn: &mut Conn, keys: &Keys) -> redis::RedisResult<()> {
    let r: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&*keys.stream)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match r {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// Waits until `stop` is set (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// `fut`'s output, or `None` when `stop` is set first.
async fn unless_stopped<F: Future>(fut: F, stop: &mut watch::Receiver<bool>) -> Option<F::Output> {
    tokio::select! {
        r = fut => Some(r),
        _ = stopped(stop) => None,
    }
}

/// Takes every free prefetch slot, waiting for the first one.
async fn slots(w: &W, stop: &mut watch::Receiver<bool>) -> Option<OwnedSemaphorePermit> {
    let mut permit = unless_stopped(w.sem.clone().acquire_owned(), stop).await?.ok()?;
    let extra = w.sem.available_permits();
    if let Some(more) = (extra > 0).then(|| w.sem.clone().try_acquire_many_owned(extra as u32).ok()).flatten()
    {
        permit.merge(more);
    }
    Some(permit)
}

/// The claiming loop: every third of the visibility timeout it reclaims stalled jobs,
/// and in between it reads new ones, always within the free prefetch slots (one loop, so
/// reading never starves reclaiming).
async fn claimer(w: Arc<W>, mut conn: Conn) {
    let mut stop = w.stop.subscribe();
    let mut delays = backoff();
    let every = w.config.visibility_timeout / 3;
    let mut next_reclaim = deadline_after(Instant::now(), every);
    loop {
        let Some(mut permit) = slots(&w, &mut stop).await else { return };
        if Instant::now() >= next_reclaim {
            reclaim(&w, &mut permit).await;
            next_reclaim = deadline_after(Instant::now(), every);
            if permit.num_permits() == 0 {
                continue;
            }
        }
        let until_reclaim = next_reclaim.saturating_duration_since(Instant::now());
        let block_ms = w.config.common.block.min(until_reclaim).as_millis().max(1) as u64;
        let n = permit.num_permits();
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&w.id)
            .arg("COUNT")
            .arg(n)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&*w.keys.stream)
            .arg(">");
        let read = cmd.query_async::<redis::Value>(&mut conn);
        let Some(r) = unless_stopped(read, &mut stop).await else { return };
        match r {
            Ok(reply) => {
                delays = backoff();
                let entries = entries_of(reply);
                if !entries.is_empty() {
                    start_fresh(&w, entries, &mut permit).await;
                }
            }
            Err(e) => {
                if e.code() == Some("NOGROUP") {
                    let mut c = w.conn.clone();
                    let _ = create_group(&mut c, &w.keys).await;
                    continue;
                }
                tracing::warn!(error = %e, worker = %w.id, "reading the queue failed; retrying");
                tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
            }
        }
    }
}

/// Runs entries read for the first time. Reading them claimed them (they are in this
/// worker's pending entries list): a cancel from now on is forwarded here.
async fn start_fresh(w: &Arc<W>, entries: Vec<Entry>, permit: &mut OwnedSemaphorePermit) {
    let mut claimed = 0;
    for e in entries {
        if e.id.is_empty() {
            dead_letter(w, &e, "the stream entry has no job id").await;
        } else if let Some(p) = permit.split(1) {
            claimed += 1;
            dispatch(w, e, p);
        }
    }
    w.stats.claimed.add(claimed);
}

/// The entries of an `XREADGROUP` reply (one stream), RESP2 or RESP3.
fn entries_of(reply: redis::Value) -> Vec<Entry> {
    use redis::Value;
    let streams = match reply {
        Value::Array(s) => s
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut kv) if kv.len() == 2 => kv.pop(),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Value::Map(m) => m.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for list in streams {
        let Value::Array(items) = list else { continue };
        out.reserve(items.len());
        for item in items {
            let Value::Array(mut pair) = item else { continue };
            if pair.len() != 2 {
                continue;
            }
            let flat = pair.pop();
            let eid = pair.pop().map(text).unwrap_or_default();
            let mut e = Entry {
                eid: eid.into(),
                id: "".into(),
                name: String::new(),
                payload: String::new(),
                span: String::new(),
                deliveries: 1,
            };
            let kvs: Vec<Value> = match flat {
                Some(Value::Array(kvs)) => kvs,
                Some(Value::Map(m)) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
                _ => Vec::new(),
            };
            let mut it = kvs.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                match &k {
                    // `<id>\n<name>\n<payload>`
                    Value::BulkString(b) if b == b"job" => {
                        let job = text(v);
                        let mut parts = job.splitn(3, '\n');
                        if let (Some(id), Some(name), Some(payload)) =
                            (parts.next(), parts.next(), parts.next())
                        {
                            e.id = id.into();
                            e.name = name.to_string();
                            e.payload = payload.to_string();
                        }
                    }
                    Value::BulkString(b) if b == b"span" => e.span = text(v),
                    _ => {}
                }
            }
            out.push(e);
        }
    }
    out
}

fn text(v: redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => {
            String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
        redis::Value::SimpleString(s) => s,
        redis::Value::VerbatimString { text, .. } => text,
        _ => String::new(),
    }
}

async fn dead_letter(w: &W, e: &Entry, reason: &str) {
    let mut conn = w.conn.clone();
    let r = scripts::DEAD
        .key(&*w.keys.stream)
        .key(&*w.keys.dead)
        .arg(&*w.keys.prefix)
        .arg(GROUP)
        .arg(w.config.common.result_ttl.as_millis() as u64)
        .arg(&*e.eid)
        .arg(&*e.id)
        .arg(&e.name)
        .arg(&e.payload)
        .arg(reason)
        .arg(e.deliveries)
        .invoke_async::<i64>(&mut conn)
        .await;
    match r {
        Ok(_) => w.stats.dead_lettered.add(1),
        Err(err) => tracing::warn!(error = %err, "dead-lettering failed; the entry will be reclaimed"),
    }
}

async fn release(w: &W, pairs: &[(Arc<str>, Arc<str>)], reason: &str) -> u64 {
    if pairs.is_empty() {
        return 0;
    }
    let bytes = reason.len() + pairs.iter().map(|(eid, id)| 16 + eid.len() + id.len()).sum::<usize>();
    let mut call = ScriptCall::new(&scripts::RELEASE, &[&w.keys.stream], 5 + 2 * pairs.len(), bytes);
    call.arg(&*w.keys.prefix)
        .arg(GROUP)
        .arg(&w.id)
        .arg(reason)
        .arg(w.config.common.result_ttl.as_millis() as u64);
    for (eid, id) in pairs {
        call.arg(&**eid).arg(&**id);
    }
    let mut conn = w.conn.clone();
    match call.invoke::<u64>(&mut conn).await {
        Ok(n) => {
            w.stats.released.add(n);
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "handing jobs back failed; they will be reclaimed after the visibility timeout");
            0
        }
    }
}

/// Runs one claimed entry through its handler's local stack. Its outcome comes back
/// through the local handle's done callback, with no task of its own: see [`finished`].
fn dispatch(w: &Arc<W>, e: Entry, permit: OwnedSemaphorePermit) {
    let reject = |w: &Arc<W>, e: Entry, permit: OwnedSemaphorePermit, reason: String| {
        let w = w.clone();
        tracing::warn!(job_id = %e.id, reason = %reason, "job handed back");
        tokio::spawn(async move {
            release(&w, &[(e.eid, e.id)], &reason).await;
            drop(permit);
        });
    };
    let Some(handler) = w.handlers.get(e.name.as_str()) else {
        let reason = format!("no worker has a handler for job type {:?}", e.name);
        return reject(w, e, permit, reason);
    };
    let span = tracing::info_span!(
        "redis_job",
        queue = %w.keys.queue,
        job_id = %e.id,
        name = %e.name,
        client_span = %e.span,
        deliveries = e.deliveries,
    );
    // Submitted inside the span: the local stack's job span is its child.
    let started = span
        .in_scope(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.start(&e.payload))));
    let job = match started {
        Ok(Ok(job)) => job,
        Ok(Err(reason)) => return reject(w, e, permit, reason),
        Err(_) => {
            let reason = format!("the handler of job type {:?} panicked", e.name);
            return reject(w, e, permit, reason);
        }
    };
    // In the running set before the callback is registered: it may run at once.
    w.running().insert(
        e.id.clone(),
        Job {
            eid: e.eid.clone(),
            canceller: job.canceller(),
            client_cancel: false,
            released: false,
            done: false,
            gone: Vec::new(),
        },
    );
    let w = w.clone();
    job.on_done(Box::new(move |out| {
        drop(permit);
        finished(&w, e.eid, e.id, out);
    }));
}

/// A job's local outcome, on the thread that recorded it: sent to the finisher to be
/// stored, or handed back to the queue when this worker cancelled it (shutdown) or its
/// local stack shut down under it.
fn finished(w: &Arc<W>, eid: Arc<str>, id: Arc<str>, out: Encoded) {
    let (released, client_cancel) = {
        let mut running = w.running();
        let job = running.get_mut(&id);
        let (released, client_cancel) = job.as_ref().map_or((true, false), |j| (j.released, j.client_cancel));
        match (&out, job) {
            // Stored even when handed back meanwhile: the first outcome wins. The
            // finisher removes the job once the outcome is stored.
            (Some((state, _)), Some(j)) if *state != "c" || client_cancel => j.done = true,
            _ => {}
        }
        (released, client_cancel)
    };
    match out {
        Some((state, outcome)) if state != "c" || client_cancel => {
            w.completed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = w.done.send(Msg::Done { eid, id, state, outcome });
        }
        // Cancelled by this worker (shutdown) or its stack shut down: hand it back.
        _ if !released => {
            let w2 = w.clone();
            w.rt.spawn(async move {
                release(&w2, &[(eid, id.clone())], "").await;
                w2.forget(&id);
            });
        }
        _ => w.forget(&id),
    }
}

async fn reclaim(w: &Arc<W>, permit: &mut OwnedSemaphorePermit) {
    let free = permit.num_permits();
    let mut conn = w.conn.clone();
    let r = scripts::RECLAIM
        .key(&*w.keys.stream)
        .key(&*w.keys.dead)
        .arg(&*w.keys.prefix)
        .arg(GROUP)
        .arg(&w.id)
        .arg(w.config.visibility_timeout.as_millis() as u64)
        .arg(w.config.max_deliveries)
        .arg(free)
        .arg(w.config.common.result_ttl.as_millis() as u64)
        .invoke_async::<redis::Value>(&mut conn)
        .await;
    let v = match r {
        Ok(v) => strings(v),
        Err(e) => {
            tracing::warn!(error = %e, worker = %w.id, "reclaiming failed; retrying at the next tick");
            return;
        }
    };
    let dead: u64 = v.first().and_then(|s| s.parse().ok()).unwrap_or(0);
    if dead > 0 {
        w.stats.dead_lettered.add(dead);
        tracing::warn!(count = dead, queue = %w.keys.queue, "jobs moved to the dead-letter stream");
    }
    let mut claimed = 0;
    for c in v.get(2..).unwrap_or_default().chunks_exact(6) {
        let e = Entry {
            eid: c[0].as_str().into(),
            id: c[1].as_str().into(),
            name: c[2].clone(),
            payload: c[3].clone(),
            span: c[4].clone(),
            deliveries: c[5].parse().unwrap_or(0),
        };
        if let Some(p) = permit.split(1) {
            claimed += 1;
            dispatch(w, e, p);
        }
    }
    if claimed > 0 {
        w.stats.reclaimed.add(claimed);
        tracing::info!(count = claimed, worker = %w.id, "reclaimed jobs of stopped workers");
    }
}

async fn heartbeat(w: Arc<W>) {
    let mut halt = w.halt.subscribe();
    let every = w.config.visibility_timeout / 3;
    loop {
        if unless_stopped(tokio::time::sleep(every), &mut halt).await.is_none() {
            return;
        }
        let eids: Vec<Arc<str>> =
            w.running().values().filter(|j| !j.released).map(|j| j.eid.clone()).collect();
        if eids.is_empty() {
            continue;
        }
        let bytes = eids.iter().map(|eid| 8 + eid.len()).sum();
        let mut call = ScriptCall::new(&scripts::HEARTBEAT, &[&w.keys.stream], 2 + eids.len(), bytes);
        call.arg(GROUP).arg(&w.id);
        for eid in &eids {
            call.arg(&**eid);
        }
        let mut conn = w.conn.clone();
        if let Err(e) = call.invoke::<i64>(&mut conn).await {
            tracing::warn!(error = %e, worker = %w.id, "heartbeat failed");
        }
    }
}

async fn control(w: Arc<W>, mut conn: Conn) {
    let mut halt = w.halt.subscribe();
    let key = w.keys.control(&w.id);
    let block = w.config.common.block.as_secs_f64();
    let mut delays = backoff();
    loop {
        let mut cmd = redis::cmd("BLMPOP");
        cmd.arg(block).arg(1).arg(&key).arg("LEFT").arg("COUNT").arg(100);
        let pop = cmd.query_async::<Option<(String, Vec<String>)>>(&mut conn);
        let Some(r) = unless_stopped(pop, &mut halt).await else { return };
        match r {
            Ok(popped) => {
                delays = backoff();
                for msg in popped.map(|(_, m)| m).unwrap_or_default() {
                    // `<job id> <client id>`: answer on the client's reply list.
                    let Some((id, client)) = msg.split_once(' ') else { continue };
                    let w = w.clone();
                    let (id, reply): (Arc<str>, String) = (id.into(), w.keys.reply(client));
                    tokio::spawn(async move { answer_cancel(&w, id, reply).await });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, worker = %w.id, "reading cancel requests failed; retrying");
                tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
            }
        }
    }
}

/// Asks the job's local stack to cancel and answers the client. An accepted cancel is
/// answered only once the cancelled outcome is stored: the client's handle resolves on the
/// answer, and a worker killed between the answer and the store would leave the job to be
/// reclaimed and run again, with an outcome other than the cancel its handle reported.
async fn answer_cancel(w: &W, id: Arc<str>, reply: String) {
    let asked = w.running().get_mut(&id).map(|j| {
        j.client_cancel = true;
        let (tx, gone) = oneshot::channel();
        j.gone.push(tx);
        (j.canceller.clone(), gone)
    });
    let accepted = match asked {
        Some((c, gone)) => {
            let accepted = c.cancel_async().await;
            if accepted {
                let mut halt = w.halt.subscribe();
                // Stored and acknowledged (or handed back) once the job leaves the running
                // set; a worker halting meanwhile does not answer at all.
                if unless_stopped(gone, &mut halt).await.is_none() {
                    return;
                }
            }
            accepted
        }
        None => false,
    };
    if let (false, Some(j)) = (accepted, w.running().get_mut(&id)) {
        j.client_cancel = false;
    }
    tracing::debug!(job_id = %id, accepted, "cancel requested by a client");
    let mut conn = w.conn.clone();
    let r: redis::RedisResult<()> = redis::pipe()
        .rpush(&reply, format!("c {id} {}", u8::from(accepted)))
        .ignore()
        .pexpire(&reply, w.config.common.result_ttl.as_millis() as i64)
        .ignore()
        .query_async(&mut conn)
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not answer a cancel request");
    }
}

async fn finisher(w: Arc<W>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut batch = Vec::new();
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(m) = next.take().or_else(|| rx.try_recv().ok()) {
            match m {
                Msg::Done { eid, id, state, outcome } => batch.push((eid, id, state, outcome)),
                Msg::Flush(tx) => flushes.push(tx),
            }
            if batch.len() >= 512 {
                break;
            }
        }
        if !batch.is_empty() {
            let mut delays = backoff();
            loop {
                match store_outcomes(&w, &batch).await {
                    Ok(()) => {
                        w.stats.acked.add(batch.len() as u64);
                        w.forget_all(batch.iter().map(|(_, id, _, _)| id));
                        break;
                    }
                    Err(e) => {
                        // Outcomes are kept until Redis takes them; the entries stay pending
                        // (heartbeats stop for finished jobs, so they may run again elsewhere
                        // if this lasts longer than the visibility timeout).
                        tracing::warn!(error = %e, count = batch.len(), "storing outcomes failed; retrying");
                        tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
                    }
                }
            }
            batch.clear();
        }
        for tx in flushes.drain(..) {
            let _ = tx.send(());
        }
    }
}

/// A finished job on its way to Redis: entry id, job id, state letter, encoded outcome.
type Finished = (Arc<str>, Arc<str>, &'static str, String);

/// Stores a batch's outcomes and tells the waiting clients (see [`scripts`] for why this
/// is safe without a script per job): one pipeline of `SET out NX GET` and `GET job` per
/// job, then one [`scripts::ACK`] for the batch. Both steps may be repeated after an error.
async fn store_outcomes(w: &W, batch: &[Finished]) -> redis::RedisResult<()> {
    let ttl = w.config.common.result_ttl.as_millis() as u64;
    let prefix = w.keys.prefix.len();
    let mut pipe = redis::Pipeline::with_capacity(2 * batch.len());
    for (_, id, state, outcome) in batch {
        let key = prefix + 4 + id.len();
        let mut set = redis::Cmd::with_capacity(7, 32 + key + state.len() + outcome.len());
        set.arg("SET")
            .arg(w.keys.out(id))
            .arg(Concat([state, outcome]))
            .arg("NX")
            .arg("GET")
            .arg("PX")
            .arg(ttl);
        pipe.add_command(set);
        let mut get = redis::Cmd::with_capacity(2, 3 + key);
        get.arg("GET").arg(w.keys.job(id));
        pipe.add_command(get);
    }
    let mut conn = w.conn.clone();
    let replies: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
    // Per client, the lines of its one message: `r <id> <outcome>`, as the scripts'
    // `queue_push` writes them and the client's reader (`route`) parses them.
    let mut messages: HashMap<&str, String> = HashMap::new();
    for ((_, id, _, outcome), pair) in batch.iter().zip(replies.chunks_exact(2)) {
        let Some(queued) = pair[1].as_deref() else { continue };
        // The outcome that won: another worker's when it stored one first.
        let won = pair[0].as_deref().map_or(outcome.as_str(), |o| o.get(1..).unwrap_or_default());
        // `q <entry id> <client> [<client> ...]`
        for client in queued.split(' ').skip(2) {
            let msg = messages.entry(client).or_default();
            if !msg.is_empty() {
                msg.push('\n');
            }
            msg.push_str("r ");
            msg.push_str(id);
            msg.push(' ');
            msg.push_str(won);
        }
    }
    let bytes: usize = batch.iter().map(|(eid, id, ..)| 8 + eid.len() + id.len()).sum::<usize>()
        + messages.iter().map(|(c, m)| 8 + c.len() + m.len()).sum::<usize>();
    let mut call =
        ScriptCall::new(&scripts::ACK, &[&w.keys.stream], 4 + 2 * batch.len() + 2 * messages.len(), bytes);
    call.arg(&*w.keys.prefix).arg(GROUP).arg(ttl).arg(batch.len());
    for (eid, ..) in batch {
        call.arg(&**eid);
    }
    for (_, id, ..) in batch {
        call.arg(&**id);
    }
    for (client, msg) in &messages {
        call.arg(*client).arg(msg);
    }
    call.invoke::<i64>(&mut conn).await.map(drop)
}

impl Running {
    pub(crate) fn id(&self) -> &str {
        &self.w.id
    }

    pub(crate) fn running(&self) -> usize {
        self.w.running().values().filter(|j| !j.done).count()
    }

    pub(crate) fn stats(&self) -> WorkerStats {
        self.w.stats.snapshot()
    }

    /// Stops claiming at once (before the returned future is first polled), then drains.
    pub(crate) fn shutdown(self) -> impl std::future::Future<Output = ShutdownReport> + Send + 'static {
        let w = self.w;
        let _ = w.stop.send(true);
        let completed_at_stop = w.completed.load(std::sync::atomic::Ordering::Relaxed);
        let claimers = self.claimers;
        let others = self.others;
        async move {
            for t in claimers {
                let _ = t.await;
            }
            let deadline = deadline_after(Instant::now(), w.config.close_timeout);
            loop {
                let idle = w.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if w.running().is_empty() {
                    break;
                }
                tokio::select! {
                    _ = idle => {}
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            let left: Vec<(Arc<str>, Arc<str>, CancelHandle)> = w
                .running()
                .iter_mut()
                .filter(|(_, j)| !j.done)
                .map(|(id, j)| {
                    j.released = true;
                    (j.eid.clone(), id.clone(), j.canceller.clone())
                })
                .collect();
            for (_, _, c) in &left {
                c.cancel_async().await;
            }
            let pairs: Vec<(Arc<str>, Arc<str>)> = left.into_iter().map(|(eid, id, _)| (eid, id)).collect();
            let released = release(&w, &pairs, "").await;
            let (tx, rx) = oneshot::channel();
            if w.done.send(Msg::Flush(tx)).is_ok() {
                let _ = tokio::time::timeout(w.config.close_timeout.max(Duration::from_secs(1)), rx).await;
            }
            let _ = w.halt.send(true);
            for t in others {
                t.abort();
            }
            let finished = w.completed.load(std::sync::atomic::Ordering::Relaxed) - completed_at_stop;
            tracing::info!(worker = %w.id, finished, released, "worker stopped");
            ShutdownReport { finished, released, stats: w.stats.snapshot() }
        }
    }
}
