//! Exactly-once resolution under random interleavings of submit, cancel before claim,
//! cancel while running, worker kill (its runtime dropped: no acknowledgement, no hand
//! back) and completion, against one real `redis-server` started for the whole test
//! (skipped with a message when none is installed, unless
//! `MORE_EXECUTORS_REQUIRE_REDIS=1`).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use more_executors_core::prelude::*;
use more_executors_redis::{RedisExecutor, RedisWorker, RemoteJob};
use support::{RedisServer, eventually, eventually_async, within};

/// A job that runs until the test releases it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step(u64);

impl RemoteJob for Step {
    const NAME: &'static str = "step";
    type Output = u64;
    type Error = String;
}

fn value(n: u64) -> u64 {
    n * 10 + 1
}

/// What the operations do to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Released while running: resolves to its value.
    Complete,
    /// Cancelled while no worker is alive, before any claimed it: never runs.
    CancelQueued,
    /// Cancelled while running: the worker's async stack accepts.
    CancelRunning,
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![Just(Plan::Complete), Just(Plan::CancelQueued), Just(Plan::CancelRunning)]
}

/// One case: the plans of its jobs, the order (sort keys) in which the running ones are
/// completed or cancelled, and before which of those steps the worker is killed.
#[derive(Debug, Clone)]
struct Case {
    plans: Vec<Plan>,
    order: Vec<u8>,
    kills: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(plan(), 1..7).prop_flat_map(|plans| {
        let n = plans.len();
        (Just(plans), prop::collection::vec(any::<u8>(), n), prop::collection::vec(0..=n, 0..3))
            .prop_map(|(plans, order, kills)| Case { plans, order, kills })
    })
}

/// What the jobs' handlers share with the test.
#[derive(Default)]
struct Probe {
    /// Times each job started running.
    started: Mutex<HashMap<u64, u32>>,
}

impl Probe {
    fn starts(&self, n: u64) -> u32 {
        self.started.lock().unwrap().get(&n).copied().unwrap_or(0)
    }
}

/// A worker in its own runtime: dropping the runtime kills it like a SIGKILL would (no
/// acknowledgement, nothing handed back; its jobs are reclaimed after the visibility
/// timeout).
struct WorkerProc {
    rt: Option<tokio::runtime::Runtime>,
    _worker: RedisWorker,
}

impl WorkerProc {
    async fn start(
        url: &str,
        queue: &str,
        probe: Arc<Probe>,
        released: watch::Receiver<Vec<u64>>,
    ) -> WorkerProc {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (url, queue) = (url.to_string(), queue.to_string());
        let worker = rt
            .spawn(async move {
                RedisWorker::builder(&url, &queue)
                    .visibility_timeout(Duration::from_millis(150))
                    .read_block(Duration::from_millis(50))
                    .max_deliveries(20)
                    .handle_with(AsyncExecutor::new(), move |Step(n)| {
                        let (probe, mut released) = (probe.clone(), released.clone());
                        move || async move {
                            *probe.started.lock().unwrap().entry(n).or_default() += 1;
                            let _ = released.wait_for(|r| r.contains(&n)).await;
                            Ok::<u64, String>(value(n))
                        }
                    })
                    .start()
                    .await
                    .unwrap()
            })
            .await
            .unwrap();
        WorkerProc { rt: Some(rt), _worker: worker }
    }

    fn kill(mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Polls `cond` until it holds (bounded: a broken build fails instead of hanging).
async fn run_case(url: &str, queue: &str, case: &Case) {
    let exec = RedisExecutor::builder(url, queue)
        .read_block(Duration::from_millis(50))
        .cancel_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let probe = Arc::new(Probe::default());
    let (release, released) = watch::channel(Vec::<u64>::new());
    let n = case.plans.len() as u64;

    // Submit everything while no worker is alive; cancel the CancelQueued jobs now.
    let (ids, mut handles): (Vec<String>, Vec<Option<Handle<u64, _>>>) =
        (0..n).map(|i| exec.submit_with_id(Step(i))).map(|(id, h)| (id, Some(h))).unzip();
    let mut outcomes: HashMap<u64, Result<u64, ()>> = HashMap::new();
    // Once all are in Redis, a cancel goes through Redis (before that it would only drop
    // the job on the client: never enqueued, and unknown to `attach`).
    eventually_async("every job enqueued", || async { within(exec.queue_info()).await.unwrap().queued >= n })
        .await;
    for (i, p) in case.plans.iter().enumerate() {
        if *p == Plan::CancelQueued {
            let h = handles[i].as_ref().unwrap();
            assert!(within(h.cancel_async()).await, "job {i}: a queued job is cancelled at once");
        }
    }

    // A worker claims and starts every other job.
    let mut worker = WorkerProc::start(url, queue, probe.clone(), released.clone()).await;
    let mut running: Vec<u64> = (0..n).filter(|&i| case.plans[i as usize] != Plan::CancelQueued).collect();
    let starts_before: HashMap<u64, u32> = running.iter().map(|&i| (i, 0)).collect();
    eventually("every job runs", || running.iter().all(|&i| probe.starts(i) > starts_before[&i])).await;

    // Complete or cancel the running jobs in a random order, killing the worker between
    // steps; after a kill a new worker reclaims the unfinished jobs and runs them again.
    running.sort_by_key(|&i| (case.order[i as usize], i));
    for (step, &i) in running.iter().enumerate() {
        for _ in case.kills.iter().filter(|&&k| k == step) {
            let left: Vec<u64> = running[step..].to_vec();
            let before: HashMap<u64, u32> = left.iter().map(|&j| (j, probe.starts(j))).collect();
            worker.kill();
            worker = WorkerProc::start(url, queue, probe.clone(), released.clone()).await;
            eventually("the unfinished jobs run again on the new worker", || {
                left.iter().all(|j| probe.starts(*j) > before[j])
            })
            .await;
        }
        let h = handles[i as usize].take().unwrap();
        match case.plans[i as usize] {
            Plan::Complete => {
                release.send_modify(|r| r.push(i));
                assert_eq!(within(h).await.unwrap(), value(i), "job {i}");
                outcomes.insert(i, Ok(value(i)));
            }
            Plan::CancelRunning => {
                assert!(within(h.cancel_async()).await, "job {i}: the running async job accepts the cancel");
                assert!(within(h).await.unwrap_err().is_cancelled(), "job {i}");
                outcomes.insert(i, Err(()));
            }
            Plan::CancelQueued => unreachable!(),
        }
    }
    // The jobs cancelled before any claim resolve cancelled and never ran.
    for (i, slot) in handles.iter_mut().enumerate() {
        if let Some(h) = slot.take() {
            assert!(within(h).await.unwrap_err().is_cancelled(), "job {i}");
            outcomes.insert(i as u64, Err(()));
        }
    }
    for (i, p) in case.plans.iter().enumerate() {
        if *p == Plan::CancelQueued {
            assert_eq!(probe.starts(i as u64), 0, "job {i} was cancelled before any claim, yet it ran");
        }
    }
    assert_eq!(exec.pending(), 0, "every handle resolved");
    // One outcome per job is stored, the one its handle resolved to (a job run twice
    // after a kill did not store a second one).
    for (i, id) in ids.iter().enumerate() {
        let again = within(exec.attach::<Step>(id)).await;
        match outcomes[&(i as u64)] {
            Ok(v) => assert_eq!(again.unwrap(), v, "job {i}"),
            Err(()) => assert!(again.unwrap_err().is_cancelled(), "job {i}"),
        }
    }
    // A handle cancelled while running resolves on its worker's answer; the worker then
    // stores the cancelled outcome and acknowledges the entry, which is when it leaves the
    // queue. Wait for that (bounded), then nothing may be left.
    eventually_async("the queue empty", || async { within(exec.queue_info()).await.unwrap().queued == 0 })
        .await;
    let info = within(exec.queue_info()).await.unwrap();
    assert_eq!((info.queued, info.dead_letters), (0, 0), "nothing left in the queue");
    drop(worker);
}

#[test]
fn each_handle_resolves_once_under_random_interleavings() {
    let Some(server) = RedisServer::start() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = server.url();
    // One fixed case first, so every run covers two kills, a cancel of a job running on
    // the worker that reclaimed it, and completions before and after.
    let fixed = Case {
        plans: vec![Plan::Complete, Plan::CancelQueued, Plan::CancelRunning, Plan::Complete],
        order: vec![0, 0, 1, 2],
        kills: vec![0, 1],
    };
    rt.block_on(run_case(&url, "pt-fixed", &fixed));
    // A case proptest found: a job cancelled while running, then the worker killed. The
    // worker must store the cancelled outcome before it tells the client the cancel was
    // accepted; answering first left the job to be reclaimed and run again after the
    // kill, and `attach` then waited for an outcome that never came.
    let answered_then_killed = Case {
        plans: vec![
            Plan::Complete,
            Plan::CancelRunning,
            Plan::Complete,
            Plan::CancelQueued,
            Plan::CancelQueued,
            Plan::CancelRunning,
        ],
        order: vec![98, 87, 166, 83, 25, 59],
        kills: vec![2],
    };
    rt.block_on(run_case(&url, "pt-answered-then-killed", &answered_then_killed));
    let cases = AtomicU64::new(0);
    let config = Config { cases: 24, max_shrink_iters: 16, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| {
        // A fresh queue per case, on the one server.
        let queue = format!("pt{}", cases.fetch_add(1, Ordering::Relaxed));
        rt.block_on(run_case(&url, &queue, &case));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
