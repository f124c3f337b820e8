//! Jobs through Redis, side by side on one private `redis-server`:
//! - a hand-written floor: pipelined XADD, 4 consumers doing XREADGROUP + XACK (no
//!   results at all);
//! - a hand-written floor with results: the same, plus each consumer pushes one result
//!   per job to the client's list (one RPUSH per batch, pipelined with the XACK) and the
//!   client reads them back (BLMPOP), so the work matches ours more closely;
//! - apalis with its Redis backend, 4 workers (submit to every task processed; apalis has
//!   no client-side result, so its figure covers less work);
//! - more-executors-redis: `RedisExecutor` + 4 `RedisWorker`s, end to end (submit to every
//!   handle resolved), and single-job latency.
//!
//! For each: jobs per second, Redis commands per job (executed by the server, inside
//! scripts too; and sent by clients, where a script call counts once; our engine sends a
//! batch's commands as one pipeline or one script call), and the CPU time of
//! `redis-server` and of this process (client and workers) over the run.
//!
//! `cargo bench -p more-executors-redis --bench redis_compare` (100,000 jobs, 3 rounds of
//! the floors and ours, apalis once; set `MX_BENCH_JOBS` for another count,
//! `MX_BENCH_ROUNDS` for another number of rounds, `MX_BENCH_ONLY=floor,results,apalis,ours,latency`
//! for a subset, and `MX_BENCH_STATS=1` to print `INFO commandstats` after each of our
//! runs). Needs `redis-server` on the PATH.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use more_executors_core::prelude::*;
use more_executors_redis::{RedisExecutor, RedisWorker, RemoteJob};
use support::{RedisServer, cpu_seconds_of};

const WORKERS: usize = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Noop(u64);

impl RemoteJob for Noop {
    const NAME: &'static str = "noop";
    type Output = u64;
    type Error = String;
}

/// What the client and workers of more-executors-redis send: script calls, the reads, and
/// the plain `SET` and `GET` of each finished job (in this workload, no idempotency key, no
/// cancel, no dead letter, the scripts call `SET` never and `GET` once per submitted batch,
/// for the queue length: a rounding error of 0.002 per job).
const OURS: &[&str] = &["evalsha", "eval", "xreadgroup", "blmpop", "set", "get"];
/// What the hand-written loops send.
const FLOOR: &[&str] = &["xadd", "xreadgroup", "xack", "rpush", "blmpop"];

/// Counters at one point of a run.
struct Mark {
    at: Instant,
    executed: u64,
    sent: u64,
    redis_cpu: f64,
    own_cpu: f64,
}

fn mark(s: &RedisServer, sent: &[&str]) -> Mark {
    let calls = s.command_calls();
    let executed = calls.iter().filter(|(n, _)| n != "info" && n != "flushall").map(|(_, c)| c).sum();
    let sent = calls.iter().filter(|(n, _)| sent.contains(&n.as_str())).map(|(_, c)| c).sum();
    Mark {
        at: Instant::now(),
        executed,
        sent,
        redis_cpu: s.cpu_seconds().unwrap_or(f64::NAN),
        own_cpu: cpu_seconds_of("/proc/self/stat").unwrap_or(f64::NAN),
    }
}

struct Figures {
    secs: f64,
    /// Commands the server executed (inside scripts too).
    executed: u64,
    /// Commands clients sent (a script call is one).
    sent: u64,
    redis_cpu: f64,
    own_cpu: f64,
}

impl Figures {
    fn between(a: Mark, b: Mark) -> Figures {
        Figures {
            secs: (b.at - a.at).as_secs_f64(),
            executed: b.executed - a.executed,
            sent: b.sent - a.sent,
            redis_cpu: b.redis_cpu - a.redis_cpu,
            own_cpu: b.own_cpu - a.own_cpu,
        }
    }
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
    let m0 = mark(server, OURS);
    let handles: Vec<_> = (0..n).map(|i| exec.submit(Noop(i))).collect();
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.unwrap();
    }
    let m1 = mark(server, OURS);
    assert_eq!(sum, n * (n - 1) / 2);
    for w in workers {
        w.shutdown().await;
    }
    Figures::between(m0, m1)
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

/// `None` when apalis stalled.
async fn apalis(server: &RedisServer, n: u64) -> Option<Figures> {
    use apalis::prelude::*;
    let conn = apalis_redis::connect(server.url()).await.unwrap();
    let mut storage = apalis_redis::RedisStorage::new(conn);
    APALIS_DONE.store(0, Ordering::Relaxed);
    let m0 = mark(server, &[]);
    let mut tasks = Vec::new();
    for i in 0..WORKERS {
        let w = WorkerBuilder::new(format!("apalis-{i}")).backend(storage.clone()).build(apalis_noop);
        tasks.push(tokio::spawn(async move {
            let _ = w.run().await;
        }));
    }
    let ids: Vec<u64> = (0..n).collect();
    for chunk in ids.chunks(1000) {
        // A loaded machine can time a push out: push the chunk again.
        while let Err(e) = storage.push_bulk(chunk.iter().map(|&i| Noop(i)).collect()).await {
            eprintln!("apalis push failed ({e}); retrying");
        }
    }
    // apalis' workers can stop after a timed-out command on a loaded machine: give up
    // after a minute without progress instead of waiting forever.
    let (mut seen, mut progress_at) = (0, Instant::now());
    while APALIS_DONE.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let done = APALIS_DONE.load(Ordering::Relaxed);
        if done != seen {
            (seen, progress_at) = (done, Instant::now());
        } else if progress_at.elapsed() > Duration::from_secs(60) {
            println!("apalis stalled: {done} of {n} tasks processed, no progress for 60 s");
            for t in tasks {
                t.abort();
            }
            return None;
        }
    }
    let m1 = mark(server, &[]);
    for t in tasks {
        t.abort();
    }
    Some(Figures::between(m0, m1))
}

/// The hand-written loops: pipelined XADD from one client, 4 consumers reading with
/// XREADGROUP and acknowledging each batch; with `results`, each consumer also pushes
/// one result per job to the client's list with the XACK (one pipeline per batch) and
/// the client reads every result back.
async fn floor(server: &RedisServer, n: u64, results: bool) -> Figures {
    let stream = if results { "floor-r" } else { "floor" };
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", stream, "g", "0", "MKSTREAM"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let m0 = mark(server, FLOOR);
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
                            stream,
                            ">",
                        ][..],
                    )
                    .query_async(&mut c)
                    .await
                    .unwrap();
                let entries: Vec<redis::streams::StreamId> =
                    r.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids).collect();
                if entries.is_empty() {
                    continue;
                }
                let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
                if results {
                    let outs: Vec<String> = entries
                        .iter()
                        .map(|e| {
                            let job: Noop =
                                serde_json::from_str(&e.get::<String>("payload").unwrap()).unwrap();
                            serde_json::to_string(&job.0).unwrap()
                        })
                        .collect();
                    let _: () = redis::pipe()
                        .rpush("floor-results", outs)
                        .ignore()
                        .xack(stream, "g", &ids)
                        .ignore()
                        .query_async(&mut c)
                        .await
                        .unwrap();
                } else {
                    let _: u64 =
                        redis::cmd("XACK").arg(stream).arg("g").arg(&ids).query_async(&mut c).await.unwrap();
                }
                done.fetch_add(ids.len() as u64, Ordering::Relaxed);
            }
        }));
    }
    let reader = results.then(|| {
        let client = client.clone();
        tokio::spawn(async move {
            let mut c = client.get_multiplexed_async_connection().await.unwrap();
            let (mut got, mut sum) = (0u64, 0u64);
            while got < n {
                let r: Option<(String, Vec<String>)> = redis::cmd("BLMPOP")
                    .arg(1)
                    .arg(1)
                    .arg("floor-results")
                    .arg("LEFT")
                    .arg("COUNT")
                    .arg(512)
                    .query_async(&mut c)
                    .await
                    .unwrap();
                for v in r.map(|(_, v)| v).unwrap_or_default() {
                    sum += v.parse::<u64>().unwrap();
                    got += 1;
                }
            }
            sum
        })
    });
    for chunk in (0..n).collect::<Vec<_>>().chunks(512) {
        let mut p = redis::pipe();
        for i in chunk {
            p.cmd("XADD")
                .arg(stream)
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
    if let Some(r) = reader {
        assert_eq!(r.await.unwrap(), n * (n - 1) / 2);
    }
    let m1 = mark(server, FLOOR);
    Figures::between(m0, m1)
}

fn row(name: &str, n: u64, f: &Figures, show_sent: bool) {
    let sent = if show_sent { format!("{:.3}", f.sent as f64 / n as f64) } else { "n/a".into() };
    println!(
        "{name:<40} {:>9.0} jobs/s  {:>7.2} s  {:>5.2} executed/job  {sent:>6} sent/job  CPU per job: redis {:>5.1} us, bench {:>5.1} us",
        n as f64 / f.secs,
        f.secs,
        f.executed as f64 / n as f64,
        f.redis_cpu * 1e6 / n as f64,
        f.own_cpu * 1e6 / n as f64,
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches`
    }
    let n: u64 = std::env::var("MX_BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rounds: usize =
        std::env::var("MX_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let only = std::env::var("MX_BENCH_ONLY").unwrap_or_default();
    let run = |what: &str| only.is_empty() || only.split(',').any(|w| w.trim() == what);
    let Some(server) = RedisServer::start() else { return };
    println!(
        "{n} trivial jobs, {WORKERS} workers, one local redis-server (appendonly, fsync always); \
         {rounds} rounds of floor, floor with results and ours, interleaved (the machine is shared: \
         compare medians)"
    );
    println!(
        "executed: commands Redis ran, inside scripts too; sent: commands clients sent (a script call counts once)"
    );
    let (mut floors, mut results, mut oursv) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        println!("-- round {round}");
        if run("floor") {
            let f = floor(&server, n, false).await;
            row("hand-written floor (no results)", n, &f, true);
            floors.push(n as f64 / f.secs);
            server.command("FLUSHALL");
        }
        if run("results") {
            let f = floor(&server, n, true).await;
            row("hand-written floor with results", n, &f, true);
            results.push(n as f64 / f.secs);
            server.command("FLUSHALL");
        }
        if run("ours") {
            let o = ours(&server, n).await;
            row("more-executors-redis (end to end)", n, &o, true);
            oursv.push(n as f64 / o.secs);
            if std::env::var("MX_BENCH_STATS").is_ok_and(|v| v == "1") {
                print!("{}", server.command("INFO commandstats").unwrap_or_default());
            }
            server.command("FLUSHALL");
        }
    }
    let mut apalis_rate = None;
    if run("apalis") {
        if let Some(a) = apalis(&server, n).await {
            row("apalis + apalis-redis", n, &a, false);
            apalis_rate = Some(n as f64 / a.secs);
        }
        server.command("FLUSHALL");
    }
    if !oursv.is_empty() {
        let o = median(oursv);
        println!("median: more-executors-redis {o:.0} jobs/s");
        for (name, v) in [("the floor", floors), ("the floor with results", results)] {
            if !v.is_empty() {
                let m = median(v);
                println!("median: {name} {m:.0} jobs/s; ratio {:.2}x {name}", o / m);
            }
        }
        if let Some(a) = apalis_rate {
            println!("ratio: {:.1}x apalis", o / a);
        }
    }
    if run("latency") {
        let (p50, p99) = latency(&server, 500).await;
        println!("single job latency (submit to resolved, sequential): p50 {p50:?}, p99 {p99:?}");
    }
}
