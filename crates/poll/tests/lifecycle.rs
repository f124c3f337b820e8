//! Shutdown, drop, composition surfaces and naming.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use more_executors_core::cancel_on_shutdown::CancelOnShutdownLayer;
use more_executors_core::prelude::*;
use more_executors_poll::{PollBuilderExt, PollExt, PollLayer, Poller};
use tokio::time::{advance, sleep};

const S: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn shutdown_resolves_the_poll_set_and_stops_the_task() {
    let rec = Arc::new(Recorder::default());
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let layer = recording_layer(&rec, |_, _| Ok(Some(S))).cancel_fn(move |_: &u32| {
        a.fetch_add(1, SeqCst);
        Ok(true)
    });
    let exec = common::exec(layer);
    let rt = exec.runtime().clone();
    let in_set: Vec<_> = (0..3).map(|id| submit(&exec, id)).collect();
    let still_inner = exec.submit(|| async {
        sleep(10 * S).await;
        Ok::<u32, String>(99)
    });
    wait_for(|| rec.count() == 2).await;
    assert!(exec.is_polling());

    exec.shutdown();
    assert!(exec.is_shut_down());
    for h in in_set {
        assert_eq!(h.await, Err(Error::ShutDown));
    }
    assert_eq!(asked.load(SeqCst), 0, "shutdown does not call the cancel function");
    assert_eq!(still_inner.await, Err(Error::ShutDown), "an inner job finishing later is not polled");
    advance(Duration::from_secs(3600)).await;
    assert_eq!(rec.count(), 2, "no poll after shutdown");
    assert!(!exec.is_polling());
    assert_eq!(submit(&exec, 5).await, Err(Error::ShutDown));
    rt.wait_shutdown().await;
}

/// Sleeps for an hour in its first call.
struct Stuck;

#[more_executors_poll::async_trait]
impl Poller<u32, String, String> for Stuck {
    async fn poll(&self, _: &mut [D]) -> Result<Option<Duration>, String> {
        sleep(Duration::from_secs(3600)).await;
        Ok(None)
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_interrupts_a_poll_in_progress() {
    let exec = common::exec(PollLayer::with_poller(Stuck));
    let rt = exec.runtime().clone();
    let h = submit(&exec, 1);
    wait_for(|| exec.poll_count() == 1).await;
    exec.shutdown();
    assert_eq!(h.await, Err(Error::ShutDown));
    // The poll task ends without waiting out the hour.
    let t = tokio::time::Instant::now();
    rt.wait_shutdown().await;
    assert!(t.elapsed() < S);
    assert!(!exec.is_polling());
}

#[tokio::test(start_paused = true)]
async fn cancel_on_shutdown_outside_the_poll_layer_cancels_remote_work() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let a = asked.clone();
    let rec = Arc::new(Recorder::default());
    let exec = ExecutorBuilder::new()
        .layer(CancelOnShutdownLayer::new())
        .poll(recording_layer(&rec, |_, _| Ok(None)).cancel_fn(move |id: &u32| {
            a.lock().unwrap().push(*id);
            Ok(*id != 3)
        }))
        .build(AsyncExecutor::new());
    let handles: Vec<_> =
        (1..=3u32).map(|id| exec.submit(move || async move { Ok::<u32, String>(id) })).collect();
    wait_for(|| rec.count() == 1).await;
    assert_eq!(rec.calls()[0].inputs, [1, 2, 3]);
    exec.shutdown();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await);
    }
    asked.lock().unwrap().sort();
    assert_eq!(*asked.lock().unwrap(), [1, 2, 3]);
    assert_eq!(results, [Err(Error::Cancelled), Err(Error::Cancelled), Err(Error::ShutDown)]);
}

/// Holds a marker whose `Weak` tells whether the poller (hence the poll set) is still alive.
struct Marked {
    _marker: Arc<()>,
    calls: Arc<AtomicUsize>,
}

#[more_executors_poll::async_trait]
impl Poller<u32, String, String> for Marked {
    async fn poll(&self, ds: &mut [D]) -> Result<Option<Duration>, String> {
        if self.calls.fetch_add(1, SeqCst) == 1 {
            resolve_all(ds);
        }
        Ok(Some(S))
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_executor_stops_the_task_once_no_handle_needs_it() {
    let marker = Arc::new(());
    let weak = Arc::downgrade(&marker);
    let calls = Arc::new(AtomicUsize::new(0));
    let exec = common::exec(PollLayer::with_poller(Marked { _marker: marker, calls: calls.clone() }));
    let rt = exec.runtime().clone();
    let h = submit(&exec, 1);
    drop(exec);
    // The handle still needs the poll task: it keeps polling.
    assert_eq!(h.await.unwrap(), "done-1");
    assert_eq!(calls.load(SeqCst), 2);
    until(|| rt.task_count() == 0).await;
    assert!(weak.upgrade().is_none(), "poll task, poll set and poller are gone");
    advance(Duration::from_secs(3600)).await;
    assert_eq!(calls.load(SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_executor_with_an_empty_set_frees_everything_at_once() {
    let marker = Arc::new(());
    let weak = Arc::downgrade(&marker);
    let calls = Arc::new(AtomicUsize::new(0));
    let exec = common::exec(PollLayer::with_poller(Marked { _marker: marker, calls: calls.clone() }));
    submit(&exec, 1).await.unwrap();
    until(|| !exec.is_polling()).await;
    drop(exec);
    assert!(weak.upgrade().is_none());
}

#[tokio::test(start_paused = true)]
async fn every_composition_surface_builds_the_same_executor() {
    let layer = || {
        PollLayer::new(|ds: &mut [D]| {
            resolve_all(ds);
            Ok(None)
        })
    };
    let a = tower::ServiceBuilder::new().layer(layer()).service(AsyncExecutor::new());
    let b = ExecutorBuilder::new().poll(layer()).concurrency_limit(2).unwrap().build(AsyncExecutor::new());
    let c = AsyncExecutor::builder().name("inner").build().with_poll(layer().name("tasks"));
    let d = AsyncExecutor::builder().name("inner").build().with_poll(layer());
    assert_eq!(a.kind(), "poll");
    assert_eq!(c.name(), "tasks");
    assert_eq!(d.name(), "inner", "the name is inherited");
    assert_eq!(c.get_ref().name(), "inner");
    let job = |id: u32| move || async move { Ok::<u32, String>(id) };
    assert_eq!(a.submit(job(1)).await.unwrap(), "done-1");
    assert_eq!(b.submit(job(2)).await.unwrap(), "done-2");
    assert_eq!(c.submit(job(3)).await.unwrap(), "done-3");
    assert!(format!("{c:?}").contains("PollExecutor"));
}

#[test]
fn works_from_plain_synchronous_code() {
    let exec = BlockingPool::new(2).unwrap().with_poll(
        PollLayer::new(|ds: &mut [D]| {
            resolve_all(ds);
            Ok(Some(Duration::from_millis(5)))
        })
        .first_poll_delay(Duration::from_millis(5)),
    );
    let handles: Vec<_> = (0..10u32).map(|id| exec.submit(move || Ok::<u32, String>(id))).collect();
    for (id, h) in handles.into_iter().enumerate() {
        assert_eq!(h.wait().unwrap(), format!("done-{id}"));
    }
    exec.shutdown();
    exec.runtime().wait_shutdown_blocking();
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_poll_set_while_each_layer_use_gets_its_own() {
    let rec = Arc::new(Recorder::default());
    let layer = recording_layer(&rec, |_, ds| {
        resolve_all(ds);
        Ok(None)
    });
    let one = common::exec(layer.clone());
    let clone = one.clone();
    let other = common::exec(layer);
    let hs = [submit(&one, 1), submit(&clone, 2), submit(&other, 3)];
    until(|| one.pending() == 2 && other.pending() == 1).await;
    for h in hs {
        h.await.unwrap();
    }
    let mut sizes: Vec<usize> = rec.calls().iter().map(|c| c.inputs.len()).collect();
    sizes.sort();
    assert_eq!(sizes, [1, 2], "one call per executor, clones share theirs");
}
