//! Jobs through Redis, side by side on one private `redis-server`:
//! - more-executors-redis: `RedisExecutor` + 4 `RedisWorker`s, end to end (submit to every
//!   handle resolved), Redis commands per job, and single-job latency;
//! - apalis with its Redis backend, 4 workers (submit to every task processed; apalis has
//!   no client-side result, so its figure covers less work);
//! - a hand-written floor: pipelined XADD, 4 consumers doing XREADGROUP + XACK (no
//!   results at all).
//!
//! `cargo bench -p more-executors-redis --bench redis_compare` (100,000 jobs; set
//! `MX_BENCH_JOBS` for another count). Needs `redis-server` on the PATH.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use more_executors_core::prelude::*;
use more_executors_redis::{RedisExecutor, RedisWorker, RemoteJob};
use support::RedisServer;

const WORKERS: usize = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Noop(u64);

impl RemoteJob for Noop {
    const NAME: &'static str = "noop";
    type Output = u64;
    type Error = String;
}

fn total_calls(s: &RedisServer) -> u64 {
    s.command_calls().iter().filter(|(n, _)| n != "info" && n != "flushall").map(|(_, c)| c).sum()
}

/// Commands sent by clients (script calls count once; the commands inside a script are
/// not requests). Only meaningful for engines that send nothing else directly.
fn requests(s: &RedisServer, sent: &[&str]) -> u64 {
    s.command_calls().iter().filter(|(n, _)| sent.contains(&n.as_str())).map(|(_, c)| c).sum()
}

/// What the client and workers of more-executors-redis send (everything else runs inside
/// their scripts).
const OURS: &[&str] = &["evalsha", "eval", "xreadgroup", "blmpop"];
/// What the hand-written loop sends.
const FLOOR: &[&str] = &["xadd", "xreadgroup", "xack"];

struct Figures {
    secs: f64,
    calls: u64,
    /// Commands sent by clients; `None` where it cannot be told apart (apalis sends other
    /// commands as well as scripts).
    processed: u64,
}

async fn ours(server: &RedisServer, n: u64) -> Figures {
    let url = server.url();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let w = RedisWorker::builder(&url, "bench")
            .prefetch(512)
            .handle_with(AsyncExecutor::new(), |Noop(x)| move || async move { Ok::<u64, String>(x) })
            .start()
            .await
            .unwrap();
        workers.push(w);
    }
    let exec = RedisExecutor::builder(&url, "bench").connect().await.unwrap();
    let (c0, p0) = (total_calls(server), requests(server, OURS));
    let t = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| exec.submit(Noop(i))).collect();
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let (c1, p1) = (total_calls(server), requests(server, OURS));
    assert_eq!(sum, n * (n - 1) / 2);
    for w in workers {
        w.shutdown().await;
    }
    Figures { secs, calls: c1 - c0, processed: p1 - p0 }
}

async fn latency(server: &RedisServer, samples: usize) -> (Duration, Duration) {
    let url = server.url();
    let w = RedisWorker::builder(&url, "latency")
        .handle_with(AsyncExecutor::new(), |Noop(x)| move || async move { Ok::<u64, String>(x) })
        .start()
        .await
        .unwrap();
    let exec = RedisExecutor::builder(&url, "latency").connect().await.unwrap();
    let mut d = Vec::with_capacity(samples);
    for i in 0..samples as u64 {
        let t = Instant::now();
        exec.submit(Noop(i)).await.unwrap();
        d.push(t.elapsed());
    }
    w.shutdown().await;
    d.sort();
    (d[samples / 2], d[samples * 99 / 100])
}

static APALIS_DONE: AtomicU64 = AtomicU64::new(0);

async fn apalis_noop(_t: Noop) -> Result<(), apalis::prelude::BoxDynError> {
    APALIS_DONE.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn apalis(server: &RedisServer, n: u64) -> Figures {
    use apalis::prelude::*;
    let conn = apalis_redis::connect(server.url()).await.unwrap();
    let mut storage = apalis_redis::RedisStorage::new(conn);
    let (c0, p0) = (total_calls(server), requests(server, OURS));
    APALIS_DONE.store(0, Ordering::Relaxed);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..WORKERS {
        let w = WorkerBuilder::new(format!("apalis-{i}")).backend(storage.clone()).build(apalis_noop);
        tasks.push(tokio::spawn(async move {
            let _ = w.run().await;
        }));
    }
    let ids: Vec<u64> = (0..n).collect();
    for chunk in ids.chunks(1000) {
        storage.push_bulk(chunk.iter().map(|&i| Noop(i)).collect()).await.unwrap();
    }
    while APALIS_DONE.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let (c1, p1) = (total_calls(server), requests(server, OURS));
    for t in tasks {
        t.abort();
    }
    Figures { secs, calls: c1 - c0, processed: p1 - p0 }
}

async fn floor(server: &RedisServer, n: u64) -> Figures {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", "floor", "g", "0", "MKSTREAM"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let (c0, p0) = (total_calls(server), requests(server, FLOOR));
    let t = Instant::now();
    let mut consumers = Vec::new();
    for i in 0..WORKERS {
        let done = done.clone();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        consumers.push(tokio::spawn(async move {
            while done.load(Ordering::Relaxed) < n {
                let r: Option<redis::streams::StreamReadReply> = redis::cmd("XREADGROUP")
                    .arg(
                        &[
                            "GROUP",
                            "g",
                            &format!("c{i}"),
                            "COUNT",
                            "512",
                            "BLOCK",
                            "100",
                            "STREAMS",
                            "floor",
                            ">",
                        ][..],
                    )
                    .query_async(&mut c)
                    .await
                    .unwrap();
                let ids: Vec<String> =
                    r.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids).map(|e| e.id).collect();
                if ids.is_empty() {
                    continue;
                }
                let _: u64 =
                    redis::cmd("XACK").arg("floor").arg("g").arg(&ids).query_async(&mut c).await.unwrap();
                done.fetch_add(ids.len() as u64, Ordering::Relaxed);
            }
        }));
    }
    for chunk in (0..n).collect::<Vec<_>>().chunks(512) {
        let mut p = redis::pipe();
        for i in chunk {
            p.cmd("XADD")
                .arg("floor")
                .arg("*")
                .arg("payload")
                .arg(serde_json::to_string(&Noop(*i)).unwrap())
                .ignore();
        }
        let _: () = p.query_async(&mut conn).await.unwrap();
    }
    for c in consumers {
        c.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let (c1, p1) = (total_calls(server), requests(server, FLOOR));
    Figures { secs, calls: c1 - c0, processed: p1 - p0 }
}

fn row(name: &str, n: u64, f: &Figures, show_requests: bool) {
    let requests = if show_requests { format!("{:.3}", f.processed as f64 / n as f64) } else { "n/a".into() };
    println!(
        "{name:<34} {:>9.0} jobs/s   {:>6.2} s   {:>5.2} commands executed/job, {requests} requests/job",
        n as f64 / f.secs,
        f.secs,
        f.calls as f64 / n as f64,
    );
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches`
    }
    let n: u64 = std::env::var("MX_BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let Some(server) = RedisServer::start() else { return };
    println!("{n} trivial jobs, {WORKERS} workers, one local redis-server (appendonly, fsync always)");
    println!(
        "commands executed: every command Redis ran, inside scripts too; requests: commands clients sent (a script call is one)"
    );
    let f = floor(&server, n).await;
    row("hand-written XADD/XREADGROUP/XACK", n, &f, true);
    server.command("FLUSHALL");
    let a = apalis(&server, n).await;
    row("apalis + apalis-redis", n, &a, false);
    server.command("FLUSHALL");
    let o = ours(&server, n).await;
    row("more-executors-redis (end to end)", n, &o, true);
    println!("ratio: {:.2}x apalis, {:.2}x the floor", a.secs / o.secs, f.secs / o.secs);
    server.command("FLUSHALL");
    let (p50, p99) = latency(&server, 500).await;
    println!("single job latency (submit to resolved, sequential): p50 {p50:?}, p99 {p99:?}");
}
