//! Property test: random spawn, wait, close, cancel and shutdown sequences.
//!
//! Checked for every run: every job ends with exactly one outcome, consistent with what
//! its future did and with what its caller received; every error reaches exactly one of
//! the waiter and the error handler; the limit is never exceeded; jobs start in FIFO order.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Recorder;
use futures::FutureExt;
use more_executors_core::Error;
use more_executors_jobs::{CancellationToken, Job, JobState, Outcome, Scheduler};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TrySpawn { ms: u8, fail: bool, token: bool },
    Spawn { ms: u8, fail: bool, patience: u8 },
    Shield { ms: u8, fail: bool },
    Advance(u8),
    Await(usize),
    AwaitBriefly(usize, u8),
    Wait(usize, u8),
    CloseJob(usize),
    Detach(usize),
    RaiseLimit(u8),
    Close,
    WaitAndClose(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..50u8, any::<bool>(), any::<bool>()).prop_map(|(ms, fail, token)| Op::TrySpawn { ms, fail, token }),
        2 => (1..50u8, any::<bool>(), 0..20u8).prop_map(|(ms, fail, patience)| Op::Spawn { ms, fail, patience }),
        1 => (1..50u8, any::<bool>()).prop_map(|(ms, fail)| Op::Shield { ms, fail }),
        3 => (0..40u8).prop_map(Op::Advance),
        1 => (0..40usize).prop_map(Op::Await),
        1 => (0..40usize, 0..30u8).prop_map(|(i, ms)| Op::AwaitBriefly(i, ms)),
        1 => (0..40usize, 0..30u8).prop_map(|(i, ms)| Op::Wait(i, ms)),
        1 => (0..40usize).prop_map(Op::CloseJob),
        1 => (0..40usize).prop_map(Op::Detach),
        1 => (1..4u8).prop_map(Op::RaiseLimit),
        1 => Just(Op::Close),
        1 => (0..60u8).prop_map(Op::WaitAndClose),
    ]
}

/// What the test knows about one job's future.
#[derive(Default)]
struct Track {
    running: AtomicUsize,
    limit: AtomicUsize,
    violations: AtomicUsize,
    start_order: Mutex<Vec<usize>>,
    /// tag -> what the future returned (`Ok` or the error message).
    returned: Mutex<HashMap<usize, Result<(), String>>>,
    /// tag -> what a waiter received.
    received: Mutex<HashMap<usize, Result<usize, Error<String>>>>,
}

/// A spawned job: its tag, its handle while the test still holds it, and whether it counts
/// toward the limit.
type Spawned = (usize, Option<Job<usize, String>>, bool);

struct RunGuard(Arc<Track>);

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, SeqCst);
    }
}

fn job_future(
    track: &Arc<Track>,
    tag: usize,
    ms: u8,
    fail: bool,
    token: Option<CancellationToken>,
    counted: bool,
) -> impl std::future::Future<Output = Result<usize, String>> + Send + 'static {
    let track = track.clone();
    async move {
        let _guard = if counted {
            let now = track.running.fetch_add(1, SeqCst) + 1;
            if now > track.limit.load(SeqCst) {
                track.violations.fetch_add(1, SeqCst);
            }
            track.start_order.lock().unwrap().push(tag);
            Some(RunGuard(track.clone()))
        } else {
            None
        };
        let sleep = tokio::time::sleep(Duration::from_millis(u64::from(ms)));
        let stopped = match &token {
            Some(t) => tokio::select! {
                _ = sleep => false,
                _ = t.cancelled() => true,
            },
            None => {
                sleep.await;
                false
            }
        };
        let out = if stopped {
            Err(format!("stopped {tag}"))
        } else if fail {
            Err(format!("failed {tag}"))
        } else {
            Ok(tag)
        };
        track.returned.lock().unwrap().insert(tag, out.clone().map(|_| ()));
        out
    }
}

fn run(limit: usize, pending_limit: Option<usize>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async move {
        let rec = Recorder::default();
        let mut builder = Scheduler::builder()
            .limit(limit)
            .close_timeout(Duration::from_millis(20))
            .error_handler(rec.handler());
        builder = match pending_limit {
            Some(p) => builder.pending_limit(p),
            None => builder.unbounded_pending(),
        };
        let s = builder.build().unwrap();
        let track = Arc::new(Track::default());
        track.limit.store(limit, SeqCst);
        // Every job ever spawned: (tag, job handle if still held here, counted toward the limit).
        let mut jobs: Vec<Spawned> = Vec::new();
        let mut detached: Vec<(usize, Job<usize, String>)> = Vec::new();
        let mut waiters = Vec::new();
        let mut next_tag = 0usize;
        for op in ops {
            match op {
                Op::TrySpawn { ms, fail, token } => {
                    let tag = next_tag;
                    next_tag += 1;
                    let tok = token.then(CancellationToken::new);
                    let fut = job_future(&track, tag, ms, fail, tok.clone(), true);
                    let mut b = s.job();
                    if let Some(t) = tok {
                        b = b.token(t);
                    }
                    if let Ok(job) = b.try_spawn(fut) {
                        jobs.push((tag, Some(job), true));
                    }
                }
                Op::Spawn { ms, fail, patience } => {
                    let tag = next_tag;
                    next_tag += 1;
                    let fut = job_future(&track, tag, ms, fail, None, true);
                    let spawn = s.spawn(fut);
                    match tokio::time::timeout(Duration::from_millis(u64::from(patience)), spawn).await {
                        Ok(Ok(job)) => jobs.push((tag, Some(job), true)),
                        Ok(Err(_closed)) => {}
                        Err(_gave_up) => {} // dropped while waiting for room: nothing spawned
                    }
                }
                Op::Shield { ms, fail } => {
                    let tag = next_tag;
                    next_tag += 1;
                    if let Ok(job) = s.shield(job_future(&track, tag, ms, fail, None, false)) {
                        jobs.push((tag, Some(job), false));
                    }
                }
                Op::Advance(ms) => tokio::time::sleep(Duration::from_millis(u64::from(ms))).await,
                Op::Await(i) | Op::AwaitBriefly(i, _) | Op::Wait(i, _) => {
                    let Some((tag, slot, _)) = jobs.get_mut(i) else { continue };
                    let Some(job) = slot.take() else { continue };
                    let tag = *tag;
                    let track = track.clone();
                    waiters.push(tokio::spawn(async move {
                        let out = match op {
                            Op::Await(_) => Some(job.await),
                            Op::AwaitBriefly(_, ms) => {
                                tokio::time::timeout(Duration::from_millis(u64::from(ms)), job).await.ok()
                            }
                            Op::Wait(_, ms) => Some(job.wait(Duration::from_millis(u64::from(ms))).await),
                            _ => unreachable!(),
                        };
                        if let Some(out) = out {
                            track.received.lock().unwrap().insert(tag, out);
                        }
                    }));
                }
                Op::CloseJob(i) => {
                    if let Some((_, Some(job), _)) = jobs.get(i) {
                        drop(job.close());
                    }
                }
                Op::Detach(i) => {
                    if let Some((tag, slot, _)) = jobs.get_mut(i) {
                        if let Some(job) = slot.take() {
                            detached.push((*tag, job));
                        }
                    }
                }
                Op::RaiseLimit(by) => {
                    let new = track.limit.load(SeqCst) + usize::from(by);
                    track.limit.store(new, SeqCst);
                    s.set_limit(new).unwrap();
                }
                Op::Close => drop(s.close()),
                Op::WaitAndClose(ms) => {
                    s.wait_and_close(Some(Duration::from_millis(u64::from(ms)))).await;
                }
            }
        }
        s.close().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        for w in waiters {
            w.await.unwrap();
        }
        prop_assert!(s.is_empty());
        prop_assert_eq!(track.violations.load(SeqCst), 0, "the limit was exceeded");
        prop_assert_eq!(track.running.load(SeqCst), 0);

        // FIFO: counted jobs start in spawn order.
        let order = track.start_order.lock().unwrap().clone();
        prop_assert!(order.windows(2).all(|w| w[0] < w[1]), "start order {:?}", order);

        let returned = track.returned.lock().unwrap();
        let received = track.received.lock().unwrap();
        let handled = rec.seen();
        // Each job's handler reports: at most one, and only for what its future returned.
        let mut handler_by_tag: HashMap<usize, Vec<_>> = HashMap::new();
        for h in &handled {
            let tag: usize = h.message.split(' ').nth(1).unwrap().parse().unwrap();
            handler_by_tag.entry(tag).or_default().push(h.clone());
        }
        for (tag, reports) in &handler_by_tag {
            prop_assert_eq!(reports.len(), 1, "job {} reported {} times", tag, reports.len());
            prop_assert_eq!(returned.get(tag), Some(&Err(reports[0].message.clone())));
        }
        // Every error the futures returned reached someone.
        for (tag, r) in returned.iter() {
            if let Err(msg) = r {
                let to_waiter = matches!(received.get(tag), Some(Err(Error::Job(m))) if m == msg);
                let to_handler = handler_by_tag.contains_key(tag);
                let decided_otherwise =
                    matches!(received.get(tag), Some(Err(Error::Cancelled | Error::TimedOut(_))));
                prop_assert!(
                    to_waiter || to_handler,
                    "error of job {} was lost ({:?})",
                    tag,
                    received.get(tag)
                );
                if to_handler && !handler_by_tag[tag][0].late {
                    prop_assert!(!decided_otherwise);
                }
            }
        }
        // What waiters received agrees with what the futures did.
        for (tag, r) in received.iter() {
            match r {
                Ok(t) => {
                    prop_assert_eq!(t, tag);
                    prop_assert_eq!(returned.get(tag), Some(&Ok(())));
                }
                Err(Error::Job(m)) => prop_assert_eq!(returned.get(tag), Some(&Err(m.clone()))),
                Err(e) => prop_assert!(e.is_cancelled() || e.is_timed_out(), "unexpected {:?}", e),
            }
        }
        // Jobs still held: closed, with exactly one outcome matching their result.
        let held = jobs.into_iter().filter_map(|(tag, j, _)| j.map(|j| (tag, j))).chain(detached);
        for (tag, job) in held {
            prop_assert_eq!(job.state(), JobState::Closed);
            let outcome = job.outcome();
            let result = job.now_or_never();
            prop_assert!(result.is_some(), "a closed job's result is ready");
            let result = result.unwrap();
            let expected = match &result {
                Ok(_) => Outcome::Completed,
                Err(Error::Job(_)) => Outcome::Failed,
                Err(Error::Cancelled) => Outcome::Cancelled,
                Err(Error::TimedOut(_)) => Outcome::TimedOut,
                Err(Error::Panicked(_)) => Outcome::Panicked,
                Err(other) => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            };
            prop_assert_eq!(outcome, Some(expected), "job {}", tag);
            match outcome {
                Some(Outcome::Completed) => prop_assert_eq!(returned.get(&tag), Some(&Ok(()))),
                Some(Outcome::Failed) => prop_assert!(matches!(returned.get(&tag), Some(Err(_)))),
                _ => {}
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_invariants(
        limit in 1..4usize,
        pending_limit in prop_oneof![Just(None), (0..4usize).prop_map(Some)],
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        run(limit, pending_limit, ops)?;
    }
}

/// Real threads: racing completions, closes and waiters keep every invariant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_threaded_stress_keeps_exactly_once_and_the_limit() {
    let rec = Recorder::default();
    let s = Scheduler::builder().limit(8).pending_limit(64).error_handler(rec.handler()).build().unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let n = 4000usize;
    let mut tasks = Vec::new();
    let received = Arc::new(Mutex::new(Vec::new()));
    for i in 0..n {
        let (running, peak) = (running.clone(), peak.clone());
        let job = s
            .spawn(async move {
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                let _guard = RunGuard2(running); // decrements also when the job is dropped
                for _ in 0..(i % 3) {
                    tokio::task::yield_now().await;
                }
                if i % 2 == 0 { Err(format!("failed {i}")) } else { Ok(i) }
            })
            .await
            .unwrap();
        match i % 4 {
            0 => drop(job),
            1 => {
                let received = received.clone();
                tasks.push(tokio::spawn(async move {
                    let r = job.await;
                    received.lock().unwrap().push((i, r));
                }));
            }
            2 => {
                let received = received.clone();
                tasks.push(tokio::spawn(async move {
                    let closed = job.close().await.was_cancelled();
                    let r = job.await;
                    assert_eq!(closed, r == Err(Error::Cancelled));
                    received.lock().unwrap().push((i, r));
                }));
            }
            _ => {
                let received = received.clone();
                tasks.push(tokio::spawn(async move {
                    let r = job.wait(Duration::from_secs(30)).await;
                    received.lock().unwrap().push((i, r));
                }));
            }
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    s.wait_and_close(None).await;
    assert!(peak.load(SeqCst) <= 8, "peak {}", peak.load(SeqCst));
    let received = received.lock().unwrap();
    let handled = rec.messages();
    let mut seen = std::collections::HashSet::new();
    for m in &handled {
        assert!(seen.insert(m.clone()), "{m} reported twice");
    }
    for i in (0..n).filter(|i| i % 2 == 0) {
        let msg = format!("failed {i}");
        let to_waiter = received.iter().any(|(j, r)| *j == i && *r == Err(Error::Job(msg.clone())));
        let cancelled = received.iter().any(|(j, r)| *j == i && r.as_ref().is_err_and(|e| e.is_cancelled()));
        let to_handler = seen.contains(&msg);
        assert!(to_waiter || to_handler || cancelled, "error of job {i} was lost");
        if i % 4 == 0 {
            assert!(to_handler, "detached job {i}: its error must reach the handler");
        }
    }
}

struct RunGuard2(Arc<AtomicUsize>);

impl Drop for RunGuard2 {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}
