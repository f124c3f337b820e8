//! Side-by-side benchmark of more-executors against raw tokio and tower.
//!
//! ```text
//! cargo bench --bench compare                  # full run (the n of each workload below)
//! cargo bench --bench compare -- --quick       # smaller n, well under a minute on 2 cores
//! cargo bench --bench compare -- --only 1,8    # some workloads only (ids or name fragments)
//! cargo bench --bench compare -- --only 1 --variant project   # one side only, for profiling
//! cargo bench --bench compare -- --only 3,7 --n 20000 --json /tmp/rows.json  # every selected row at n
//! cargo bench --bench compare -- --scale --only 3s   # 10,000,000 outstanding poll futures against 1,000,000
//! ```
//!
//! Each workload runs the project and its baseline(s) in this one process, interleaved
//! (A B A B ..., after one discarded warm-up round), and reports the median time per
//! operation of each side and the ratio project / baseline (lower is better). Everything
//! runs on one tokio multi-thread runtime with **2 worker threads** and at most 4 blocking
//! threads. A table is printed and `target/bench/compare.json` (or the `--json` path) is
//! written.
//!
//! `--n N` runs every selected workload at `N` items instead of its own sizes (the Python
//! comparison in `benches/python/` uses it to run each row at the n the Python side reached).
//! `--scale` (ignored in quick mode) adds workload 3s: 10,000,000 outstanding poll futures
//! against 1,000,000 in the same run, bytes and time per future (`--n` replaces the 10,000,000).
//!
//! Memory per outstanding item is measured with a counting global allocator (the `cap`
//! crate's wrapper around the system allocator): bytes still allocated while `n` items
//! (handle included) are outstanding, divided by `n`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cap::Cap;
use more_executors::jobs::Scheduler;
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryBuilderExt};
use more_executors::timeout::{TimeoutBuilderExt, TimeoutExt};
use more_executors_poll::{PollBuilderExt, PollDescriptor, PollExecutor, PollExt, PollLayer};
use serde::Serialize;

/// Counts the bytes allocated by the whole bench binary (one atomic add per allocation).
#[global_allocator]
static ALLOC: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

/// Jobs of the memory measurements count themselves here when first polled.
static STARTED: AtomicUsize = AtomicUsize::new(0);

const WORKERS: usize = 2;
const MAX_BLOCKING: usize = 4;

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

struct Opts {
    quick: bool,
    rounds: usize,
    only: Vec<String>,
    /// Runs only the variants whose name contains this (for profiling one side).
    variant: Option<String>,
    /// Every selected workload runs at this n (`--n`) instead of its own sizes.
    n_override: Option<usize>,
    /// Where the JSON report goes (`--json`), instead of `target/bench/compare.json`.
    json: Option<std::path::PathBuf>,
    /// Adds the 10,000,000-future poll workload (`--scale`; not in quick mode).
    scale: bool,
}

impl Opts {
    fn parse() -> Opts {
        let mut opts = Opts {
            quick: false,
            rounds: 5,
            only: Vec::new(),
            variant: None,
            n_override: None,
            json: None,
            scale: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => opts.quick = true,
                "--rounds" => {
                    opts.rounds = args.next().and_then(|r| r.parse().ok()).filter(|&r| r >= 1).unwrap_or(5)
                }
                "--only" => {
                    opts.only.extend(args.next().unwrap_or_default().split(',').map(|s| s.trim().to_string()))
                }
                "--variant" => opts.variant = args.next(),
                "--n" => {
                    let n = args.next().unwrap_or_default();
                    match n.replace('_', "").parse::<usize>() {
                        Ok(n) if n >= 1 => opts.n_override = Some(n),
                        _ => {
                            eprintln!("--n takes a positive number of items, got {n:?}");
                            std::process::exit(2);
                        }
                    }
                }
                "--json" => opts.json = args.next().map(Into::into),
                "--scale" => opts.scale = true,
                _ => {} // cargo passes `--bench`; anything else is ignored
            }
        }
        opts
    }

    /// The `--n` override if given, else `quick` in quick mode and `full` otherwise.
    fn n(&self, full: usize, quick: usize) -> usize {
        match self.n_override {
            Some(n) => n,
            None if self.quick => quick,
            None => full,
        }
    }

    fn wants(&self, id: &str, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == id || name.contains(o.as_str()))
    }
}

/// One line of the table and of `compare.json`.
#[derive(Serialize, Clone)]
struct Row {
    workload: String,
    name: String,
    baseline: String,
    n: usize,
    project_ns_per_op: f64,
    baseline_ns_per_op: f64,
    ratio: f64,
    /// CPU time (all threads of the process) per operation: less sensitive than wall time
    /// to other programs competing for the cores.
    project_cpu_ns_per_op: Option<f64>,
    baseline_cpu_ns_per_op: Option<f64>,
    cpu_ratio: Option<f64>,
    target: String,
    pass: Option<bool>,
    project_bytes_per_item: Option<f64>,
    baseline_bytes_per_item: Option<f64>,
    note: String,
}

impl Row {
    #[allow(clippy::too_many_arguments)]
    fn ratio(
        workload: &str,
        name: &str,
        baseline: &str,
        n: usize,
        project: Median,
        base: Median,
        target: Option<f64>,
    ) -> Row {
        let ratio = project.wall / base.wall;
        Row {
            workload: workload.into(),
            name: name.into(),
            baseline: baseline.into(),
            n,
            project_ns_per_op: project.wall,
            baseline_ns_per_op: base.wall,
            ratio,
            project_cpu_ns_per_op: Some(project.cpu),
            baseline_cpu_ns_per_op: Some(base.cpu),
            cpu_ratio: Some(project.cpu / base.cpu),
            target: target.map(|t| format!("<= {t}")).unwrap_or_else(|| "-".into()),
            pass: target.map(|t| ratio <= t),
            project_bytes_per_item: None,
            baseline_bytes_per_item: None,
            note: String::new(),
        }
    }

    fn memory(mut self, project: f64, baseline: f64) -> Row {
        self.project_bytes_per_item = Some(project);
        self.baseline_bytes_per_item = Some(baseline);
        self
    }

    fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
}

/// Wall-clock and CPU time of one measured run.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu_ns: u64,
}

/// Median nanoseconds per operation of one variant.
#[derive(Clone, Copy)]
struct Median {
    wall: f64,
    cpu: f64,
}

/// Runs each variant once per round, in the given order, `rounds` times after one
/// discarded warm-up round; returns each variant's median nanoseconds per operation.
fn interleave(opts: &Opts, n: usize, variants: &mut [(&str, &mut dyn FnMut() -> Sample)]) -> Vec<Median> {
    let mut wall: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..=opts.rounds {
        for (i, (name, run)) in variants.iter_mut().enumerate() {
            if opts.variant.as_ref().is_some_and(|v| !name.contains(v.as_str())) {
                wall[i].push(f64::NAN);
                cpu[i].push(f64::NAN);
                continue;
            }
            let t = run();
            if round > 0 {
                wall[i].push(t.wall.as_nanos() as f64 / n as f64);
                cpu[i].push(t.cpu_ns as f64 / n as f64);
            }
        }
    }
    wall.into_iter()
        .zip(cpu)
        .zip(variants.iter())
        .map(|((mut w, mut c), (name, _))| {
            w.sort_by(|a, b| a.total_cmp(b));
            c.sort_by(|a, b| a.total_cmp(b));
            let m = Median { wall: median(&w), cpu: median(&c) };
            eprintln!(
                "    {name:<20} median {:>9.1} ns/op wall (min {:.1}, max {:.1}), {:>9.1} ns/op cpu",
                m.wall,
                w[0],
                w[w.len() - 1],
                m.cpu
            );
            m
        })
        .collect()
}

fn median(sorted: &[f64]) -> f64 {
    let m = sorted.len() / 2;
    if sorted.len() % 2 == 1 { sorted[m] } else { (sorted[m - 1] + sorted[m]) / 2.0 }
}

/// CPU time used so far by all live threads of this process, in nanoseconds.
fn cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0 };
    dir.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Awaits every handle in submission order and adds up what `value` extracts from each
/// output (the check that every job of a run produced its value).
async fn sum_outputs<F: std::future::Future>(hs: Vec<F>, value: impl Fn(F::Output) -> u64) -> u64 {
    let mut sum = 0;
    for h in hs {
        sum += value(h.await);
    }
    sum
}

/// Times `fut` inside a task on a worker thread of `rt` (so spawns go to the worker's
/// local queue, as they would in an application).
fn timed<F>(rt: &tokio::runtime::Runtime, fut: F) -> Sample
where
    F: Future<Output = ()> + Send + 'static,
{
    let cpu0 = cpu_ns();
    let wall = rt
        .block_on(rt.spawn(async move {
            let start = Instant::now();
            fut.await;
            start.elapsed()
        }))
        .expect("a benchmark task panicked");
    Sample { wall, cpu_ns: cpu_ns().saturating_sub(cpu0) }
}

/// Runs `fut` in a task on `rt` and returns its output.
fn on_worker<F>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(rt.spawn(fut)).expect("a benchmark task panicked")
}

/// Bytes allocated now by the whole process.
fn allocated() -> usize {
    ALLOC.allocated()
}

/// Waits until `n` memory-measurement jobs have been polled at least once.
async fn wait_started(n: usize) {
    while STARTED.load(Ordering::Acquire) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn per_item(before: usize, after: usize, n: usize) -> f64 {
    after.saturating_sub(before) as f64 / n as f64
}

fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

fn executor(rt: &tokio::runtime::Runtime) -> AsyncExecutor {
    AsyncExecutor::builder().name("bench").runtime(Runtime::from_handle(rt.handle().clone())).build()
}

// ---------------------------------------------------------------------------------------
// Workload 1: base submit + await
// ---------------------------------------------------------------------------------------

fn w1_base(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let n = opts.n(1_000_000, 100_000);
    eprintln!("[1] base submit + await, n = {n} (submit all, then await all)");
    let exec = executor(rt);
    let medians = {
        let e = exec.clone();
        let mut project = || {
            let e = e.clone();
            timed(rt, async move {
                let hs: Vec<_> = (0..n).map(|_| e.submit(|| async { Ok::<u64, ()>(1) })).collect();
                let sum = sum_outputs(hs, |r| r.unwrap()).await;
                assert_eq!(sum, n as u64);
            })
        };
        let mut baseline = || {
            timed(rt, async move {
                let hs: Vec<_> = (0..n).map(|_| tokio::spawn(async { Ok::<u64, ()>(1) })).collect();
                let sum = sum_outputs(hs, |r| r.unwrap().unwrap()).await;
                assert_eq!(sum, n as u64);
            })
        };
        interleave(opts, n, &mut [("project", &mut project), ("tokio::spawn", &mut baseline)])
    };
    let mem_n = opts.n(100_000, 20_000);
    let (pm, bm) = w1_memory(rt, &exec, mem_n);
    eprintln!("    memory per pending job: project {pm:.0} B, tokio task {bm:.0} B (n = {mem_n})");
    rows.push(
        Row::ratio("1", "base submit+await (batch)", "tokio::spawn", n, medians[0], medians[1], Some(1.2))
            .memory(pm, bm),
    );

    let n1 = opts.n(200_000, 20_000);
    eprintln!("[1s] base submit + await one at a time, n = {n1}");
    let e = exec.clone();
    let mut project = || {
        let e = e.clone();
        timed(rt, async move {
            for _ in 0..n1 {
                e.submit(|| async { Ok::<u64, ()>(1) }).await.unwrap();
            }
        })
    };
    let mut baseline = || {
        timed(rt, async move {
            for _ in 0..n1 {
                tokio::spawn(async { Ok::<u64, ()>(1) }).await.unwrap().unwrap();
            }
        })
    };
    let m = interleave(opts, n1, &mut [("project", &mut project), ("tokio::spawn", &mut baseline)]);
    rows.push(Row::ratio("1s", "base submit+await (one at a time)", "tokio::spawn", n1, m[0], m[1], None));
}

/// Bytes per pending job: project handle + driver task versus JoinHandle + task.
fn w1_memory(rt: &tokio::runtime::Runtime, exec: &AsyncExecutor, n: usize) -> (f64, f64) {
    let e = exec.clone();
    let project = on_worker(rt, async move {
        STARTED.store(0, Ordering::Release);
        let before = allocated();
        let mut hs = Vec::with_capacity(n);
        for _ in 0..n {
            hs.push(e.submit(|| async {
                STARTED.fetch_add(1, Ordering::AcqRel);
                std::future::pending::<Result<u64, ()>>().await
            }));
        }
        wait_started(n).await;
        let bytes = per_item(before, allocated(), n);
        for h in &hs {
            assert!(h.cancel());
        }
        for h in hs {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        bytes
    });
    let baseline = on_worker(rt, async move {
        STARTED.store(0, Ordering::Release);
        let before = allocated();
        let mut hs = Vec::with_capacity(n);
        for _ in 0..n {
            hs.push(tokio::spawn(async {
                STARTED.fetch_add(1, Ordering::AcqRel);
                std::future::pending::<Result<u64, ()>>().await
            }));
        }
        wait_started(n).await;
        let bytes = per_item(before, allocated(), n);
        for h in &hs {
            h.abort();
        }
        for h in hs {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        bytes
    });
    (project, baseline)
}

// ---------------------------------------------------------------------------------------
// Workload 2: full stack
// ---------------------------------------------------------------------------------------

mod tower_stack {
    use std::time::Duration;

    use tower::{BoxError, ServiceBuilder, ServiceExt, service_fn};

    /// A retry policy that never retries (the jobs never fail) but, like the project's
    /// retry layer, keeps the request re-runnable.
    #[derive(Clone, Copy)]
    pub(super) struct NeverRetry;

    impl<Req: Clone, Res, E> tower::retry::Policy<Req, Res, E> for NeverRetry {
        type Future = std::future::Ready<()>;

        fn retry(&mut self, _req: &mut Req, _result: &mut Result<Res, E>) -> Option<Self::Future> {
            None
        }

        fn clone_request(&mut self, req: &Req) -> Option<Req> {
            Some(req.clone())
        }
    }

    /// map_response + concurrency_limit(100) + retry(never) + timeout(10 s) over a
    /// service_fn, each call spawned onto tokio; awaits all `n` and checks the sum.
    pub(super) async fn run(n: usize) {
        let svc = ServiceBuilder::new()
            .map_response(|x: u64| x + 1)
            .concurrency_limit(100)
            .retry(NeverRetry)
            .timeout(Duration::from_secs(10))
            .service(service_fn(|x: u64| async move { Ok::<u64, BoxError>(x) }));
        let hs: Vec<_> = (0..n).map(|_| tokio::spawn(svc.clone().oneshot(1))).collect();
        let sum = super::sum_outputs(hs, |r| r.unwrap().unwrap()).await;
        assert_eq!(sum, 2 * n as u64);
    }
}

fn w2_stack(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let n = opts.n(1_000_000, 100_000);
    let layers = "map + concurrency_limit(100) + retry(never needed) + timeout(10 s)";
    eprintln!("[2] full stack ({layers}), n = {n}");
    let base = executor(rt);
    let stack = ExecutorBuilder::new()
        .map(|x: u64| x + 1)
        .concurrency_limit(100)
        .unwrap()
        .retry(ExponentialBackoff::new())
        .timeout(Duration::from_secs(10))
        .unwrap()
        .build(base);
    let mut project = || {
        let s = stack.clone();
        timed(rt, async move {
            let hs: Vec<_> = (0..n).map(|_| s.submit(|| async { Ok::<u64, ()>(1) })).collect();
            let sum = sum_outputs(hs, |r| r.unwrap()).await;
            assert_eq!(sum, 2 * n as u64);
        })
    };
    let mut tower = || timed(rt, tower_stack::run(n));
    let mut raw = || {
        timed(rt, async move {
            let hs: Vec<_> = (0..n).map(|_| tokio::spawn(async { Ok::<u64, ()>(1) })).collect();
            let sum = sum_outputs(hs, |r| r.unwrap().unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let m = interleave(
        opts,
        n,
        &mut [("project", &mut project), ("tower stack", &mut tower), ("tokio::spawn", &mut raw)],
    );
    let note = format!("project stack: {layers}");
    rows.push(Row::ratio("2a", "full stack", "tower ServiceBuilder", n, m[0], m[1], Some(1.3)).note(&note));
    rows.push(Row::ratio("2b", "full stack", "tokio::spawn", n, m[0], m[2], Some(1.8)).note(note));
}

// ---------------------------------------------------------------------------------------
// Workloads 3 and 4: poll
// ---------------------------------------------------------------------------------------

type GatedPoll = PollExecutor<AsyncExecutor, u64, u64, ()>;

/// A poll executor whose poll function resolves every descriptor once `release` is set,
/// and never polls on its own (an hour's interval and first-poll delay): `notify()`
/// triggers the one poll call.
fn gated_poll(rt: &tokio::runtime::Runtime, release: std::sync::Arc<AtomicBool>) -> GatedPoll {
    let layer = PollLayer::new(move |ds: &mut [PollDescriptor<u64, u64, ()>]| {
        if release.load(Ordering::Acquire) {
            for d in ds.iter_mut() {
                let v = *d.input();
                d.yield_result(v);
            }
        }
        Ok(Some(Duration::from_secs(3600)))
    })
    .default_interval(Duration::from_secs(3600))
    .unwrap()
    .first_poll_delay(Duration::from_secs(3600));
    executor(rt).with_poll(layer)
}

/// Waits until the executor's poll set holds `n` futures.
async fn wait_pending(exec: &GatedPoll, n: usize) {
    while exec.pending() < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn w3_poll(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let n = opts.n(1_000_000, 100_000);
    eprintln!("[3] poll: n outstanding poll futures resolved by one poll call, n = {n}");
    let release = std::sync::Arc::new(AtomicBool::new(false));
    let exec = gated_poll(rt, release.clone());
    let mut project = || {
        let e = exec.clone();
        let release = release.clone();
        release.store(false, Ordering::Release);
        timed(rt, async move {
            let hs: Vec<_> = (0..n).map(|_| e.submit(|| async { Ok::<u64, ()>(1) })).collect();
            wait_pending(&e, n).await;
            let polls = e.poll_count();
            release.store(true, Ordering::Release);
            e.notify();
            let sum = sum_outputs(hs, |r| r.unwrap()).await;
            assert_eq!(sum, n as u64);
            assert_eq!(e.poll_count(), polls + 1, "one poll call resolved them all");
        })
    };
    let mut baseline = || {
        timed(rt, async move {
            STARTED.store(0, Ordering::Release);
            let mut senders = Vec::with_capacity(n);
            let mut hs = Vec::with_capacity(n);
            for _ in 0..n {
                let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
                senders.push(tx);
                hs.push(tokio::spawn(async move {
                    STARTED.fetch_add(1, Ordering::AcqRel);
                    rx.await.map_err(|_| ())
                }));
            }
            wait_started(n).await;
            for tx in senders {
                tx.send(1).unwrap();
            }
            let sum = sum_outputs(hs, |r| r.unwrap().unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let m = interleave(opts, n, &mut [("project", &mut project), ("task + oneshot", &mut baseline)]);
    let mem_n = opts.n(100_000, 20_000);
    let (pm, bm) = w3_memory(rt, &exec, &release, mem_n);
    eprintln!("    memory per outstanding future: project {pm:.0} B, task + oneshot {bm:.0} B (n = {mem_n})");
    let mem_ok = pm <= 1.6 * bm;
    let mut row =
        Row::ratio("3", "poll: one call resolves n", "tokio task + oneshot each", n, m[0], m[1], Some(2.0))
            .memory(pm, bm)
            .note(format!(
                "memory target <= 1.6x the baseline per item: {:.2}x, {}",
                pm / bm,
                if mem_ok { "met" } else { "missed" }
            ));
    row.pass = row.pass.map(|p| p && mem_ok);
    rows.push(row);
}

/// Bytes per outstanding poll future (handle, driver task, poll-set entry) versus per
/// tokio task awaiting a oneshot (JoinHandle, task, channel, sender).
fn w3_memory(
    rt: &tokio::runtime::Runtime,
    exec: &GatedPoll,
    release: &std::sync::Arc<AtomicBool>,
    n: usize,
) -> (f64, f64) {
    let e = exec.clone();
    let release = release.clone();
    let project = on_worker(rt, async move {
        release.store(false, Ordering::Release);
        let before = allocated();
        let mut hs = Vec::with_capacity(n);
        for _ in 0..n {
            hs.push(e.submit(|| async { Ok::<u64, ()>(1) }));
        }
        wait_pending(&e, n).await;
        let bytes = per_item(before, allocated(), n);
        release.store(true, Ordering::Release);
        e.notify();
        for h in hs {
            h.await.unwrap();
        }
        bytes
    });
    let baseline = on_worker(rt, async move {
        STARTED.store(0, Ordering::Release);
        let before = allocated();
        let mut senders = Vec::with_capacity(n);
        let mut hs = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
            senders.push(tx);
            hs.push(tokio::spawn(async move {
                STARTED.fetch_add(1, Ordering::AcqRel);
                rx.await.map_err(|_| ())
            }));
        }
        wait_started(n).await;
        let bytes = per_item(before, allocated(), n);
        for tx in senders {
            tx.send(1).unwrap();
        }
        for h in hs {
            h.await.unwrap().unwrap();
        }
        bytes
    });
    (project, baseline)
}

/// Workload 3s (`--scale`): `large` (10,000,000 unless `--n`) outstanding poll futures
/// against 1,000,000 in the same run, interleaved. Each run is row 3's project side with its
/// memory measured on the way: submit `n` jobs to the gated poll executor holding every
/// handle, wait until all `n` are in the poll set (bytes per future counted there), then one
/// poll call resolves them all and every handle is awaited. Time per future is that whole
/// run divided by `n`; the target is on its growth from 1,000,000 to the large n.
fn w3s_poll_scale(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let small = 1_000_000;
    let asked = opts.n_override.unwrap_or(10_000_000);
    eprintln!("[3s] poll at scale: {asked} outstanding poll futures against {small}, interleaved");
    let release = std::sync::Arc::new(AtomicBool::new(false));
    let exec = gated_poll(rt, release.clone());

    // The warm-up round at the small n tells how much the large n needs: the larger of the
    // counted bytes with half again for the allocator's own overhead, and the growth of the
    // resident set (which sees glibc's per-chunk overhead and the memory it keeps) times 1.6
    // (a 10,000,000 run peaked at 1.6 times the warm-up's resident bytes per future). The
    // machine's available memory decides whether the large n fits.
    let rss_before = rss();
    let (warm, warm_bytes) = scale_run(rt, &exec, &release, small);
    let rss_per_future = peak_rss().saturating_sub(rss_before) as f64 / small as f64;
    let warm_ns = warm.wall.as_nanos() as f64 / small as f64;
    let warm_cpu = warm.cpu_ns as f64 / small as f64;
    eprintln!(
        "    warm-up, n = {small:>9}: {warm_ns:>7.1} ns/future wall, {warm_cpu:.1} cpu, {warm_bytes:.0} B/future \
         ({rss_per_future:.0} B/future resident)"
    );
    let available = mem_available();
    let per_future_need = (warm_bytes * 1.5).max(rss_per_future * 1.6);
    let fits = (available as f64 * 0.8 / per_future_need) as usize;
    let large = if asked <= fits { asked } else { fits / small * small };
    let mut note = format!(
        "per-future time and bytes at n = {large} (project columns) and n = {small} (base columns); memory \
         available before the run {:.1} GiB",
        available as f64 / (1u64 << 30) as f64
    );
    if large < asked {
        note.push_str(&format!(
            "; n = {asked} needs about {:.1} GiB ({per_future_need:.0} B per future from the first run at n = \
             {small}), so the largest n that fits ran instead",
            asked as f64 * per_future_need / (1u64 << 30) as f64
        ));
    }
    if large <= small {
        eprintln!("    skipped: not enough memory for more than {small} outstanding poll futures");
        rows.push(
            Row::ratio(
                "3s",
                "poll at scale",
                &format!("same at {small}"),
                large,
                Median { wall: f64::NAN, cpu: f64::NAN },
                Median { wall: f64::NAN, cpu: f64::NAN },
                None,
            )
            .note(note),
        );
        return;
    }

    let sizes = [small, large];
    let mut wall = [Vec::new(), Vec::new()];
    let mut cpu = [Vec::new(), Vec::new()];
    let mut bytes = [Vec::new(), Vec::new()];
    // The first run at each n also counts the poll set's own table growing to hold n
    // entries; later runs reuse it, as row 3's measurement does.
    let mut first_bytes = [warm_bytes, f64::NAN];
    for round in 0..=opts.rounds {
        for (i, &n) in sizes.iter().enumerate() {
            // The warm-up round has already run the small n.
            if round == 0 && i == 0 {
                continue;
            }
            let (t, b) = scale_run(rt, &exec, &release, n);
            eprintln!(
                "    round {round}, n = {n:>9}: {:>7.1} ns/future wall, {:.1} cpu, {b:.0} B/future",
                t.wall.as_nanos() as f64 / n as f64,
                t.cpu_ns as f64 / n as f64
            );
            if round > 0 {
                wall[i].push(t.wall.as_nanos() as f64 / n as f64);
                cpu[i].push(t.cpu_ns as f64 / n as f64);
                bytes[i].push(b);
            } else {
                first_bytes[i] = b;
            }
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        median(v)
    };
    let m_small = Median { wall: med(&mut wall[0]), cpu: med(&mut cpu[0]) };
    let m_large = Median { wall: med(&mut wall[1]), cpu: med(&mut cpu[1]) };
    let (b_small, b_large) = (med(&mut bytes[0]), med(&mut bytes[1]));
    eprintln!(
        "    median: n = {small}: {:.1} ns/future, {b_small:.0} B; n = {large}: {:.1} ns/future, {b_large:.0} B; \
         ratio {:.3}; peak RSS {:.1} GiB",
        m_small.wall,
        m_large.wall,
        m_large.wall / m_small.wall,
        peak_rss() as f64 / (1u64 << 30) as f64
    );
    note.push_str(&format!(
        "; first run at each n, the poll set's table growth included: {:.0} / {:.0} B per future; the first run at \
         n = {small} (fresh heap, not in the medians) took {warm_ns:.0} ns ({warm_cpu:.0} ns cpu) per future, the \
         large n's median over it {:.3} ({:.3} cpu); peak RSS of the process {:.1} GiB",
        first_bytes[1],
        first_bytes[0],
        m_large.wall / warm_ns,
        m_large.cpu / warm_cpu,
        peak_rss() as f64 / (1u64 << 30) as f64
    ));
    rows.push(
        Row::ratio(
            "3s",
            "poll at scale: n outstanding",
            &format!("same at n = {small}"),
            large,
            m_large,
            m_small,
            Some(1.3),
        )
        .memory(b_large, b_small)
        .note(note),
    );
}

/// One run of workload 3s at `n`: the sample and the bytes per outstanding future (handle,
/// driver task, poll-set entry, the handle's slot in the held `Vec`).
fn scale_run(
    rt: &tokio::runtime::Runtime,
    exec: &GatedPoll,
    release: &std::sync::Arc<AtomicBool>,
    n: usize,
) -> (Sample, f64) {
    let e = exec.clone();
    let release = release.clone();
    release.store(false, Ordering::Release);
    let bytes = std::sync::Arc::new(AtomicUsize::new(0));
    let b = bytes.clone();
    let sample = timed(rt, async move {
        let before = allocated();
        let mut hs = Vec::with_capacity(n);
        for _ in 0..n {
            hs.push(e.submit(|| async { Ok::<u64, ()>(1) }));
        }
        wait_pending(&e, n).await;
        b.store(allocated().saturating_sub(before), Ordering::Release);
        let polls = e.poll_count();
        release.store(true, Ordering::Release);
        e.notify();
        let sum = sum_outputs(hs, |r| r.unwrap()).await;
        assert_eq!(sum, n as u64);
        assert_eq!(e.poll_count(), polls + 1, "one poll call resolved them all");
    });
    (sample, bytes.load(Ordering::Acquire) as f64 / n as f64)
}

/// `MemAvailable` of `/proc/meminfo`, in bytes (0 when unknown).
fn mem_available() -> u64 {
    meminfo_kib("/proc/meminfo", "MemAvailable:") * 1024
}

/// The process's peak resident set (`VmHWM`), in bytes (0 when unknown).
fn peak_rss() -> u64 {
    meminfo_kib("/proc/self/status", "VmHWM:") * 1024
}

/// The process's resident set now (`VmRSS`), in bytes (0 when unknown).
fn rss() -> u64 {
    meminfo_kib("/proc/self/status", "VmRSS:") * 1024
}

fn meminfo_kib(file: &str, key: &str) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Poll futures that resolve on their third sighting, polled back to back while jobs keep
/// arriving: the cost per future must not grow with n.
fn w4_realistic_poll(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let sizes: Vec<usize> = match opts.n_override {
        Some(n) => vec![n],
        None if opts.quick => vec![10_000, 100_000],
        None => vec![10_000, 100_000, 1_000_000],
    };
    eprintln!("[4] realistic poll: each future resolved on its third sighting, n = {sizes:?}");
    let layer = PollLayer::new(|ds: &mut [PollDescriptor<AtomicU8, u64, ()>]| {
        for d in ds.iter_mut() {
            if d.input().fetch_add(1, Ordering::Relaxed) + 1 >= 3 {
                d.yield_result(1);
            }
        }
        Ok(Some(Duration::ZERO))
    })
    .first_poll_delay(Duration::ZERO);
    let exec = executor(rt).with_poll(layer);
    let mut per_size = Vec::new();
    for &n in &sizes {
        let e = exec.clone();
        let mut project = || {
            let e = e.clone();
            timed(rt, async move {
                let hs: Vec<_> =
                    (0..n).map(|_| e.submit(|| async { Ok::<_, ()>(AtomicU8::new(0)) })).collect();
                let sum = sum_outputs(hs, |r| r.unwrap()).await;
                assert_eq!(sum, n as u64);
            })
        };
        let mut baseline = || timed(rt, hand_written_poll_loop(n));
        let m = interleave(opts, n, &mut [("project", &mut project), ("hand-written loop", &mut baseline)]);
        rows.push(
            Row::ratio("4", "realistic poll, 3rd sighting", "hand-written poll loop", n, m[0], m[1], None)
                .note("baseline: tasks awaiting a oneshot, one task scanning them back to back"),
        );
        per_size.push((n, m[0], m[1]));
    }
    let (n0, p0, b0) = per_size[0];
    for &(n, p, b) in &per_size[1..] {
        let target = if n == 1_000_000 { Some(1.5) } else { None };
        rows.push(
            Row::ratio("4g", "realistic poll: cost growth", &format!("project at n = {n0}"), n, p, p0, target).note(
                format!(
                    "per-future cost at n = {n} over n = {n0}; the hand-written loop grows {:.2}x (wall) over the same \
                     range{}",
                    b.wall / b0.wall,
                    if target.is_none() { "; the target applies to n = 1,000,000 (full run)" } else { "" }
                ),
            ),
        );
    }
}

/// The baseline of workload 4: `n` tasks, each registering a oneshot sender in a shared
/// list and awaiting it, and one task scanning the list back to back, completing each entry
/// on its third sighting.
async fn hand_written_poll_loop(n: usize) {
    type Entry = (u8, tokio::sync::oneshot::Sender<u64>);
    let pending: std::sync::Arc<std::sync::Mutex<Vec<Entry>>> = Default::default();
    let p = pending.clone();
    let poller = tokio::spawn(async move {
        let mut done = 0;
        let mut keep = Vec::new();
        while done < n {
            let batch = std::mem::take(&mut *p.lock().unwrap());
            for (seen, tx) in batch {
                if seen + 1 >= 3 {
                    let _ = tx.send(1);
                    done += 1;
                } else {
                    keep.push((seen + 1, tx));
                }
            }
            p.lock().unwrap().append(&mut keep);
            tokio::task::yield_now().await;
        }
    });
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let pending = pending.clone();
            tokio::spawn(async move {
                let (tx, rx) = tokio::sync::oneshot::channel();
                pending.lock().unwrap().push((0, tx));
                rx.await.map_err(|_| ())
            })
        })
        .collect();
    let sum = sum_outputs(hs, |r| r.unwrap().unwrap()).await;
    assert_eq!(sum, n as u64);
    poller.await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Workload 5: retry
// ---------------------------------------------------------------------------------------

/// A re-runnable job whose first run fails and whose later runs succeed.
fn fail_once() -> impl Fn() -> std::future::Ready<Result<u64, &'static str>> + Clone + Send + Sync + 'static {
    let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    move || {
        let first = !failed.swap(true, Ordering::Relaxed);
        std::future::ready(if first { Err("first attempt fails") } else { Ok(1) })
    }
}

fn w5_retry(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let n = opts.n(100_000, 50_000);
    eprintln!("[5] retry: jobs failing once then succeeding, zero delay, n = {n}");
    let policy = ExponentialBackoff::builder().max_attempts(3).sleep(Duration::ZERO).build().unwrap();
    let exec = ExecutorBuilder::new().retry(policy).build(executor(rt));
    let mut project = || {
        let e = exec.clone();
        timed(rt, async move {
            let hs: Vec<_> = (0..n).map(|_| e.submit(fail_once())).collect();
            let sum = sum_outputs(hs, |r| r.unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let mut baseline = || {
        timed(rt, async move {
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    let job = fail_once();
                    tokio::spawn(async move {
                        let mut attempt = 1;
                        loop {
                            match job().await {
                                Ok(v) => break Ok(v),
                                Err(e) if attempt >= 3 => break Err(e),
                                Err(_) => attempt += 1,
                            }
                        }
                    })
                })
                .collect();
            let sum = sum_outputs(hs, |r| r.unwrap().unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let m = interleave(opts, n, &mut [("project", &mut project), ("hand-written loop", &mut baseline)]);
    rows.push(Row::ratio(
        "5",
        "retry (fail once, zero delay)",
        "loop in one spawned task",
        n,
        m[0],
        m[1],
        Some(1.3),
    ));
}

// ---------------------------------------------------------------------------------------
// Workload 6: timeout
// ---------------------------------------------------------------------------------------

fn w6_timeout(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let n = opts.n(1_000_000, 100_000);
    let exec = executor(rt).with_timeout(Duration::from_secs(10)).unwrap();
    let limit = Duration::from_secs(10);
    eprintln!("[6] timeout 10 s, jobs ready at once, n = {n}");
    let e = exec.clone();
    let mut project = || {
        let e = e.clone();
        timed(rt, async move {
            let hs: Vec<_> = (0..n).map(|_| e.submit(|| async { Ok::<u64, ()>(1) })).collect();
            let sum = sum_outputs(hs, |r| r.unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let mut baseline = || {
        timed(rt, async move {
            let hs: Vec<_> = (0..n)
                .map(|_| tokio::spawn(tokio::time::timeout(limit, async { Ok::<u64, ()>(1) })))
                .collect();
            let sum = sum_outputs(hs, |r| r.unwrap().unwrap().unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let m = interleave(opts, n, &mut [("project", &mut project), ("tokio timeout", &mut baseline)]);
    rows.push(Row::ratio(
        "6",
        "timeout 10 s (job ready at once)",
        "tokio::time::timeout in spawn",
        n,
        m[0],
        m[1],
        Some(1.3),
    ));

    // Jobs that are pending at their first poll, so both sides arm a timer.
    let n = opts.n(1_000_000, 100_000);
    eprintln!("[6y] timeout 10 s, jobs yielding once (timer armed), n = {n}");
    let mut project = || {
        let e = exec.clone();
        timed(rt, async move {
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    e.submit(|| async {
                        tokio::task::yield_now().await;
                        Ok::<u64, ()>(1)
                    })
                })
                .collect();
            let sum = sum_outputs(hs, |r| r.unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let mut baseline = || {
        timed(rt, async move {
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    tokio::spawn(tokio::time::timeout(limit, async {
                        tokio::task::yield_now().await;
                        Ok::<u64, ()>(1)
                    }))
                })
                .collect();
            let sum = sum_outputs(hs, |r| r.unwrap().unwrap().unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let m = interleave(opts, n, &mut [("project", &mut project), ("tokio timeout", &mut baseline)]);
    rows.push(Row::ratio(
        "6y",
        "timeout 10 s (job yields once)",
        "tokio::time::timeout in spawn",
        n,
        m[0],
        m[1],
        Some(1.2),
    ));
}

// ---------------------------------------------------------------------------------------
// Workload 7: jobs
// ---------------------------------------------------------------------------------------

fn w7_jobs(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let n = opts.n(1_000_000, 100_000);
    eprintln!("[7] jobs: scheduler with limit 100 (unbounded pending queue), n = {n}");
    let scheduler = Scheduler::builder()
        .limit(100)
        .unbounded_pending()
        .runtime(Runtime::from_handle(rt.handle().clone()))
        .build()
        .unwrap();
    let mut project = || {
        let s = scheduler.clone();
        timed(rt, async move {
            let mut jobs = Vec::with_capacity(n);
            for _ in 0..n {
                jobs.push(s.spawn(async { Ok::<u64, &'static str>(1) }).await.unwrap());
            }
            let mut sum = 0;
            for j in jobs {
                sum += j.await.unwrap();
            }
            assert_eq!(sum, n as u64);
        })
    };
    let mut baseline = || {
        timed(rt, async move {
            let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(100));
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..n {
                let sem = sem.clone();
                set.spawn(async move {
                    let _permit = sem.acquire().await.unwrap();
                    Ok::<u64, &'static str>(1)
                });
            }
            let mut sum = 0;
            while let Some(r) = set.join_next().await {
                sum += r.unwrap().unwrap();
            }
            assert_eq!(sum, n as u64);
        })
    };
    // The other common idiom: the spawner takes a permit before spawning (back pressure,
    // at most 100 tasks exist at once).
    let mut permit_first = || {
        timed(rt, async move {
            let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(100));
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..n {
                let permit = sem.clone().acquire_owned().await.unwrap();
                set.spawn(async move {
                    let _permit = permit;
                    Ok::<u64, &'static str>(1)
                });
            }
            let mut sum = 0;
            while let Some(r) = set.join_next().await {
                sum += r.unwrap().unwrap();
            }
            assert_eq!(sum, n as u64);
        })
    };
    let m = interleave(
        opts,
        n,
        &mut [
            ("project", &mut project),
            ("JoinSet+Semaphore", &mut baseline),
            ("JoinSet, permit first", &mut permit_first),
        ],
    );
    rows
        .push(Row::ratio("7a", "jobs (limit 100)", "JoinSet + Semaphore(100)", n, m[0], m[1], Some(1.3)).note(
        "7a: every task spawned at once, each awaits a permit; 7b: the spawner awaits a permit, then spawns",
    ));
    rows.push(Row::ratio("7b", "jobs (limit 100)", "JoinSet, permit before spawn", n, m[0], m[2], Some(1.3)));
    on_worker(rt, async move {
        scheduler.close().await;
    });
}

// ---------------------------------------------------------------------------------------
// Workload 8: blocking pool
// ---------------------------------------------------------------------------------------

fn w8_blocking(rt: &tokio::runtime::Runtime, opts: &Opts, rows: &mut Vec<Row>) {
    let n = opts.n(100_000, 20_000);
    eprintln!("[8] blocking pool (4 threads), n = {n}");
    let pool = BlockingPool::builder()
        .threads(MAX_BLOCKING)
        .runtime(Runtime::from_handle(rt.handle().clone()))
        .build()
        .unwrap();
    let mut project = || {
        let p = pool.clone();
        timed(rt, async move {
            let hs: Vec<_> = (0..n).map(|_| p.submit(|| Ok::<u64, ()>(1))).collect();
            let sum = sum_outputs(hs, |r| r.unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let mut baseline = || {
        timed(rt, async move {
            let hs: Vec<_> = (0..n).map(|_| tokio::task::spawn_blocking(|| Ok::<u64, ()>(1))).collect();
            let sum = sum_outputs(hs, |r| r.unwrap().unwrap()).await;
            assert_eq!(sum, n as u64);
        })
    };
    let m = interleave(opts, n, &mut [("project", &mut project), ("spawn_blocking", &mut baseline)]);
    rows.push(Row::ratio(
        "8",
        "blocking pool (4 threads)",
        "spawn_blocking (max 4)",
        n,
        m[0],
        m[1],
        Some(1.2),
    ));
    pool.shutdown();
}

// ---------------------------------------------------------------------------------------
// Workload 9: OS threads started by a full stack
// ---------------------------------------------------------------------------------------

fn w9_threads(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    eprintln!("[9] OS threads started by a stack with every layer");
    let layers = "map, map_err, flat_map, concurrency_limit, retry, timeout, poll, cancel_on_shutdown";
    let base = executor(rt);
    let before = os_threads();
    let stack = ExecutorBuilder::new()
        .map(|x: u64| x + 1)
        .map_err(|e: ()| e)
        .flat_map(|x: u64| async move { Ok::<u64, ()>(x * 2) })
        .concurrency_limit(10)
        .unwrap()
        .retry(ExponentialBackoff::builder().sleep(Duration::from_millis(1)).build().unwrap())
        .timeout(Duration::from_secs(10))
        .unwrap()
        .poll(
            PollLayer::new(|ds: &mut [PollDescriptor<u64, u64, ()>]| {
                for d in ds.iter_mut() {
                    let v = *d.input();
                    d.yield_result(v);
                }
                Ok(Some(Duration::from_millis(1)))
            })
            .first_poll_delay(Duration::from_millis(1)),
        )
        .cancel_on_shutdown()
        .build(base);
    let s = stack.clone();
    on_worker(rt, async move {
        // Every tenth job fails its first attempt, so the retry timer is used too.
        let hs: Vec<_> = (0..1000u64)
            .map(|i| {
                let ok = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(i % 10 != 0));
                s.submit(move || {
                    let ok = ok.swap(true, Ordering::Relaxed);
                    async move { if ok { Ok::<u64, ()>(i) } else { Err(()) } }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let after = os_threads();
    stack.shutdown();
    let extra = after.saturating_sub(before);
    eprintln!("    threads before {before}, after 1000 jobs {after}: {extra} started");
    rows.push(Row {
        workload: "9".into(),
        name: "OS threads started by the stack".into(),
        baseline: "the base executor alone".into(),
        n: 1000,
        project_ns_per_op: extra as f64,
        baseline_ns_per_op: 0.0,
        ratio: extra as f64,
        project_cpu_ns_per_op: None,
        baseline_cpu_ns_per_op: None,
        cpu_ratio: None,
        target: "== 0 threads".into(),
        pass: Some(extra == 0),
        project_bytes_per_item: None,
        baseline_bytes_per_item: None,
        note: format!("layers: {layers}; figures are thread counts, not ns"),
    });
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<4} {:<34} {:<28} {:>9} {:>11} {:>11} {:>7} {:>9} {:>13} {:<5} {:>11}",
        "id",
        "workload",
        "baseline",
        "n",
        "project ns",
        "base ns",
        "ratio",
        "cpu ratio",
        "target",
        "pass",
        "bytes/item"
    );
    println!("{}", "-".repeat(152));
    for r in rows {
        let pass = match r.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "-",
        };
        let mem = match (r.project_bytes_per_item, r.baseline_bytes_per_item) {
            (Some(p), Some(b)) => format!("{p:.0} / {b:.0}"),
            _ => "-".into(),
        };
        let cpu = r.cpu_ratio.map(|c| format!("{c:.3}")).unwrap_or_else(|| "-".into());
        println!(
            "{:<4} {:<34} {:<28} {:>9} {:>11.1} {:>11.1} {:>7.3} {:>9} {:>13} {:<5} {:>11}",
            r.workload,
            r.name,
            r.baseline,
            r.n,
            r.project_ns_per_op,
            r.baseline_ns_per_op,
            r.ratio,
            cpu,
            r.target,
            pass,
            mem
        );
        if !r.note.is_empty() {
            println!("{:<4} {}", "", r.note);
        }
    }
    println!();
    println!("ns = median wall-clock nanoseconds per operation; ratio = project / baseline (wall);");
    println!("cpu ratio = the same from CPU time of all threads; bytes/item = project / baseline.");
}

fn write_json(opts: &Opts, rows: &[Row], total: Duration) {
    let path = opts.json.clone().unwrap_or_else(|| target_dir().join("bench").join("compare.json"));
    let dir = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let doc = serde_json::json!({
        "mode": if opts.quick { "quick" } else { "full" },
        "n_override": opts.n_override,
        "rounds": opts.rounds,
        "tokio_worker_threads": WORKERS,
        "max_blocking_threads": MAX_BLOCKING,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu_model(),
        "seconds": total.as_secs_f64(),
        "rows": rows,
    });
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()));
    match written {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// The cargo target directory: the bench binary lives in `<target>/<profile>/deps/`.
fn target_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return dir.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent()?.parent().map(|p| p.to_path_buf()))
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().into())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let opts = Opts::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .max_blocking_threads(MAX_BLOCKING)
        .enable_all()
        .build()
        .expect("tokio runtime");
    eprintln!(
        "compare: {} mode, {} rounds interleaved after a warm-up round, tokio multi-thread runtime with {WORKERS} \
         workers (max {MAX_BLOCKING} blocking threads)",
        if opts.quick { "quick" } else { "full" },
        opts.rounds
    );
    let start = Instant::now();
    let mut rows = Vec::new();
    // Threads first: later workloads start tokio blocking threads that linger.
    if opts.wants("9", "threads") {
        w9_threads(&rt, &mut rows);
    }
    if opts.wants("1", "base") {
        w1_base(&rt, &opts, &mut rows);
    }
    if opts.wants("2", "stack") {
        w2_stack(&rt, &opts, &mut rows);
    }
    if opts.wants("3", "poll") {
        w3_poll(&rt, &opts, &mut rows);
    }
    if opts.scale && opts.quick {
        eprintln!("--scale is ignored in quick mode");
    } else if opts.scale && (opts.only.is_empty() || opts.only.iter().any(|o| o == "3s" || o == "scale")) {
        w3s_poll_scale(&rt, &opts, &mut rows);
    }
    if opts.wants("4", "realistic") {
        w4_realistic_poll(&rt, &opts, &mut rows);
    }
    if opts.wants("5", "retry") {
        w5_retry(&rt, &opts, &mut rows);
    }
    if opts.wants("6", "timeout") {
        w6_timeout(&rt, &opts, &mut rows);
    }
    if opts.wants("7", "jobs") {
        w7_jobs(&rt, &opts, &mut rows);
    }
    if opts.wants("8", "blocking") {
        w8_blocking(&rt, &opts, &mut rows);
    }
    rows.sort_by(|a, b| a.workload.cmp(&b.workload));
    let total = start.elapsed();
    print_table(&rows);
    println!("total {:.1} s", total.as_secs_f64());
    write_json(&opts, &rows, total);
}
