//! Jobs shared by worker processes through Redis, with one worker killed half way.
//!
//! ```sh
//! cargo run --example distributed --features redis -- --workers 3 --jobs 5000
//! cargo run --example distributed --features redis -- --redis redis://10.0.0.5:6379/
//! ```
//!
//! Without `--redis`, a private `redis-server` is started on a free port (the Debian package
//! `redis-server` must be installed). The program re-executes itself `--workers` times as
//! worker processes, submits `--jobs` jobs from this process (the client) with a progress
//! bar, kills one worker with SIGKILL when half the jobs have resolved, and prints a summary:
//! every job resolved exactly once, per-worker counts, reclaimed jobs, dead letters, wall
//! time.

#[path = "../crates/redis/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use more_executors::prelude::*;
use more_executors::redis::{RedisExecutor, RedisWorker, RemoteJob};

/// The job: simulated work of a few milliseconds; the output names the worker that ran it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Work {
    n: u64,
    millis: u64,
}

impl RemoteJob for Work {
    const NAME: &'static str = "work";
    type Output = (u64, String);
    type Error = String;
}

const QUEUE: &str = "distributed-example";
const VISIBILITY: Duration = Duration::from_secs(2);

struct Args {
    redis: Option<String>,
    workers: usize,
    jobs: u64,
    worker_name: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { redis: None, workers: 3, jobs: 5000, worker_name: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--redis" => args.redis = Some(value("--redis")?),
            "--workers" => {
                args.workers = value("--workers")?.parse().map_err(|e| format!("--workers: {e}"))?
            }
            "--jobs" => args.jobs = value("--jobs")?.parse().map_err(|e| format!("--jobs: {e}"))?,
            "--worker" => args.worker_name = Some(value("--worker")?),
            other => {
                return Err(format!("unknown argument {other:?}; use --redis URL, --workers N, --jobs M"));
            }
        }
    }
    if args.workers < 2 {
        return Err("--workers must be at least 2 (one of them is killed)".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    if let Some(name) = &args.worker_name {
        return run_worker(args.redis.as_deref().ok_or("--worker needs --redis")?, name).await;
    }
    let server = match &args.redis {
        Some(_) => None,
        None => match support::RedisServer::start() {
            Some(s) => Some(s),
            None => return Err("redis-server is not installed; install it or pass --redis URL".into()),
        },
    };
    let url = args.redis.clone().unwrap_or_else(|| server.as_ref().map(|s| s.url()).unwrap_or_default());
    run_client(&url, &args).await
}

/// A worker process: runs jobs through a local stack (a concurrency limit over the async
/// executor) until its stdin closes, then shuts down gracefully and prints its counters.
async fn run_worker(url: &str, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let local = AsyncExecutor::new().with_concurrency_limit(32)?;
    let me = name.to_string();
    let worker = RedisWorker::builder(url, QUEUE)
        .name(name)
        .visibility_timeout(VISIBILITY)
        .prefetch(64)
        .close_timeout(Duration::from_secs(5))
        .handle_with(local, move |Work { n, millis }| {
            let me = me.clone();
            move || async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok::<_, String>((n, me))
            }
        })
        .start()
        .await?;
    println!("ready");
    // Runs until the parent closes our stdin (or kills us).
    tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await?;
    let report = worker.shutdown().await;
    let s = report.stats;
    println!("stats {} {} {} {} {}", s.claimed, s.reclaimed, s.acked, s.dead_lettered, report.released);
    Ok(())
}

struct WorkerProcess {
    name: String,
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

fn spawn_worker(url: &str, name: &str) -> Result<WorkerProcess, Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--worker", name, "--redis", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    match lines.next() {
        Some(Ok(l)) if l == "ready" => Ok(WorkerProcess { name: name.to_string(), child, lines }),
        other => Err(format!("worker {name} did not start: {other:?}").into()),
    }
}

async fn run_client(url: &str, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut workers = Vec::new();
    for i in 0..args.workers {
        workers.push(spawn_worker(url, &format!("worker-{i}"))?);
    }
    let exec = RedisExecutor::builder(url, QUEUE).connect().await?;
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new(args.jobs);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} resolved, {per_sec} [{elapsed_precise}] {msg}",
    )?);
    let mut pending: futures::stream::FuturesUnordered<_> = (0..args.jobs)
        .map(|n| {
            let (id, h) = exec.submit_with_id(Work { n, millis: 2 + n % 7 });
            async move { (id, h.await) }
        })
        .collect();
    use futures::StreamExt;
    let mut per_worker: BTreeMap<String, u64> = BTreeMap::new();
    let mut ids = HashSet::new();
    let mut numbers = HashSet::new();
    let mut failed = Vec::new();
    let mut killed: Option<String> = None;
    while let Some((id, r)) = pending.next().await {
        assert!(ids.insert(id.clone()), "job {id} resolved twice");
        match r {
            Ok((n, who)) => {
                numbers.insert(n);
                *per_worker.entry(who).or_default() += 1;
            }
            Err(e) => failed.push(format!("{id}: {e}")),
        }
        bar.inc(1);
        if killed.is_none() && bar.position() >= args.jobs / 2 {
            let victim = &mut workers[0];
            victim.child.kill()?; // SIGKILL: no goodbye, its claimed jobs stay pending
            victim.child.wait()?;
            bar.set_message(format!("killed {}", victim.name));
            killed = Some(victim.name.clone());
        }
    }
    bar.finish();
    let wall = started.elapsed();
    let info = exec.queue_info().await?;

    // Stop the survivors gracefully (close their stdin) and collect their counters.
    let mut reclaimed = 0;
    let mut lines = Vec::new();
    for mut w in workers.into_iter().skip(1) {
        drop(w.child.stdin.take());
        let stats = w.lines.find_map(|l| l.ok().and_then(|l| l.strip_prefix("stats ").map(str::to_string)));
        w.child.wait()?;
        let nums: Vec<u64> = stats.unwrap_or_default().split(' ').filter_map(|x| x.parse().ok()).collect();
        if let [claimed, re, acked, dead, released] = nums[..] {
            reclaimed += re;
            lines.push(format!(
                "  {}: claimed {claimed}, reclaimed {re}, acked {acked}, dead-lettered {dead}, handed back {released}",
                w.name
            ));
        }
    }
    println!("per worker (jobs whose outcome was stored by it):");
    for (who, n) in &per_worker {
        let note = if Some(who) == killed.as_ref() { " (killed with SIGKILL half way)" } else { "" };
        println!("  {who}: {n}{note}");
    }
    println!("worker counters:");
    for l in lines {
        println!("{l}");
    }
    let resolved = ids.len() as u64;
    println!(
        "summary: {} jobs, {} resolved exactly once ({} ok, {} failed), {} distinct outputs | {} reclaimed after the kill | {} dead letters | {} left in the queue | wall {:.2} s",
        args.jobs,
        resolved,
        numbers.len(),
        failed.len(),
        numbers.len(),
        reclaimed,
        info.dead_letters,
        info.queued,
        wall.as_secs_f64()
    );
    for f in failed.iter().take(5) {
        println!("  failed: {f}");
    }
    if resolved != args.jobs || numbers.len() as u64 != args.jobs || !failed.is_empty() {
        return Err("some jobs were lost or failed".into());
    }
    Ok(())
}
