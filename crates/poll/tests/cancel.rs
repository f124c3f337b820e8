//! Cancel rules: the cancel function decides only for futures in the poll set.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use more_executors_core::prelude::*;
use more_executors_poll::{PollExt, PollLayer};
use tokio::time::sleep;

const S: Duration = Duration::from_secs(1);

/// A layer that never resolves anything on its own and records its calls, plus a cancel
/// function answering by task id: even ids cancel, odd ids refuse, 13 errs, 666 panics.
fn layer_with_cancel(rec: &Arc<Recorder>, asked: &Arc<Mutex<Vec<u32>>>) -> PollLayer<u32, String, String> {
    let asked = asked.clone();
    recording_layer(rec, |_, _| Ok(None)).default_interval(S).unwrap().cancel_fn(move |id: &u32| {
        asked.lock().unwrap().push(*id);
        match *id {
            13 => Err("cancel endpoint returned 500".to_string()),
            666 => panic!("cancel function bug"),
            id => Ok(id % 2 == 0),
        }
    })
}

#[tokio::test(start_paused = true)]
async fn the_cancel_function_decides_for_futures_in_the_poll_set() {
    let rec = Arc::new(Recorder::default());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let exec = exec(layer_with_cancel(&rec, &asked));
    let ids = [2u32, 3, 13, 666];
    let handles: Vec<_> = ids.iter().map(|&id| submit(&exec, id)).collect();
    until(|| exec.pending() == 4).await;

    assert!(handles[0].cancel(), "true cancels");
    assert!(handles[0].is_cancelled());
    assert!(!handles[1].cancel(), "false refuses");
    assert!(!handles[2].cancel(), "an error refuses");
    assert!(!handles[3].cancel(), "a panic refuses");
    assert_eq!(*asked.lock().unwrap(), ids, "called once each, with the inner output");
    assert_eq!(exec.pending(), 3, "the cancelled future left the set at once");

    // The refused ones are still polled; the cancelled one is in no later call.
    wait_for(|| rec.count() >= 2).await;
    for call in rec.calls() {
        assert_eq!(call.inputs, [3, 13, 666]);
    }
    let mut handles = handles.into_iter();
    assert!(handles.next().unwrap().await.unwrap_err().is_cancelled());
    exec.shutdown();
    for h in handles {
        assert!(h.await.unwrap_err().is_shut_down());
    }
}

#[tokio::test(start_paused = true)]
async fn cancel_before_the_poll_set_goes_to_the_inner_stage() {
    let rec = Arc::new(Recorder::default());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let exec = exec(layer_with_cancel(&rec, &asked));
    let dropped = Arc::new(AtomicBool::new(false));
    struct OnDrop(Arc<AtomicBool>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }
    let guard = OnDrop(dropped.clone());
    let h = exec.submit(move || async move {
        let _guard = guard;
        sleep(Duration::from_secs(3600)).await;
        Ok::<u32, String>(3) // odd: the cancel function would refuse
    });
    tokio::task::yield_now().await;
    assert!(h.cancel(), "the inner async stage accepts the cancel");
    assert!(h.await.unwrap_err().is_cancelled());
    until(|| dropped.load(SeqCst)).await;
    assert!(asked.lock().unwrap().is_empty(), "the cancel function is not asked");
    sleep(Duration::from_secs(10)).await;
    assert_eq!(rec.count(), 0, "nothing entered the poll set");
}

#[tokio::test(start_paused = true)]
async fn a_blocking_inner_job_refuses_cancel_until_it_is_in_the_poll_set() {
    let rec = Arc::new(Recorder::default());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let exec = BlockingPool::new(1).unwrap().with_poll(layer_with_cancel(&rec, &asked));
    let (s, r) = (started.clone(), release.clone());
    let h = exec.submit(move || {
        s.store(true, SeqCst);
        while !r.load(SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok::<u32, String>(4)
    });
    while !started.load(SeqCst) {
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!h.cancel(), "a running blocking job refuses");
    assert!(asked.lock().unwrap().is_empty());
    release.store(true, SeqCst);
    while exec.pending() == 0 {
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(h.cancel(), "in the poll set, the cancel function (4: even) approves");
    assert_eq!(*asked.lock().unwrap(), [4]);
    assert!(h.await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn without_a_cancel_function_cancel_stops_tracking_and_the_future_leaves_the_set() {
    let rec = Arc::new(Recorder::default());
    let exec = exec(recording_layer(&rec, |i, ds| {
        if i == 2 {
            resolve_all(ds);
        }
        Ok(Some(S))
    }));
    let a = submit(&exec, 1);
    let b = submit(&exec, 2);
    wait_for(|| rec.count() == 1).await;
    assert!(a.cancel());
    assert!(a.await.unwrap_err().is_cancelled());
    assert_eq!(b.await.unwrap(), "done-2");
    let calls = rec.calls();
    assert_eq!(calls[0].inputs, [1, 2]);
    assert_eq!(calls[1].inputs, [2], "a cancelled future is gone from the next poll");
    assert_eq!(calls[2].inputs, [2]);
}

#[tokio::test(start_paused = true)]
async fn a_resolved_future_can_no_longer_be_cancelled() {
    let rec = Arc::new(Recorder::default());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let a2 = asked.clone();
    let layer = recording_layer(&rec, |_, ds| {
        resolve_all(ds);
        Ok(None)
    })
    .cancel_fn(move |id: &u32| {
        a2.lock().unwrap().push(*id);
        Ok(true)
    });
    let exec = common::exec(layer);
    let h = submit(&exec, 2);
    wait_for(|| rec.count() == 1).await;
    assert!(!h.cancel(), "already resolved by the poll");
    assert!(asked.lock().unwrap().is_empty(), "not in the poll set: the cancel function is not called");
    assert_eq!(h.await.unwrap(), "done-2");
}

/// An async cancel function (a DELETE request): even ids cancel after 200 ms.
fn layer_with_async_cancel(
    rec: &Arc<Recorder>,
    deletes: &Arc<AtomicUsize>,
) -> PollLayer<u32, String, String> {
    let deletes = deletes.clone();
    recording_layer(rec, |_, _| Ok(None)).async_cancel_fn(move |id: &u32| {
        let id = *id;
        let deletes = deletes.clone();
        async move {
            deletes.fetch_add(1, SeqCst);
            sleep(Duration::from_millis(200)).await;
            match id {
                13 => Err("DELETE failed".to_string()),
                666 => panic!("async cancel bug"),
                id => Ok(id % 2 == 0),
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn an_async_cancel_function_decides_later() {
    let rec = Arc::new(Recorder::default());
    let deletes = Arc::new(AtomicUsize::new(0));
    let exec = exec(layer_with_async_cancel(&rec, &deletes));
    let ids = [2u32, 3, 13, 666];
    let handles: Vec<_> = ids.iter().map(|&id| submit(&exec, id)).collect();
    until(|| exec.pending() == 4).await;
    let answers = [
        handles[0].cancel_async().await,
        handles[1].cancel_async().await,
        handles[2].cancel_async().await,
        handles[3].cancel_async().await,
    ];
    assert_eq!(answers, [true, false, false, false]);
    assert_eq!(deletes.load(SeqCst), 4);
    assert_eq!(exec.pending(), 3);
    let mut handles = handles.into_iter();
    assert!(handles.next().unwrap().await.unwrap_err().is_cancelled());
    exec.shutdown();
    for h in handles {
        assert!(h.await.unwrap_err().is_shut_down());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_cancel_function_works_from_a_blocking_cancel_on_a_plain_thread() {
    let rec = Arc::new(Recorder::default());
    let deletes = Arc::new(AtomicUsize::new(0));
    let exec = exec(layer_with_async_cancel(&rec, &deletes));
    let even = submit(&exec, 8);
    let odd = submit(&exec, 9);
    while exec.pending() < 2 {
        tokio::task::yield_now().await;
    }
    let (c1, c2) = (even.canceller(), odd.canceller());
    // `cancel()` blocks the calling thread on the decision, which runs on the runtime.
    let answers = tokio::task::spawn_blocking(move || (c1.cancel(), c2.cancel())).await.unwrap();
    assert_eq!(answers, (true, false));
    assert!(even.await.unwrap_err().is_cancelled());
    assert_eq!(deletes.load(SeqCst), 2);
    exec.notify();
    exec.shutdown();
    assert!(odd.await.unwrap_err().is_shut_down());
}

#[tokio::test(start_paused = true)]
async fn a_refused_cancel_leaves_the_future_to_be_resolved_by_the_poll() {
    let rec = Arc::new(Recorder::default());
    let layer = recording_layer(&rec, |i, ds| {
        if i == 1 {
            resolve_all(ds);
        }
        Ok(Some(S))
    })
    .cancel_fn(|_: &u32| Ok(false));
    let exec = common::exec(layer);
    let h = submit(&exec, 5);
    wait_for(|| rec.count() == 1).await;
    assert!(!h.cancel());
    assert!(!h.is_cancelled());
    assert_eq!(h.await.unwrap(), "done-5");
}

#[tokio::test(start_paused = true)]
async fn a_future_dropped_while_in_the_poll_set_calls_the_cancel_function_once() {
    use std::future::Future;
    use std::task::Context;
    let rec = Arc::new(Recorder::default());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let deletes = Arc::new(AtomicUsize::new(0));
    let sync_exec = exec(layer_with_cancel(&rec, &asked));
    let async_exec = exec(layer_with_async_cancel(&rec, &deletes));
    let ctx = more_executors_core::stage::JobContext::detached();
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    {
        // What an outer timeout does on expiry: drop the inner stage future.
        let mut a = Box::pin(sync_exec.call(|| async { Ok::<u32, String>(3) }, &ctx));
        let mut b = Box::pin(async_exec.call(|| async { Ok::<u32, String>(4) }, &ctx));
        assert!(a.as_mut().poll(&mut cx).is_pending() && b.as_mut().poll(&mut cx).is_pending());
        assert_eq!((sync_exec.pending(), async_exec.pending()), (1, 1));
    }
    assert_eq!((sync_exec.pending(), async_exec.pending()), (0, 0));
    assert_eq!(*asked.lock().unwrap(), [3], "the sync cancel function ran at the drop");
    until(|| deletes.load(SeqCst) == 1).await;

    // Resolved, cancelled through the handle, or shut down: no further call.
    let resolved = common::exec(
        recording_layer(&rec, |_, ds| {
            resolve_all(ds);
            Ok(None)
        })
        .cancel_fn({
            let asked = asked.clone();
            move |id: &u32| {
                asked.lock().unwrap().push(*id);
                Ok(true)
            }
        }),
    );
    assert_eq!(submit(&resolved, 7).await.unwrap(), "done-7");
    let h = submit(&sync_exec, 8);
    until(|| sync_exec.pending() == 1).await;
    assert!(h.cancel());
    assert!(h.await.unwrap_err().is_cancelled());
    let h = submit(&sync_exec, 10);
    until(|| sync_exec.pending() == 1).await;
    sync_exec.shutdown();
    assert!(h.await.unwrap_err().is_shut_down());
    assert_eq!(*asked.lock().unwrap(), [3, 8], "only the handle's cancel asked again");
}
