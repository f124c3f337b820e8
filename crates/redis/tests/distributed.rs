//! The Redis executor and worker against a real `redis-server` (started per test; the
//! tests are skipped with a message when none is installed, unless
//! `MORE_EXECUTORS_REQUIRE_REDIS=1`).

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use more_executors_core::prelude::*;
use more_executors_redis::{RedisExecutor, RedisWorker, RedisWorkerBuilder, RemoteError, RemoteJob};
use support::{RedisServer, eventually, within};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Square(u64);

impl RemoteJob for Square {
    const NAME: &'static str = "square";
    type Output = u64;
    type Error = String;
}

/// A job whose behaviour the worker decides (it waits, or blocks a thread).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Hold(u64);

impl RemoteJob for Hold {
    const NAME: &'static str = "hold";
    type Output = u64;
    type Error = String;
}

/// Same name as `Square`, but a payload `Square` cannot decode.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NotASquare(String);

impl RemoteJob for NotASquare {
    const NAME: &'static str = "square";
    type Output = u64;
    type Error = String;
}

/// A job with an idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Keyed(String, u64);

impl RemoteJob for Keyed {
    const NAME: &'static str = "keyed";
    type Output = u64;
    type Error = String;
    fn idempotency_key(&self) -> Option<String> {
        Some(self.0.clone())
    }
}

fn square(n: u64) -> Result<u64, String> {
    if n == 13 { Err("unlucky".to_string()) } else { Ok(n * n) }
}

fn worker(url: &str, queue: &str, runs: Arc<AtomicU64>) -> RedisWorkerBuilder {
    RedisWorker::builder(url, queue)
        .visibility_timeout(Duration::from_millis(300))
        .read_block(Duration::from_millis(100))
        .handle_with(AsyncExecutor::new(), move |Square(n)| {
            let runs = runs.clone();
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                square(n)
            }
        })
}

async fn client(url: &str, queue: &str) -> RedisExecutor {
    RedisExecutor::builder(url, queue).read_block(Duration::from_millis(100)).connect().await.unwrap()
}

/// A worker in another process: this test binary run as `child_worker`.
fn spawn_child(url: &str, queue: &str, hang: bool) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_worker", "--nocapture", "--test-threads=1"])
        .env("MX_CHILD_URL", url)
        .env("MX_CHILD_QUEUE", queue)
        .env("MX_CHILD_HANG", if hang { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let id = loop {
        match lines.next() {
            Some(Ok(l)) => {
                // libtest may print "test child_worker ... " on the same line first.
                if let Some((_, id)) = l.split_once("worker-ready ") {
                    break id.trim().to_string();
                }
            }
            _ => panic!("the child worker exited before it was ready"),
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, id)
}

/// Runs as a separate worker process for the cross-process tests (spawned by
/// `spawn_child`; it does nothing useful when run directly).
#[test]
#[ignore = "a worker process spawned by the other tests"]
fn child_worker() {
    let url = std::env::var("MX_CHILD_URL").expect("run by spawn_child");
    let queue = std::env::var("MX_CHILD_QUEUE").unwrap();
    let hang = std::env::var("MX_CHILD_HANG").is_ok_and(|v| v == "1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let w = RedisWorker::builder(&url, &queue)
            .visibility_timeout(Duration::from_millis(300))
            .read_block(Duration::from_millis(100))
            .handle_with(AsyncExecutor::new(), |Square(n)| move || async move { square(n) })
            .handle_with(AsyncExecutor::new(), move |Hold(n)| {
                move || async move {
                    if hang {
                        std::future::pending::<()>().await;
                    }
                    Ok::<u64, String>(n)
                }
            })
            .start()
            .await
            .unwrap();
        println!("worker-ready {}", w.id());
        std::future::pending::<()>().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_and_resolve_across_processes() {
    let Some(server) = RedisServer::start() else { return };
    let (mut child, _) = spawn_child(&server.url(), "xproc", false);
    let exec = client(&server.url(), "xproc").await;
    let handles: Vec<_> = (0..50u64).map(|n| exec.submit(Square(n))).collect();
    for (n, h) in handles.into_iter().enumerate() {
        let n = n as u64;
        match within(h).await {
            Ok(v) => assert_eq!(v, n * n),
            Err(e) => {
                assert_eq!(n, 13, "only 13 fails");
                assert_eq!(e.job_error(), Some(&RemoteError::Job("unlucky".to_string())));
            }
        }
    }
    assert_eq!(exec.pending(), 0);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_claim_never_runs() {
    let Some(server) = RedisServer::start() else { return };
    let exec = client(&server.url(), "early").await;
    let h = exec.submit(Square(7));
    eventually("the job is in the stream", || {
        server.command("XLEN mx:{early}:jobs").as_deref() == Some(":1\r\n")
    })
    .await;
    assert!(h.cancel_async().await, "a queued job is cancelled at once");
    assert!(within(h).await.unwrap_err().is_cancelled());
    // Nothing runs it: a worker that then drains the queue never sees it.
    let runs = Arc::new(AtomicU64::new(0));
    let w = worker(&server.url(), "early", runs.clone()).start().await.unwrap();
    assert_eq!(within(exec.submit(Square(3))).await.unwrap(), 9);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "only the second job ran");
    assert_eq!(w.stats().claimed, 1);
    // Cancel of a finished job: false.
    let (id, h) = exec.submit_with_id(Square(2));
    assert_eq!(within(h).await.unwrap(), 4);
    assert!(!exec.attach::<Square>(&id).cancel_async().await, "finished: cancel refused");
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_running_asks_the_worker() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    // An async job: the worker's stack accepts the cancel.
    let started = Arc::new(AtomicU64::new(0));
    let s = started.clone();
    let w = RedisWorker::builder(&url, "running")
        .visibility_timeout(Duration::from_millis(300))
        .handle_with(AsyncExecutor::new(), move |Hold(_)| {
            let s = s.clone();
            move || async move {
                s.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<Result<u64, String>>().await
            }
        })
        .start()
        .await
        .unwrap();
    let exec = client(&url, "running").await;
    let h = exec.submit(Hold(1));
    eventually("the job runs", || started.load(Ordering::SeqCst) == 1).await;
    assert!(within(h.cancel_async()).await, "the worker's async stack accepts");
    assert!(within(h).await.unwrap_err().is_cancelled());
    eventually("the worker let go of it", || w.running() == 0).await;
    w.shutdown().await;

    // A blocking job already on a thread: the worker's stack refuses, the job finishes.
    let release = Arc::new(std::sync::Barrier::new(2));
    let r = release.clone();
    let pool = BlockingPool::new(1).unwrap();
    let w = RedisWorker::builder(&url, "running")
        .handle_with(pool, move |Hold(n)| {
            let r = r.clone();
            move || {
                r.wait();
                Ok::<u64, String>(n)
            }
        })
        .start()
        .await
        .unwrap();
    let h = exec.submit(Hold(5));
    eventually("the blocking job runs", || w.running() == 1).await;
    // The pool thread may not have started the closure yet: only a refusal proves it
    // runs; until then the stack may still accept (and the job never starts).
    let refused = !within(h.cancel_async()).await;
    if refused {
        release.wait();
        assert_eq!(within(h).await.unwrap(), 5, "refused cancel: the job's value arrives");
    } else {
        assert!(within(h).await.unwrap_err().is_cancelled());
    }
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_after_client_restart() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let first = client(&url, "attach").await;
    let (id, h) = first.submit_with_id(Square(9));
    eventually("enqueued", || server.command("XLEN mx:{attach}:jobs").as_deref() == Some(":1\r\n")).await;
    drop(h);
    drop(first); // the client "restarts"
    let second = RedisExecutor::builder(&url, "attach")
        .result_ttl(Duration::from_millis(500))
        .read_block(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let h = second.attach::<Square>(&id);
    let w = worker(&url, "attach", Arc::new(AtomicU64::new(0)))
        .result_ttl(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    assert_eq!(within(h).await.unwrap(), 81);
    // Attaching again while the result is kept resolves at once to the same outcome.
    assert_eq!(within(second.attach::<Square>(&id)).await.unwrap(), 81);
    // After the TTL the result is gone and attach says so.
    let key = format!("EXISTS mx:{{attach}}:out:{id}");
    eventually("the result expired", || server.command(&key).as_deref() == Some(":0\r\n")).await;
    let err = within(second.attach::<Square>(&id)).await.unwrap_err();
    let Some(RemoteError::NotFound { id: missing, .. }) = err.job_error() else { panic!("{err:?}") };
    assert_eq!(missing, &id);
    assert!(err.to_string().contains("result TTL"));
    let never = within(second.attach::<Square>("no-such-job")).await.unwrap_err();
    assert!(matches!(never.job_error(), Some(RemoteError::NotFound { .. })));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_submit_enqueues_once() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let exec = client(&url, "idem").await;
    let a = exec.submit(Keyed("order-1".into(), 4));
    let b = exec.submit(Keyed("order-1".into(), 4));
    eventually("enqueued", || server.command("XLEN mx:{idem}:jobs").as_deref() == Some(":1\r\n")).await;
    let runs = Arc::new(AtomicU64::new(0));
    let r = runs.clone();
    let w = RedisWorker::builder(&url, "idem")
        .handle_with(AsyncExecutor::new(), move |Keyed(_, n)| {
            let r = r.clone();
            move || async move {
                r.fetch_add(1, Ordering::SeqCst);
                Ok::<u64, String>(n + 1)
            }
        })
        .start()
        .await
        .unwrap();
    assert_eq!(within(a).await.unwrap(), 5);
    assert_eq!(within(b).await.unwrap(), 5);
    // A retried submit after completion resolves from the stored outcome.
    assert_eq!(within(exec.submit(Keyed("order-1".into(), 4))).await.unwrap(), 5);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "one job in Redis, run once");
    w.shutdown().await;
}

/// A worker killed after storing a job's outcome but before telling the client and
/// acknowledging (played here by hand: a consumer claims the entry and stores the outcome,
/// then nothing) still resolves the handle: the worker that reclaims the entry finds the
/// outcome, tells the waiting client and acknowledges, without running the job again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_stored_by_a_killed_worker_reaches_the_client() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let exec = client(&url, "stored").await;
    let (id, h) = exec.submit_with_id(Square(9));
    eventually("the job is enqueued", || {
        server.command(&format!("EXISTS mx:{{stored}}:job:{id}")).as_deref() == Some(":1\r\n")
    })
    .await;
    // The killed worker: it claimed the entry and stored the outcome, then died.
    server.command("XGROUP CREATE mx:{stored}:jobs mx-workers 0");
    server.command("XREADGROUP GROUP mx-workers dead COUNT 10 STREAMS mx:{stored}:jobs >");
    server.command(&format!("SET mx:{{stored}}:out:{id} 'd{{\"t\":\"ok\",\"v\":81}}' PX 60000"));
    let runs = Arc::new(AtomicU64::new(0));
    let w = worker(&url, "stored", runs.clone()).start().await.unwrap();
    assert_eq!(within(h).await.unwrap(), 81);
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the stored outcome is not computed again");
    let info = within(exec.queue_info()).await.unwrap();
    assert_eq!(info.queued, 0);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_job_is_reclaimed_and_resolves_once() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let (mut child, child_id) = spawn_child(&url, "kill", true);
    let exec = client(&url, "kill").await;
    let h = exec.submit(Hold(42));
    // Claimed by the child: the job's entry is pending for the child's consumer.
    let running_on_child = format!("XPENDING mx:{{kill}}:jobs mx-workers - + 10 {child_id}");
    eventually("the child runs the job", || {
        server.command(&running_on_child).is_some_and(|r| r.contains(&child_id))
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let w = RedisWorker::builder(&url, "kill")
        .visibility_timeout(Duration::from_millis(300))
        .handle_with(AsyncExecutor::new(), |Hold(n)| move || async move { Ok::<u64, String>(n) })
        .start()
        .await
        .unwrap();
    assert_eq!(within(h).await.unwrap(), 42);
    assert_eq!(w.stats().reclaimed, 1, "taken over from the killed worker");
    eventually("the outcome is acknowledged", || w.stats().acked == 1).await;
    assert_eq!(exec.pending(), 0);
    w.shutdown().await;
}

/// A worker that stalls (here: its whole runtime blocked, so it stops heartbeating) loses
/// its job to another worker; when it comes back and finishes the job too, the first
/// outcome stored stays: the handle and a later attach both see the other worker's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_worker_finishing_late_does_not_replace_the_outcome() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stalled = {
        let url = url.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let gate = Arc::new(std::sync::Mutex::new(gate_rx));
                let w = RedisWorker::builder(&url, "dup")
                    .visibility_timeout(Duration::from_millis(300))
                    .read_block(Duration::from_millis(100))
                    .handle_with(AsyncExecutor::new(), move |Hold(n)| {
                        let (started, gate) = (started_tx.clone(), gate.clone());
                        move || async move {
                            started.send(()).unwrap();
                            // Blocks this worker's only thread: no heartbeat until released.
                            gate.lock().unwrap().recv().unwrap();
                            Ok::<u64, String>(n + 1000)
                        }
                    })
                    .start()
                    .await
                    .unwrap();
                stop_rx.await.unwrap();
                w.shutdown().await
            })
        })
    };
    let exec = client(&url, "dup").await;
    let (id, h) = exec.submit_with_id(Hold(1));
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
    let second = worker(&url, "dup", Arc::new(AtomicU64::new(0)))
        .handle_with(AsyncExecutor::new(), |Hold(n)| move || async move { Ok::<u64, String>(n + 2000) })
        .start()
        .await
        .unwrap();
    assert_eq!(within(h).await.unwrap(), 2001, "the second worker took the stalled job over");
    assert_eq!(second.stats().reclaimed, 1);
    // The stalled worker resumes, finishes the same job and tries to store its outcome.
    gate_tx.send(()).unwrap();
    stop_tx.send(()).unwrap();
    let report = tokio::task::spawn_blocking(move || stalled.join().unwrap()).await.unwrap();
    assert_eq!(report.stats.acked, 1, "the stalled worker ran the job to its end and stored its outcome");
    let stored = server.command(&format!("GET mx:{{dup}}:out:{id}")).unwrap();
    assert!(stored.contains("2001") && !stored.contains("1001"), "{stored}");
    assert_eq!(within(exec.attach::<Hold>(&id)).await.unwrap(), 2001, "attach sees the first outcome");
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_payload_goes_to_dead_letter() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let runs = Arc::new(AtomicU64::new(0));
    let w = worker(&url, "poison", runs.clone()).max_deliveries(2).start().await.unwrap();
    let exec = client(&url, "poison").await;
    let err = within(exec.submit(NotASquare("seven".into()))).await.unwrap_err();
    let Some(RemoteError::DeadLettered { reason, deliveries, .. }) = err.job_error() else {
        panic!("{err:?}")
    };
    assert!(reason.contains("could not be decoded"), "{reason}");
    assert_eq!(*deliveries, 2);
    assert_eq!(server.command("XLEN mx:{poison}:dead").as_deref(), Some(":1\r\n"));
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // A job nobody has a handler for ends there too, naming why.
    let err = within(exec.submit(Hold(1))).await.unwrap_err();
    assert!(err.to_string().contains("no worker has a handler"), "{err}");
    // The queue goes on.
    assert_eq!(within(exec.submit(Square(4))).await.unwrap(), 16);
    assert!(w.stats().dead_lettered >= 2);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_loses_nothing() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let exec = client(&url, "restart").await;
    let handles: Vec<_> = (0..20u64).map(|n| exec.submit(Square(n + 100))).collect();
    eventually("all enqueued", || server.command("XLEN mx:{restart}:jobs").as_deref() == Some(":20\r\n"))
        .await;
    let server = tokio::task::spawn_blocking(move || server.restart_and_return()).await.unwrap();
    assert_eq!(server.url(), url);
    let w = worker(&url, "restart", Arc::new(AtomicU64::new(0))).start().await.unwrap();
    for (n, h) in handles.into_iter().enumerate() {
        let n = n as u64 + 100;
        assert_eq!(within(h).await.unwrap(), n * n, "pending handles resolve after the restart");
    }
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_full_rejects_and_submit_ready_waits() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let exec = RedisExecutor::builder(&url, "full")
        .max_queue_len(2)
        .read_block(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let a = exec.submit(Square(1));
    let b = exec.submit(Square(2));
    eventually("two queued", || server.command("XLEN mx:{full}:jobs").as_deref() == Some(":2\r\n")).await;
    let err = within(exec.submit(Square(3))).await.unwrap_err();
    assert!(err.job_error().is_some_and(RemoteError::is_queue_full), "{err:?}");
    assert!(err.to_string().contains("is full"));
    let e2 = exec.clone();
    // The task returns the handle once submit_ready accepted the job (a 1-tuple: the
    // handle itself is not awaited there).
    let waiting = tokio::spawn(async move { (e2.submit_ready(Square(4)).await,) });
    // While the queue stays full, submit_ready cannot return.
    assert!(!waiting.is_finished());
    let w = worker(&url, "full", Arc::new(AtomicU64::new(0))).start().await.unwrap();
    let (d,) = within(waiting).await.unwrap();
    assert_eq!(within(d).await.unwrap(), 16);
    assert_eq!(within(a).await.unwrap(), 1);
    assert_eq!(within(b).await.unwrap(), 4);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_then_hands_back() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let g = gate.clone();
    let w = RedisWorker::builder(&url, "drain")
        .visibility_timeout(Duration::from_millis(300))
        .close_timeout(Duration::from_secs(2))
        .handle_with(AsyncExecutor::new(), move |Hold(n)| {
            let g = g.clone();
            move || async move {
                if n == 0 {
                    std::future::pending::<()>().await; // never finishes here
                }
                g.acquire().await.unwrap().forget();
                Ok::<u64, String>(n)
            }
        })
        .start()
        .await
        .unwrap();
    let exec = client(&url, "drain").await;
    let hs: Vec<_> = (0..3u64).map(|n| exec.submit(Hold(n))).collect();
    eventually("three running", || w.running() == 3).await;
    let closing = tokio::spawn(w.shutdown());
    gate.add_permits(2);
    let report = within(closing).await.unwrap();
    assert_eq!((report.finished, report.released), (2, 1), "{report}");
    assert_eq!(report.stats.acked, 2);
    let mut hs = hs.into_iter();
    let stuck = hs.next().unwrap();
    for (n, h) in hs.enumerate() {
        assert_eq!(within(h).await.unwrap(), n as u64 + 1);
    }
    // The handed-back job runs on another worker; its handle resolves once, there.
    let other = RedisWorker::builder(&url, "drain")
        .handle_with(AsyncExecutor::new(), |Hold(n)| move || async move { Ok::<u64, String>(n + 100) })
        .start()
        .await
        .unwrap();
    assert_eq!(within(stuck).await.unwrap(), 100);
    assert_eq!(other.stats().reclaimed, 1);
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_jobs_four_workers_each_once() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let runs = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        // A long visibility timeout: no job is reclaimed from a live (if busy) worker, so
        // each runs exactly once.
        let w = worker(&url, "many", runs.clone()).visibility_timeout(Duration::from_secs(20)).prefetch(256);
        workers.push(w.start().await.unwrap());
    }
    let exec = client(&url, "many").await;
    let handles: Vec<_> = (0..10_000u64).map(|n| exec.submit_with_id(Square(n + 20))).collect();
    let mut ids = HashSet::new();
    for (n, (id, h)) in handles.into_iter().enumerate() {
        let n = n as u64 + 20;
        assert_eq!(within(h).await.unwrap(), n * n);
        assert!(ids.insert(id), "ids are unique");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 10_000, "each job ran once");
    let mut acked = 0;
    for w in workers {
        let r = w.shutdown().await;
        acked += r.stats.acked;
    }
    assert_eq!(acked, 10_000);
    assert_eq!(exec.pending(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_tick_for_all_pending_jobs() {
    let Some(server) = RedisServer::start() else { return };
    let exec = RedisExecutor::builder(&server.url(), "ticks")
        .read_block(Duration::from_millis(20))
        .connect()
        .await
        .unwrap();
    let handles: Vec<_> = (0..1000u64).map(|n| exec.submit(Square(n))).collect();
    eventually("all enqueued", || server.command("XLEN mx:{ticks}:jobs").as_deref() == Some(":1000\r\n"))
        .await;
    // Submit's second step (the queued states, then the length and a look for early
    // outcomes, in one pipeline) has run once every state exists (1000 states, the stream
    // and the length counter) and a tick or two have passed since.
    eventually("all states written", || server.command("DBSIZE").as_deref() == Some(":1002\r\n")).await;
    let settled = exec.ticks() + 2;
    eventually("two ticks", || exec.ticks() >= settled).await;
    let calls = |s: &RedisServer| -> (u64, u64) {
        let all = s.command_calls();
        let reads = all.iter().filter(|(n, _)| n == "blmpop").map(|(_, c)| c).sum();
        let other = all.iter().filter(|(n, _)| n != "blmpop" && n != "info").map(|(_, c)| c).sum();
        (reads, other)
    };
    let (reads0, other0) = calls(&server);
    let ticks0 = exec.ticks();
    eventually("ten ticks", || exec.ticks() >= ticks0 + 10).await;
    let ticks1 = exec.ticks();
    let (reads1, other1) = calls(&server);
    assert_eq!(other1, other0, "no command per pending job while they wait");
    let (reads, ticks) = (reads1 - reads0, ticks1 - ticks0);
    assert!(reads + 1 >= ticks && reads <= ticks + 1, "one read per tick: {reads} reads, {ticks} ticks");
    // Resolution is batched too: 1000 outcomes take far fewer reads.
    let w = worker(&server.url(), "ticks", Arc::new(AtomicU64::new(0))).prefetch(1000).start().await.unwrap();
    let before = exec.ticks();
    for h in handles {
        let _ = within(h).await;
    }
    let used = exec.ticks() - before;
    assert!(used < 1000, "{used} reads for 1000 outcomes");
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_stack_on_the_client() {
    let Some(server) = RedisServer::start() else { return };
    let url = server.url();
    let w = worker(&url, "layers", Arc::new(AtomicU64::new(0))).start().await.unwrap();
    let exec = client(&url, "layers").await.with_map(|n: u64| n + 1).with_concurrency_limit(4).unwrap();
    let hs: Vec<_> = (0..10u64).map(|n| exec.submit(Square(n))).collect();
    for (n, h) in hs.into_iter().enumerate() {
        if n == 13 {
            continue;
        }
        assert_eq!(within(h).await.unwrap(), (n * n) as u64 + 1);
    }
    w.shutdown().await;
}

#[tokio::test]
async fn bad_configuration_is_rejected() {
    let err = RedisWorker::builder("redis://127.0.0.1:1/", "q").start().await.unwrap_err();
    assert!(err.to_string().contains("handlers"), "{err}");
    let err = RedisWorker::builder("redis://127.0.0.1:1/", "q")
        .max_deliveries(0)
        .handle_with(AsyncExecutor::new(), |Square(n)| move || async move { square(n) })
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max deliveries"), "{err}");
    // Durations too long for Redis's millisecond arguments (or for the clock).
    let square = |Square(n)| move || async move { square(n) };
    let worker =
        || RedisWorker::builder("redis://127.0.0.1:1/", "q").handle_with(AsyncExecutor::new(), square);
    let err = worker().visibility_timeout(Duration::MAX).start().await.unwrap_err();
    assert!(err.to_string().contains("visibility timeout"), "{err}");
    let err = worker().result_ttl(Duration::MAX).start().await.unwrap_err();
    assert!(err.to_string().contains("result TTL"), "{err}");
    let err = worker().read_block(Duration::MAX).start().await.unwrap_err();
    assert!(err.to_string().contains("read block"), "{err}");
    let err = worker().prefetch(usize::MAX).start().await.unwrap_err();
    assert!(err.to_string().contains("prefetch"), "{err}");
    let client = || RedisExecutor::builder("redis://127.0.0.1:1/", "q");
    let err = client().result_ttl(Duration::from_secs(11 * 365 * 86_400)).connect().await.unwrap_err();
    assert!(err.to_string().contains("result TTL"), "{err}");
    let err = client().read_block(Duration::MAX).connect().await.unwrap_err();
    assert!(err.to_string().contains("read block"), "{err}");
    let err = client().batch_size(usize::MAX).connect().await.unwrap_err();
    assert!(err.to_string().contains("batch size"), "{err}");
    let err = RedisExecutor::builder("redis://127.0.0.1:1/", "").connect().await.unwrap_err();
    assert!(err.to_string().contains("queue name"), "{err}");
    let err = RedisExecutor::builder("not a url", "q").connect().await.unwrap_err();
    assert!(matches!(err, more_executors_redis::SetupError::Redis(_)), "{err}");
}
