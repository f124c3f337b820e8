//! Stress: 500 root jobs through a stack of every layer (cancel on shutdown, concurrency
//! limit, retry, timeout, flat_map, poll, map) on a multi-threaded runtime. Jobs submit
//! further jobs from inside jobs, cancel random other jobs (or themselves), fail, panic,
//! hang or finish late, all decided by a seeded RNG per job and attempt.
//!
//! Checked: everything resolves within a generous bound; every submitted handle resolves
//! exactly once, to an outcome explained by what happened (the job's value after the maps,
//! its own error, a poll error, its panic, the timeout, or `Cancelled` exactly when a
//! `cancel()` returned true); job bodies never exceed the limit; after shutdown no task is
//! left alive.

mod reliability_common;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use more_executors::poll::{PollBuilderExt, PollDescriptor, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryBuilderExt};
use more_executors::timeout::TimeoutBuilderExt;
use more_executors::{CancelHandle, Error};
use more_executors_test_support::{Concurrency, quiet_expected_panics};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reliability_common::{alive_tasks, ms};

const ROOTS: u64 = 500;
const MAX_JOBS: u64 = 2_000;
const LIMIT: usize = 64;
const TIMEOUT: Duration = Duration::from_millis(150);
const ATTEMPTS: u32 = 3;
const JOB_ERR: u64 = 1_000_000_000;
const POLL_ERR: u64 = 2_000_000_000;

type JobFut = Pin<Box<dyn Future<Output = Result<u64, u64>> + Send>>;
type Submit = Box<dyn Fn(u64, u32) -> Handle<u64, u64> + Send + Sync>;

/// What one attempt of a job does, drawn from the seeded RNG.
struct Plan {
    children: u32,
    cancel_someone: bool,
    outcome: Outcome,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Outcome {
    Value,
    Error,
    Panic,
    Late(u64),
    Hang,
}

struct World {
    seed: u64,
    submit: OnceLock<Submit>,
    handles: Mutex<Vec<(u64, Handle<u64, u64>)>>,
    cancellers: Mutex<Vec<(u64, CancelHandle)>>,
    accepted: Mutex<HashSet<u64>>,
    next_id: AtomicU64,
    conc: Concurrency,
}

impl World {
    fn new(seed: u64) -> Arc<World> {
        Arc::new(World {
            seed,
            submit: OnceLock::new(),
            handles: Mutex::new(Vec::new()),
            cancellers: Mutex::new(Vec::new()),
            accepted: Mutex::new(HashSet::new()),
            next_id: AtomicU64::new(0),
            conc: Concurrency::new(),
        })
    }

    fn spawn(&self, depth: u32) {
        let id = self.next_id.fetch_add(1, SeqCst);
        if id >= MAX_JOBS {
            return;
        }
        let h = (self.submit.get().expect("set before the first job"))(id, depth);
        self.cancellers.lock().unwrap().push((id, h.canceller()));
        self.handles.lock().unwrap().push((id, h));
    }

    fn rng(&self, id: u64, attempt: u32) -> StdRng {
        StdRng::seed_from_u64(self.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(attempt))
    }

    fn plan(&self, id: u64, depth: u32, attempt: u32, blocking: bool) -> Plan {
        let mut rng = self.rng(id, attempt);
        let children = if depth < 3 { rng.random_range(0..=2) } else { 0 };
        let cancel_someone = rng.random_bool(0.2);
        let outcome = match rng.random_range(0..100) {
            0..70 => Outcome::Value,
            70..85 => Outcome::Error,
            85..90 => Outcome::Panic,
            90..95 => Outcome::Hang,
            _ => Outcome::Late(rng.random_range(0..if blocking { 3 } else { 20 })),
        };
        Plan { children, cancel_someone, outcome }
    }

    /// The chaos every job does before its own outcome: submit children, cancel a random
    /// job (possibly itself).
    fn chaos(&self, id: u64, depth: u32, attempt: u32, plan: &Plan) {
        for _ in 0..plan.children {
            self.spawn(depth + 1);
        }
        if plan.cancel_someone {
            let target = {
                let all = self.cancellers.lock().unwrap();
                let i = self.rng(id, attempt + 100).random_range(0..all.len());
                all[i].clone()
            };
            if target.1.cancel() {
                self.accepted.lock().unwrap().insert(target.0);
            }
        }
    }
}

fn expected_value(id: u64) -> u64 {
    // map (+1), poll (*2), flat_map (+3)
    (id * 10 + 1) * 2 + 3
}

fn async_job(world: Weak<World>, id: u64, depth: u32) -> impl FnOnce() -> JobFut + Clone + Send + 'static {
    let attempts = Arc::new(AtomicU32::new(0));
    move || {
        Box::pin(async move {
            let attempt = attempts.fetch_add(1, SeqCst);
            let Some(world) = world.upgrade() else { return Err(JOB_ERR + id) };
            let _running = world.conc.enter();
            let plan = world.plan(id, depth, attempt, false);
            world.chaos(id, depth, attempt, &plan);
            match plan.outcome {
                Outcome::Value => Ok(id * 10),
                Outcome::Error => Err(JOB_ERR + id),
                Outcome::Panic => panic!("boom {id}"),
                Outcome::Late(d) => {
                    tokio::time::sleep(ms(d)).await;
                    Ok(id * 10)
                }
                Outcome::Hang => {
                    drop(world);
                    std::future::pending().await
                }
            }
        })
    }
}

fn blocking_job(
    world: Weak<World>,
    id: u64,
    depth: u32,
) -> impl FnOnce() -> Result<u64, u64> + Clone + Send + 'static {
    let attempts = Arc::new(AtomicU32::new(0));
    move || {
        let attempt = attempts.fetch_add(1, SeqCst);
        let Some(world) = world.upgrade() else { return Err(JOB_ERR + id) };
        let _running = world.conc.enter();
        let plan = world.plan(id, depth, attempt, true);
        world.chaos(id, depth, attempt, &plan);
        match plan.outcome {
            Outcome::Value => Ok(id * 10),
            Outcome::Error => Err(JOB_ERR + id),
            Outcome::Panic => panic!("boom {id}"),
            // Real threads: a hang is a sleep past the timeout.
            Outcome::Late(d) => {
                std::thread::sleep(ms(d));
                Ok(id * 10)
            }
            Outcome::Hang => {
                std::thread::sleep(TIMEOUT + ms(20));
                Ok(id * 10)
            }
        }
    }
}

/// Resolves most descriptors at once, some on their second poll, fails some.
fn poll_layer() -> PollLayer<u64, u64, u64> {
    let mut seen = HashSet::new();
    PollLayer::new(move |ds: &mut [PollDescriptor<u64, u64, u64>]| {
        for d in ds.iter_mut() {
            let input = *d.input();
            match (input / 10) % 7 {
                3 => {
                    d.yield_error(POLL_ERR + input);
                }
                5 if seen.insert(input) => {}
                _ => {
                    d.yield_result(input * 2);
                }
            }
        }
        Ok(Some(ms(1)))
    })
    .first_poll_delay(Duration::ZERO)
    .cancel_fn(|input: &u64| Ok((input / 10) % 2 == 0))
}

fn retry_policy() -> ExponentialBackoff {
    ExponentialBackoff::builder().max_attempts(ATTEMPTS).sleep(ms(1)).max_sleep(ms(4)).build().unwrap()
}

/// Submits the roots, then awaits every handle (children keep arriving) and checks each.
async fn run(world: Arc<World>, shutdown: impl Fn()) {
    for _ in 0..ROOTS {
        world.spawn(0);
    }
    let mut results = Vec::new();
    let all = async {
        loop {
            let batch: Vec<_> = std::mem::take(&mut *world.handles.lock().unwrap());
            if batch.is_empty() {
                break;
            }
            for (id, h) in batch {
                results.push((id, h.await));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all).await.expect("every handle resolves within 60 s");

    let submitted = world.next_id.load(SeqCst).min(MAX_JOBS);
    assert!(submitted > ROOTS, "jobs submitted children");
    let ids: HashSet<u64> = results.iter().map(|(id, _)| *id).collect();
    assert_eq!(results.len() as u64, submitted, "one resolution per submitted handle");
    assert_eq!(ids.len() as u64, submitted, "no handle resolved twice");

    let accepted = world.accepted.lock().unwrap().clone();
    let mut tally = [0usize; 6];
    for (id, out) in &results {
        let cancelled = accepted.contains(id);
        match out {
            Ok(v) => {
                tally[0] += 1;
                assert_eq!(*v, expected_value(*id), "job {id}");
            }
            Err(Error::Cancelled) => tally[1] += 1,
            Err(Error::Job(e)) => {
                tally[2] += 1;
                assert!(*e == JOB_ERR + id || *e == POLL_ERR + id * 10 + 1, "job {id}: error {e}");
            }
            Err(Error::Panicked(m)) => {
                tally[3] += 1;
                assert_eq!(m, &format!("boom {id}"));
            }
            Err(Error::TimedOut(d)) => {
                tally[4] += 1;
                assert_eq!(*d, TIMEOUT);
            }
            Err(other) => panic!("job {id}: unexpected {other:?}"),
        }
        assert_eq!(
            cancelled,
            matches!(out, Err(Error::Cancelled)),
            "job {id}: cancel() returned true ⇔ the handle resolved cancelled (got {out:?})"
        );
    }
    assert!(world.conc.peak() <= LIMIT, "{} bodies ran at once", world.conc.peak());
    eprintln!("submitted {submitted}, outcomes (ok, cancelled, error, panic, timed out): {:?}", &tally[..5]);
    for (i, n) in tally.iter().enumerate().take(5) {
        assert!(*n > 0, "outcome class {i} never happened: {tally:?}");
    }

    shutdown();
}

#[test]
fn async_stack_of_every_layer_survives_500_self_spawning_chaotic_jobs() {
    quiet_expected_panics();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let world = World::new(0x5eed_0001);
        let exec = ExecutorBuilder::new()
            .cancel_on_shutdown()
            .concurrency_limit(LIMIT)
            .unwrap()
            .retry(retry_policy())
            .timeout(TIMEOUT)
            .unwrap()
            .flat_map(|v: u64| async move {
                tokio::task::yield_now().await;
                Ok::<_, Error<u64>>(v + 3)
            })
            .poll(poll_layer())
            .map(|v: u64| v + 1)
            .build(AsyncExecutor::new());
        let (e, w) = (exec.clone(), Arc::downgrade(&world));
        let submit: Submit = Box::new(move |id, depth| e.submit(async_job(w.clone(), id, depth)));
        assert!(world.submit.set(submit).is_ok());
        let rt = exec.runtime().clone();
        run(world.clone(), || exec.shutdown()).await;
        rt.wait_shutdown().await;
        drop(world);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while alive_tasks() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(ms(1)).await;
        }
        assert_eq!(alive_tasks(), 0, "no task left after shutdown");
    });
}

#[test]
fn blocking_stack_of_every_layer_survives_500_self_spawning_chaotic_jobs() {
    quiet_expected_panics();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let world = World::new(0x5eed_0002);
        let exec = ExecutorBuilder::new()
            .cancel_on_shutdown()
            .concurrency_limit(LIMIT)
            .unwrap()
            .retry(retry_policy())
            .timeout(TIMEOUT)
            .unwrap()
            .flat_map(|v: u64| async move { Ok::<_, Error<u64>>(v + 3) })
            .poll(poll_layer())
            .map(|v: u64| v + 1)
            .build(BlockingPool::new(8).unwrap());
        let (e, w) = (exec.clone(), Arc::downgrade(&world));
        let submit: Submit = Box::new(move |id, depth| e.submit(blocking_job(w.clone(), id, depth)));
        assert!(world.submit.set(submit).is_ok());
        let rt = exec.runtime().clone();
        run(world.clone(), || exec.shutdown()).await;
        rt.wait_shutdown().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while alive_tasks() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(ms(1)).await;
        }
        assert_eq!(alive_tasks(), 0, "no task left after shutdown");
    });
}
