//! The poll function's contract and the schedule, under paused time.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::*;
use more_executors_core::prelude::*;
use more_executors_poll::{DEFAULT_INTERVAL, PollDescriptor, PollExt, PollLayer, Poller};
use tokio::time::{Instant, advance, sleep};

const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn the_poll_function_sees_every_unresolved_descriptor_in_one_call() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |i, ds| {
        for d in ds.iter_mut() {
            let id = *d.input();
            if i > 0 || id % 2 == 0 {
                d.yield_result(format!("done-{id}"));
            }
        }
        Ok(Some(S))
    }));
    let handles: Vec<_> = (0..6).map(|id| submit(&exec, id)).collect();
    for (id, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap(), format!("done-{id}"));
    }
    let calls = rec.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].inputs, [0, 1, 2, 3, 4, 5]);
    assert_eq!(calls[1].inputs, [1, 3, 5], "resolved descriptors are not offered again");
}

#[tokio::test(start_paused = true)]
async fn a_second_yield_is_ignored() {
    let rec = Arc::new(Recorder::default());
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let exec = exec(recording_layer(&rec, move |_, ds| {
        for d in ds.iter_mut() {
            assert!(d.yield_result("first".into()));
            assert!(!d.yield_result("second".into()));
            assert!(!d.yield_error("third".into()));
            assert!(d.is_resolved());
            s.fetch_add(1, SeqCst);
        }
        Ok(None)
    }));
    assert_eq!(submit(&exec, 1).await.unwrap(), "first");
    assert_eq!(seen.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_returned_delay_sets_the_next_poll_exactly() {
    let rec = Arc::new(Recorder::default());
    let delays = [3 * S, 7 * S, 250 * MS];
    let exec = exec(recording_layer(&rec, move |i, ds| {
        if i == delays.len() {
            resolve_all(ds);
            return Ok(None);
        }
        Ok(Some(delays[i]))
    }));
    let t0 = Instant::now();
    assert_eq!(submit(&exec, 1).await.unwrap(), "done-1");
    let at: Vec<Duration> = rec.calls().iter().map(|c| c.at - t0).collect();
    assert_eq!(at, [100 * MS, 3100 * MS, 10_100 * MS, 10_350 * MS]);
}

#[tokio::test(start_paused = true)]
async fn without_a_delay_the_default_interval_applies() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |i, ds| {
        if i == 2 {
            resolve_all(ds);
        }
        Ok(None)
    }));
    let t0 = Instant::now();
    submit(&exec, 1).await.unwrap();
    let at: Vec<Duration> = rec.calls().iter().map(|c| c.at - t0).collect();
    assert_eq!(DEFAULT_INTERVAL, 5 * S);
    assert_eq!(at, [100 * MS, 5100 * MS, 10_100 * MS]);

    let rec = Arc::new(Recorder::default());
    let layer = recording_layer(&rec, |i, ds| {
        if i == 2 {
            resolve_all(ds);
        }
        Ok(None)
    })
    .default_interval_secs(0.5)
    .unwrap();
    let exec = common::exec(layer);
    let t0 = Instant::now();
    submit(&exec, 1).await.unwrap();
    let at: Vec<Duration> = rec.calls().iter().map(|c| c.at - t0).collect();
    assert_eq!(at, [100 * MS, 600 * MS, 1100 * MS]);
}

#[test]
fn a_zero_or_invalid_interval_is_rejected() {
    let layer = || PollLayer::new(|_: &mut [D]| Ok(None));
    let err = layer().default_interval(Duration::ZERO).unwrap_err();
    assert_eq!(err.setting(), "poll interval");
    assert!(layer().default_interval_secs(0.0).is_err());
    assert!(layer().default_interval_secs(f64::NAN).is_err());
    assert!(layer().default_interval_secs(-3.0).is_err());
    assert!(layer().default_interval_secs(f64::INFINITY).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_failing_poll_fails_every_future_of_that_call_and_polling_goes_on() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |i, ds| match i {
        0 => {
            // Resolve one, then fail: the yield stands, the others fail.
            for d in ds.iter_mut().filter(|d| *d.input() == 0) {
                d.yield_result("early".into());
            }
            Err("search failed: 503".into())
        }
        _ => {
            resolve_all(ds);
            Ok(None)
        }
    }));
    let handles: Vec<_> = (0..3).map(|id| submit(&exec, id)).collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await);
    }
    assert_eq!(results[0], Ok("early".to_string()));
    for r in &results[1..] {
        assert_eq!(r.clone().unwrap_err().into_job_error().as_deref(), Some("search failed: 503"));
    }
    // Later futures are polled normally.
    assert_eq!(submit(&exec, 7).await.unwrap(), "done-7");
    assert_eq!(rec.count(), 2);
}

/// An async poller whose first call takes 1 s and fails; futures registered during it
/// are polled the default interval after the failure.
struct SlowFailing {
    rec: Arc<Recorder>,
}

#[more_executors_poll::async_trait]
impl Poller<u32, String, String> for SlowFailing {
    async fn poll(&self, ds: &mut [D]) -> Result<Option<Duration>, String> {
        let i = self.rec.record(ds);
        if i == 0 {
            sleep(S).await;
            return Err("backend down".into());
        }
        resolve_all(ds);
        Ok(Some(S))
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_failure_the_next_poll_waits_the_default_interval() {
    let rec = Arc::new(Recorder::default());
    let layer = PollLayer::with_poller(SlowFailing { rec: rec.clone() })
        .default_interval(2 * S)
        .unwrap()
        .first_poll_delay(10 * S);
    let exec = common::exec(layer);
    let t0 = Instant::now();
    let first = submit(&exec, 1);
    // Register a second future while the first call is in progress (at 10.5 s).
    sleep(10 * S + 500 * MS).await;
    assert_eq!(rec.count(), 1);
    let second = submit(&exec, 2);
    assert_eq!(first.await.unwrap_err().into_job_error().as_deref(), Some("backend down"));
    assert_eq!(second.await.unwrap(), "done-2");
    let calls = rec.calls();
    assert_eq!(calls[0].inputs, [1]);
    assert_eq!(calls[1].inputs, [2]);
    // The failed call ended at 11 s; the default interval (2 s) comes before the second
    // future's first-poll deadline (10.5 s + 10 s).
    assert_eq!(calls[1].at - t0, 13 * S);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_poll_fails_its_futures_with_panicked_and_polling_goes_on() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |i, ds| {
        if i == 0 {
            panic!("poll function bug");
        }
        resolve_all(ds);
        Ok(None)
    }));
    let a = submit(&exec, 1);
    let b = submit(&exec, 2);
    for h in [a, b] {
        let err = h.await.unwrap_err();
        assert!(err.is_panicked(), "{err:?}");
        assert!(err.to_string().contains("poll function bug"));
    }
    assert_eq!(submit(&exec, 3).await.unwrap(), "done-3");
}

struct PanickingPoller;

#[more_executors_poll::async_trait]
impl Poller<u32, String, String> for PanickingPoller {
    async fn poll(&self, _: &mut [D]) -> Result<Option<Duration>, String> {
        tokio::task::yield_now().await;
        panic!("async poller bug");
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_async_poller_fails_its_futures() {
    let exec = common::exec(PollLayer::with_poller(PanickingPoller));
    let err = submit(&exec, 1).await.unwrap_err();
    assert_eq!(err, Error::Panicked("async poller bug".into()));
}

/// Implements [`Poller`] by hand (without the macro) and panics before returning the
/// call's future, on its first call.
struct PanicsBeforeItsFuture(AtomicUsize);

impl Poller<u32, String, String> for PanicsBeforeItsFuture {
    fn poll<'a, 'b, 'async_trait>(
        &'a self,
        ds: &'b mut [D],
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Option<Duration>, String>> + Send + 'async_trait>>
    where
        'a: 'async_trait,
        'b: 'async_trait,
        Self: 'async_trait,
    {
        if self.0.fetch_add(1, SeqCst) == 0 {
            panic!("sync part of a poller bug");
        }
        resolve_all(ds);
        Box::pin(async { Ok(None) })
    }
}

#[tokio::test(start_paused = true)]
async fn a_poller_panicking_before_returning_its_future_fails_its_futures() {
    let exec = common::exec(PollLayer::with_poller(PanicsBeforeItsFuture(AtomicUsize::new(0))));
    let a = submit(&exec, 1);
    let b = submit(&exec, 2);
    for h in [a, b] {
        let r = tokio::time::timeout(3600 * S, h).await.expect("the handle resolves");
        assert_eq!(r, Err(Error::Panicked("sync part of a poller bug".into())));
    }
    let c = tokio::time::timeout(3600 * S, submit(&exec, 3)).await;
    assert_eq!(c.expect("polling goes on").unwrap(), "done-3");
}

#[tokio::test(start_paused = true)]
async fn notify_triggers_an_early_poll() {
    let rec = Arc::new(Recorder::default());
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let a = armed.clone();
    let layer = recording_layer(&rec, move |_, ds| {
        if a.load(SeqCst) {
            resolve_all(ds);
        }
        Ok(None)
    })
    .default_interval(Duration::from_secs(3600))
    .unwrap()
    .first_poll_delay(Duration::ZERO);
    let exec = common::exec(layer);
    let t0 = Instant::now();
    let h = submit(&exec, 1);
    until(|| rec.count() == 1).await;
    armed.store(true, SeqCst);
    advance(10 * S).await;
    assert_eq!(rec.count(), 1, "the next regular poll is an hour away");
    exec.notify();
    assert_eq!(h.await.unwrap(), "done-1");
    assert_eq!(rec.count(), 2);
    assert_eq!(rec.calls()[1].at - t0, 10 * S, "polled on notify, not after the interval");

    // A notifier works too, and does nothing on an empty set.
    exec.notifier().notify();
    advance(S).await;
    assert_eq!(rec.count(), 2, "no poll on an empty set");
}

#[tokio::test(start_paused = true)]
async fn first_poll_rule_coalesces_bursts_and_cuts_long_intervals_short() {
    let rec = Arc::new(Recorder::default());
    let layer = recording_layer(&rec, |i, ds| {
        if i == 1 {
            resolve_all(ds);
        }
        Ok(Some(Duration::from_secs(3600)))
    })
    .first_poll_delay(100 * MS);
    let exec = common::exec(layer);
    // A burst of 50 registrations, spread over 75 ms, gives one poll.
    let mut handles = vec![submit(&exec, 0)];
    until(|| exec.pending() == 1).await;
    let t0 = Instant::now();
    for id in 1..50 {
        handles.push(submit(&exec, id));
        if id % 10 == 9 {
            advance(15 * MS).await;
        }
    }
    wait_for(|| rec.count() == 1).await;
    let calls = rec.calls();
    assert_eq!(calls[0].at - t0, 100 * MS, "first registration + first-poll delay");
    assert_eq!(calls[0].inputs.len(), 50);

    // An hour to the next regular poll, but a new registration at 10 s is polled by 10.1 s.
    tokio::time::sleep_until(t0 + 10 * S).await;
    handles.push(submit(&exec, 50));
    for h in handles {
        h.await.unwrap();
    }
    let calls = rec.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].at - t0, 10 * S + 100 * MS);
    assert_eq!(calls[1].inputs.len(), 51);
}

#[tokio::test(start_paused = true)]
async fn no_poll_runs_while_the_set_is_empty() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |_, ds| {
        resolve_all(ds);
        Ok(Some(MS))
    }));
    let rt = exec.runtime().clone();
    advance(Duration::from_secs(3600)).await;
    assert_eq!(rec.count(), 0);
    assert!(!exec.is_polling());

    submit(&exec, 1).await.unwrap();
    assert_eq!(rec.count(), 1);
    // Give the poll task a chance to notice the empty set.
    until(|| !exec.is_polling()).await;
    advance(Duration::from_secs(3600)).await;
    tokio::task::yield_now().await;
    assert_eq!(rec.count(), 1, "an empty set is never polled");
    assert_eq!(exec.poll_count(), 1);
    until(|| rt.task_count() == 0).await;

    // The task restarts with the next registration.
    submit(&exec, 2).await.unwrap();
    assert_eq!(rec.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_inner_failure_fails_the_handle_without_polling() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |_, ds| {
        resolve_all(ds);
        Ok(None)
    }));
    let failed = exec.submit(|| async { Err::<u32, _>("publish rejected".to_string()) });
    assert_eq!(failed.await.unwrap_err().into_job_error().as_deref(), Some("publish rejected"));
    let panicked = exec.submit(|| async {
        if true {
            panic!("publish bug");
        }
        Ok::<u32, String>(0)
    });
    assert!(panicked.await.unwrap_err().is_panicked());
    advance(Duration::from_secs(60)).await;
    assert_eq!(rec.count(), 0);
    assert_eq!(exec.pending(), 0);
    assert!(!exec.is_polling());
}

/// Counts calls and resolves everything, one request per tick.
struct Batch {
    calls: AtomicUsize,
    sizes: std::sync::Mutex<Vec<usize>>,
}

#[more_executors_poll::async_trait]
impl Poller<u32, String, String> for Batch {
    async fn poll(&self, ds: &mut [D]) -> Result<Option<Duration>, String> {
        self.calls.fetch_add(1, SeqCst);
        self.sizes.lock().unwrap().push(ds.len());
        sleep(20 * MS).await; // the "search request"
        resolve_all(ds);
        Ok(None)
    }
}

#[tokio::test(start_paused = true)]
async fn an_async_poller_serves_the_whole_batch_with_one_call() {
    let poller = Arc::new(Batch { calls: AtomicUsize::new(0), sizes: Default::default() });
    struct Shared(Arc<Batch>);
    #[more_executors_poll::async_trait]
    impl Poller<u32, String, String> for Shared {
        async fn poll(&self, ds: &mut [D]) -> Result<Option<Duration>, String> {
            self.0.poll(ds).await
        }
    }
    let exec = AsyncExecutor::new().with_poll(PollLayer::with_poller(Shared(poller.clone())));
    let handles: Vec<_> = (0..200).map(|id| submit(&exec, id)).collect();
    for (id, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap(), format!("done-{id}"));
    }
    assert_eq!(poller.calls.load(SeqCst), 1);
    assert_eq!(*poller.sizes.lock().unwrap(), [200]);
}

#[tokio::test(start_paused = true)]
async fn a_zero_delay_polls_again_at_once() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |i, ds| {
        // Page through: resolve one descriptor per call.
        if let Some(d) = ds.iter_mut().min_by_key(|d| *d.input()) {
            let id = *d.input();
            d.yield_result(format!("page-{i}-{id}"));
        }
        Ok(Some(Duration::ZERO))
    }));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..3).map(|id| submit(&exec, id)).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    assert_eq!(out, ["page-0-0", "page-1-1", "page-2-2"]);
    assert!(rec.calls().iter().all(|c| c.at - t0 == 100 * MS));
}

#[test]
fn descriptors_are_testable_without_an_executor() {
    let mut ds: Vec<PollDescriptor<u32, String, String>> = (0..3).map(PollDescriptor::new).collect();
    resolve_all(&mut ds[..2]);
    assert_eq!(ds[0].outcome(), Some(&Ok("done-0".to_string())));
    assert!(!ds[2].is_resolved());
    assert!(format!("{:?}", ds[2]).contains("pending"));
}

#[tokio::test(start_paused = true)]
async fn a_delay_too_long_for_the_clock_waits_for_a_notify_instead_of_failing() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |i, ds| {
        if i == 1 {
            resolve_all(ds);
        }
        // "Do not poll again on your own": longer than any `Instant` can reach.
        Ok(Some(Duration::MAX))
    }));
    let h = submit(&exec, 1);
    wait_for(|| rec.count() == 1).await;
    advance(3600 * S).await;
    assert_eq!(rec.count(), 1, "no regular poll is due");
    exec.notify();
    assert_eq!(h.await.unwrap(), "done-1", "the poll task is still alive");
    assert_eq!(rec.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_first_poll_delay_too_long_for_the_clock_does_not_fail_submissions() {
    let rec = Arc::new(Recorder::default());
    let layer = recording_layer(&rec, |_, ds| {
        resolve_all(ds);
        Ok(None)
    })
    .first_poll_delay(Duration::MAX);
    let exec = common::exec(layer);
    let h = submit(&exec, 1);
    until(|| exec.pending() == 1).await;
    exec.notify();
    assert_eq!(h.await.unwrap(), "done-1", "submitting did not fail");
    let h = submit(&exec, 2);
    until(|| exec.pending() == 1).await;
    exec.notify();
    assert_eq!(h.await.unwrap(), "done-2", "the poll set still takes registrations");
}
