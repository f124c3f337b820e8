//! Behaviour of the future combinators: values and ordering, error short-circuit, cancel
//! propagation in both directions, bounded traverse, and 100,000 inputs.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use futures::{Stream, StreamExt};
use more_executors_core::CancelHandle;
use more_executors_core::combinators::{
    and, and_with, apply, as_completed, cancelled, failed, nocancel, or, or_with, ready, sequence, traverse,
    wait_first, zip, zip_all,
};
use more_executors_core::prelude::*;
use more_executors_core::stage::{CancelDecision, CancelGate, submit_stage};
use more_executors_test_support::PollCounted;
use tokio::sync::oneshot;

const BIG: usize = 100_000;

type H<T> = Handle<T, String>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A job that sleeps `delay` (virtual time in paused tests) and then returns `result`.
fn after<T: Send + 'static>(exec: &AsyncExecutor, delay: Duration, result: Result<T, String>) -> H<T> {
    exec.submit(move || async move {
        tokio::time::sleep(delay).await;
        result
    })
}

/// Sends on drop: tells a test that a job's future was dropped (it was cancelled).
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A job that never finishes on its own, and a receiver that fires when the job is dropped
/// (that is, when it was cancelled), whether or not it had started.
fn forever<T: Send + 'static>(exec: &AsyncExecutor) -> (H<T>, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    let signal = DropSignal(Some(tx));
    let h = exec.submit(move || async move {
        let _signal = signal;
        std::future::pending::<Result<T, String>>().await
    });
    (h, rx)
}

/// A job of a stage whose cancel decision is asynchronous (like the poll layer's async
/// cancel function), answering `answer`.
fn async_decided(exec: &AsyncExecutor, answer: bool) -> H<u8> {
    submit_stage(exec, move |ctx| {
        let gate = ctx.set_gate(CancelGate::Hook(Arc::new(move || {
            CancelDecision::Later(Box::pin(async move { answer }))
        })));
        async move {
            let _gate = gate;
            std::future::pending::<Result<u8, Error<String>>>().await
        }
    })
}

/// Lets every task run until the runtime is idle (the paused clock then jumps `d`).
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn job_err<T>(r: Result<T, Error<String>>) -> String {
    match r {
        Err(Error::Job(e)) => e,
        Err(other) => panic!("expected a job error, got {other:?}"),
        Ok(_) => panic!("expected a job error, got a value"),
    }
}

// ---------------------------------------------------------------- ready / failed / cancelled

#[test]
fn ready_failed_cancelled_are_resolved_handles() {
    let r: H<u8> = ready(7);
    assert!(r.is_done() && !r.cancel());
    assert_eq!(r.wait(), Ok(7));

    let f: H<u8> = failed("bad".to_string());
    assert!(f.is_done() && !f.cancel());
    assert_eq!(job_err(f.wait()), "bad");

    let c: H<u8> = cancelled();
    assert!(c.is_done() && c.is_cancelled() && c.cancel());
    assert!(c.wait().unwrap_err().is_cancelled());
}

// ---------------------------------------------------------------- zip

#[tokio::test(start_paused = true)]
async fn zip_values_come_in_input_order_whatever_the_completion_order() {
    let exec = AsyncExecutor::new();
    let a = after(&exec, ms(30), Ok(1u8));
    let b = after(&exec, ms(10), Ok("two"));
    let c = after(&exec, ms(20), Ok(3.0f64));
    assert_eq!(zip((a, b, c)).await, Ok((1, "two", 3.0)));
}

#[tokio::test]
async fn zip_supports_every_arity_from_1_to_8() {
    assert_eq!(zip((ready::<_, ()>(1),)).await, Ok((1,)));
    assert_eq!(zip((ready::<_, ()>(1), ready('b'))).await, Ok((1, 'b')));
    let eight = zip((
        ready::<_, ()>(1u8),
        ready(2u16),
        ready(3u32),
        ready(4u64),
        ready("5"),
        ready('6'),
        ready(7i8),
        ready(String::from("8")),
    ));
    assert_eq!(eight.await, Ok((1, 2, 3, 4, "5", '6', 7, "8".to_string())));
    // A Vec zips to a Vec.
    assert_eq!(zip(vec![ready::<_, ()>(1), ready(2)]).await, Ok(vec![1, 2]));
}

#[tokio::test(start_paused = true)]
async fn zip_first_error_wins_and_cancels_the_other_inputs() {
    let exec = AsyncExecutor::new();
    let (stuck, stuck_dropped) = forever::<u8>(&exec);
    let stuck_c = stuck.canceller();
    let early = after::<u8>(&exec, ms(10), Err("early".into()));
    let late = after::<u8>(&exec, ms(20), Err("late".into()));
    let late_c = late.canceller();
    let zipped = zip((stuck, early, late));
    assert_eq!(job_err(zipped.await), "early", "first in completion order, not input order");
    stuck_dropped.await.expect("the stuck input's future was dropped");
    assert!(stuck_c.is_cancelled());
    assert!(late_c.is_cancelled(), "the later failure was cancelled before it happened");
}

#[tokio::test(start_paused = true)]
async fn zip_is_eager_an_error_cancels_inputs_even_if_nobody_polls_it() {
    let exec = AsyncExecutor::new();
    let (stuck, stuck_dropped) = forever::<u8>(&exec);
    let failing = after::<u8>(&exec, ms(5), Err("boom".into()));
    let zipped = zip((stuck, failing));
    // Never polled:
    stuck_dropped.await.expect("the zip's driver cancelled the stuck input on its own");
    assert!(zipped.is_done());
    assert_eq!(job_err(zipped.await), "boom");
}

#[tokio::test]
async fn cancelling_a_zip_cancels_all_its_inputs() {
    let exec = AsyncExecutor::new();
    let (a, a_dropped) = forever::<u8>(&exec);
    let (b, b_dropped) = forever::<u8>(&exec);
    let (a_c, b_c) = (a.canceller(), b.canceller());
    let zipped = zip((a, b));
    assert!(zipped.cancel());
    assert!(zipped.cancel(), "idempotent");
    assert!(zipped.is_cancelled());
    assert!(a_c.is_cancelled() && b_c.is_cancelled());
    a_dropped.await.unwrap();
    b_dropped.await.unwrap();
    assert!(zipped.await.unwrap_err().is_cancelled());
}

#[tokio::test]
async fn an_input_cancelled_by_someone_else_resolves_the_zip_as_cancelled() {
    let exec = AsyncExecutor::new();
    let (a, _) = forever::<u8>(&exec);
    let (b, b_dropped) = forever::<u8>(&exec);
    let a_c = a.canceller();
    let b_c = b.canceller();
    let zipped = zip((a, b));
    assert!(a_c.cancel());
    let out = zipped.await;
    assert!(out.unwrap_err().is_cancelled());
    b_dropped.await.expect("the other input was cancelled too");
    assert!(b_c.is_cancelled());
}

#[tokio::test]
async fn zip_cancel_is_refused_when_every_pending_input_refuses() {
    let pool = BlockingPool::new(1).unwrap();
    let (started_tx, started_rx) = oneshot::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let running = pool.submit(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        Ok::<_, String>(5u8)
    });
    started_rx.await.unwrap();
    let zipped = zip((running, ready::<_, String>("done")));
    assert!(!zipped.cancel(), "a running blocking job refuses, so the zip refuses");
    assert!(!zipped.is_cancelled());
    release_tx.send(()).unwrap();
    assert_eq!(zipped.await, Ok((5, "done")));
}

#[tokio::test]
async fn zip_cancel_after_it_finished_is_refused() {
    let zipped = zip((ready::<_, ()>(1), ready(2)));
    let c = zipped.canceller();
    assert_eq!(zipped.await, Ok((1, 2)));
    assert!(!c.cancel());
}

#[tokio::test]
async fn zip_cancel_waits_for_an_asynchronous_cancel_decision_of_an_input() {
    let exec = AsyncExecutor::new();
    let yes = async_decided(&exec, true);
    let yes_c = yes.canceller();
    let zipped = zip((yes,));
    assert!(zipped.cancel_async().await);
    assert!(yes_c.is_cancelled());
    assert!(zipped.await.unwrap_err().is_cancelled());

    let no = async_decided(&exec, false);
    let no_c = no.canceller();
    let zipped = zip((no,));
    assert!(!zipped.cancel_async().await, "the input's stage said no");
    assert!(!no_c.is_cancelled() && !zipped.is_done());
}

#[test]
fn zip_cancel_from_a_plain_thread_blocks_on_an_asynchronous_decision() {
    let rt = Runtime::current_or_owned();
    let exec = AsyncExecutor::builder().runtime(rt).build();
    let input = async_decided(&exec, true);
    let input_c = input.canceller();
    let zipped = zip((input,));
    assert!(zipped.cancel());
    assert!(input_c.is_cancelled());
    assert!(zipped.wait().unwrap_err().is_cancelled());
}

#[test]
fn zip_works_from_plain_synchronous_code() {
    let pool = BlockingPool::new(2).unwrap();
    let a = pool.submit(|| Ok::<_, String>(2));
    let b = pool.submit(|| Ok::<_, String>(3));
    assert_eq!(zip((a, b)).wait(), Ok((2, 3)));
}

// ---------------------------------------------------------------- sequence / zip_all

#[tokio::test(start_paused = true)]
async fn sequence_keeps_input_order_with_scrambled_delays() {
    let exec = AsyncExecutor::new();
    let handles: Vec<_> = (0..50u64).map(|i| after(&exec, ms((i * 37) % 23), Ok(i))).collect();
    assert_eq!(sequence(handles).await, Ok((0..50).collect::<Vec<_>>()));
}

#[tokio::test]
async fn sequence_and_zip_all_of_nothing_are_ready_empty() {
    let s = sequence(Vec::<H<u8>>::new());
    assert!(s.is_done());
    assert_eq!(s.await, Ok(vec![]));
    assert_eq!(zip_all(Vec::<H<u8>>::new()).await, Ok(vec![]));
}

#[tokio::test(start_paused = true)]
async fn sequence_error_cancels_the_rest() {
    let exec = AsyncExecutor::new();
    let mut handles = Vec::new();
    let mut dropped = Vec::new();
    for _ in 0..10 {
        let (h, d) = forever::<u8>(&exec);
        handles.push(h);
        dropped.push(d);
    }
    handles.insert(5, after(&exec, ms(1), Err("five".into())));
    assert_eq!(job_err(zip_all(handles).await), "five");
    for d in dropped {
        d.await.expect("every other input was cancelled");
    }
}

#[tokio::test]
async fn cancelling_a_sequence_cancels_its_inputs() {
    let exec = AsyncExecutor::new();
    let (handles, dropped): (Vec<_>, Vec<_>) = (0..5).map(|_| forever::<u8>(&exec)).unzip();
    let cancellers: Vec<CancelHandle> = handles.iter().map(Handle::canceller).collect();
    let all = sequence(handles);
    assert!(all.cancel());
    assert!(cancellers.iter().all(CancelHandle::is_cancelled));
    for d in dropped {
        d.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_of_100k_submitted_jobs() {
    let exec = AsyncExecutor::new();
    let handles: Vec<_> = (0..BIG).map(|i| exec.submit(move || async move { Ok::<_, String>(i) })).collect();
    let out = sequence(handles).await.unwrap();
    assert_eq!(out.len(), BIG);
    assert!(out.iter().enumerate().all(|(i, v)| i == *v));
}

#[tokio::test]
async fn zip_all_and_zip_vec_of_100k_ready_handles() {
    let out = zip_all((0..BIG).map(ready::<_, String>)).await.unwrap();
    assert!(out.iter().copied().eq(0..BIG));
    let out = zip((0..BIG).map(ready::<_, String>).collect::<Vec<_>>()).await.unwrap();
    assert!(out.iter().copied().eq(0..BIG));
}

#[tokio::test(start_paused = true)]
async fn sequence_of_100k_with_one_failure_cancels_all_others() {
    let exec = AsyncExecutor::new();
    let counter = Arc::new(AtomicUsize::new(0));
    let mut handles: Vec<H<usize>> = Vec::with_capacity(BIG);
    for _ in 0..BIG - 1 {
        let counter = counter.clone();
        handles.push(exec.submit(move || async move {
            let _alive = Alive::new(counter);
            std::future::pending().await
        }));
    }
    handles.push(after(&exec, ms(1), Err("last one failed".into())));
    let cancellers: Vec<_> = handles.iter().map(Handle::canceller).collect();
    assert_eq!(job_err(sequence(handles).await), "last one failed");
    assert!(cancellers[..BIG - 1].iter().all(CancelHandle::is_cancelled));
    settle().await;
    assert_eq!(counter.load(SeqCst), 0, "every pending job's future was dropped");
}

/// Counts live instances.
struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn new(counter: Arc<AtomicUsize>) -> Alive {
        counter.fetch_add(1, SeqCst);
        Alive(counter)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

// ---------------------------------------------------------------- traverse

/// Tracks how many handles created by a traverse `make` are pending at once.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    made: Arc<AtomicUsize>,
}

impl Gauge {
    fn enter(&self) {
        self.made.fetch_add(1, SeqCst);
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(n, SeqCst);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn traverse_never_has_more_than_n_pending_and_keeps_item_order() {
    let exec = AsyncExecutor::new();
    let gauge = Gauge::default();
    let g = gauge.clone();
    let out = traverse(0..40u64, 3, move |i| {
        g.enter();
        let g = g.clone();
        exec.submit(move || async move {
            tokio::time::sleep(ms(1 + (i * 7) % 5)).await;
            g.leave();
            Ok::<_, String>(i * 2)
        })
    })
    .unwrap()
    .await;
    assert_eq!(out, Ok((0..40).map(|i| i * 2).collect::<Vec<_>>()));
    assert_eq!(gauge.peak.load(SeqCst), 3, "the bound is reached and never exceeded");
    assert_eq!(gauge.made.load(SeqCst), 40);
}

#[tokio::test(start_paused = true)]
async fn traverse_takes_items_lazily() {
    let exec = AsyncExecutor::new();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let items = (0..100).inspect(move |_| {
        p.fetch_add(1, SeqCst);
    });
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let h = traverse(items, 4, move |i: i32| {
        let mut rx = release_rx.clone();
        exec.submit(move || async move {
            rx.wait_for(|go| *go).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(i)
        })
    })
    .unwrap();
    settle().await;
    assert_eq!(pulled.load(SeqCst), 4, "only as many items as may be pending");
    release_tx.send(true).unwrap();
    assert_eq!(h.await.unwrap().len(), 100);
    assert_eq!(pulled.load(SeqCst), 100);
}

#[tokio::test(start_paused = true)]
async fn traverse_error_cancels_pending_and_stops_taking_items() {
    let exec = AsyncExecutor::new();
    let made = Arc::new(AtomicUsize::new(0));
    let alive = Arc::new(AtomicUsize::new(0));
    let (m, a) = (made.clone(), alive.clone());
    let h = traverse(0..1000u64, 5, move |i| {
        m.fetch_add(1, SeqCst);
        let a = a.clone();
        exec.submit(move || async move {
            let _alive = Alive::new(a);
            if i == 7 {
                tokio::time::sleep(ms(10)).await;
                return Err(format!("item {i} failed"));
            }
            tokio::time::sleep(Duration::from_secs(if i < 7 { 1 } else { 3600 })).await;
            Ok(i)
        })
    })
    .unwrap();
    assert_eq!(job_err(h.await), "item 7 failed");
    settle().await;
    assert_eq!(alive.load(SeqCst), 0, "pending items were cancelled");
    // Items 0..5 finish at 1 s, which starts items 5..10; item 7 fails 10 ms later.
    assert_eq!(made.load(SeqCst), 10, "no item was taken after the failure");
}

#[tokio::test]
async fn cancelling_a_traverse_cancels_pending_and_stops() {
    let exec = AsyncExecutor::new();
    let dropped = Arc::new(std::sync::Mutex::new(Vec::new()));
    let d = dropped.clone();
    let h = traverse(0..1000, 2, move |_: i32| {
        let (h, rx) = forever::<i32>(&exec);
        d.lock().unwrap().push(rx);
        h
    })
    .unwrap();
    while dropped.lock().unwrap().len() < 2 {
        tokio::task::yield_now().await;
    }
    assert!(h.cancel(), "items remain, so the cancel is accepted");
    assert!(h.await.unwrap_err().is_cancelled());
    let receivers = std::mem::take(&mut *dropped.lock().unwrap());
    assert_eq!(receivers.len(), 2, "no item was taken after the cancel");
    for rx in receivers {
        rx.await.expect("the pending handles were cancelled");
    }
}

#[tokio::test]
async fn traverse_rejects_zero_concurrency_and_handles_empty_input() {
    let err = traverse(0..3, 0, ready::<_, ()>).unwrap_err();
    assert_eq!(err.setting(), "traverse concurrency");
    assert_eq!(traverse(0..0, 4, ready::<i32, ()>).unwrap().await, Ok(vec![]));
}

#[tokio::test]
async fn a_panic_in_traverse_make_fails_only_that_traverse() {
    let h = traverse(0..10, 2, |i: i32| {
        if i == 3 {
            panic!("cannot make item 3");
        }
        ready::<_, ()>(i)
    })
    .unwrap();
    match h.await {
        Err(Error::Panicked(m)) => assert!(m.contains("cannot make item 3")),
        other => panic!("expected a panic error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traverse_100k_items() {
    let exec = AsyncExecutor::new();
    let gauge = Gauge::default();
    let g = gauge.clone();
    let out = traverse(0..BIG, 64, move |i| {
        g.enter();
        let g = g.clone();
        exec.submit(move || async move {
            g.leave();
            Ok::<_, String>(i)
        })
    })
    .unwrap()
    .await
    .unwrap();
    assert!(out.iter().copied().eq(0..BIG));
    assert!(gauge.peak.load(SeqCst) <= 64);
}

// ---------------------------------------------------------------- apply

#[tokio::test(start_paused = true)]
async fn apply_calls_f_with_the_values() {
    let exec = AsyncExecutor::new();
    let a = after(&exec, ms(5), Ok(20));
    let b = after(&exec, ms(1), Ok(22));
    assert_eq!(apply(|(a, b)| a + b, (a, b)).await, Ok(42));
    let v = vec![ready::<_, String>(1), ready(2), ready(3)];
    assert_eq!(apply(|v: Vec<i32>| v.iter().sum::<i32>(), v).await, Ok(6));
}

#[tokio::test]
async fn apply_does_not_call_f_when_an_input_fails_and_catches_panics() {
    let called = Arc::new(AtomicUsize::new(0));
    let c = called.clone();
    let out = apply(
        move |(a, b): (i32, i32)| c.fetch_add((a + b) as usize, SeqCst),
        (ready(1), failed("no".into())),
    );
    assert_eq!(job_err(out.await), "no");
    assert_eq!(called.load(SeqCst), 0);

    let out = apply(|(_,): (i32,)| -> i32 { panic!("f exploded") }, (ready::<_, ()>(1),));
    assert!(out.await.unwrap_err().is_panicked());
}

#[tokio::test]
async fn apply_over_100k_handles() {
    let handles: Vec<_> = (0..BIG as u64).map(ready::<_, ()>).collect();
    let sum = apply(|v: Vec<u64>| v.iter().sum::<u64>(), handles).await.unwrap();
    assert_eq!(sum, (BIG as u64 - 1) * BIG as u64 / 2);
}

// ---------------------------------------------------------------- and / or

#[tokio::test(start_paused = true)]
async fn and_all_ok_gives_the_last_inputs_value_in_input_order() {
    let exec = AsyncExecutor::new();
    let hs = vec![after(&exec, ms(20), Ok(1)), after(&exec, ms(30), Ok(2)), after(&exec, ms(10), Ok(3))];
    assert_eq!(and(hs).await, Ok(3));
}

#[tokio::test(start_paused = true)]
async fn and_first_error_decides_and_cancels_the_rest() {
    let exec = AsyncExecutor::new();
    let (stuck, stuck_dropped) = forever::<u8>(&exec);
    let late_err = after(&exec, ms(30), Err("late".into()));
    let late_c = late_err.canceller();
    let hs = vec![stuck, after(&exec, ms(10), Ok(1)), after(&exec, ms(20), Err("first".into())), late_err];
    assert_eq!(job_err(and(hs).await), "first");
    stuck_dropped.await.unwrap();
    assert!(late_c.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn or_first_ok_decides_and_cancels_the_rest() {
    let exec = AsyncExecutor::new();
    let (stuck, stuck_dropped) = forever::<&str>(&exec);
    let hs = vec![
        stuck,
        after(&exec, ms(5), Err("a failed".into())),
        after(&exec, ms(10), Ok("b")),
        after(&exec, ms(20), Ok("c")),
    ];
    assert_eq!(or(hs).await, Ok("b"));
    stuck_dropped.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn or_all_errors_gives_the_last_inputs_error_in_input_order() {
    let exec = AsyncExecutor::new();
    let hs: Vec<H<u8>> = vec![after(&exec, ms(20), Err("a".into())), after(&exec, ms(5), Err("b".into()))];
    assert_eq!(job_err(or(hs).await), "b");
}

#[tokio::test]
async fn or_is_not_decided_by_an_input_cancelled_elsewhere() {
    let exec = AsyncExecutor::new();
    let (a, _) = forever::<u8>(&exec);
    let a_c = a.canceller();
    let (tx, rx) = oneshot::channel::<u8>();
    let b = exec.submit(move || async move { rx.await.map_err(|e| e.to_string()) });
    let either = or(vec![a, b]);
    assert!(a_c.cancel());
    tx.send(9).unwrap();
    assert_eq!(either.await, Ok(9));

    // ...but `and` is decided by it.
    let (a, _) = forever::<u8>(&exec);
    let a_c = a.canceller();
    let (b, b_dropped) = forever::<u8>(&exec);
    let both = and(vec![a, b]);
    assert!(a_c.cancel());
    assert!(both.await.unwrap_err().is_cancelled());
    b_dropped.await.unwrap();
}

#[tokio::test]
async fn cancelling_and_or_cancels_their_inputs() {
    let exec = AsyncExecutor::new();
    for use_and in [true, false] {
        let (a, a_dropped) = forever::<u8>(&exec);
        let (b, b_dropped) = forever::<u8>(&exec);
        let h = if use_and { and(vec![a, b]) } else { or(vec![a, b]) };
        assert!(h.cancel());
        a_dropped.await.unwrap();
        b_dropped.await.unwrap();
        assert!(h.await.unwrap_err().is_cancelled());
    }
}

#[tokio::test(start_paused = true)]
async fn and_with_and_or_with_use_the_predicate() {
    let exec = AsyncExecutor::new();
    let (stuck, stuck_dropped) = forever::<u32>(&exec);
    let hs = vec![after(&exec, ms(1), Ok(5)), after(&exec, ms(2), Ok(0)), stuck];
    assert_eq!(and_with(hs, |v| *v != 0).await, Ok(0), "the first falsy value decides");
    stuck_dropped.await.unwrap();

    let hs = vec![after(&exec, ms(1), Ok(3)), after(&exec, ms(2), Ok(4))];
    assert_eq!(and_with(hs, |v| *v != 0).await, Ok(4), "all truthy: the last value");

    let (stuck, stuck_dropped) = forever::<u32>(&exec);
    let hs = vec![
        after(&exec, ms(1), Ok(0)),
        after(&exec, ms(2), Err("x".into())),
        after(&exec, ms(3), Ok(8)),
        stuck,
    ];
    assert_eq!(or_with(hs, |v| *v > 0).await, Ok(8), "falsy values and errors do not decide");
    stuck_dropped.await.unwrap();

    let hs = vec![after(&exec, ms(3), Ok(0)), after(&exec, ms(1), Ok(0))];
    assert_eq!(or_with(hs, |v| *v > 0).await, Ok(0), "nothing truthy: the last input's result");
}

#[tokio::test]
async fn a_panicking_predicate_fails_the_handle_and_cancels_the_rest() {
    let exec = AsyncExecutor::new();
    let (stuck, stuck_dropped) = forever::<u32>(&exec);
    let h = or_with(vec![ready(1), stuck], |_| panic!("predicate broke"));
    match h.await {
        Err(Error::Panicked(m)) => assert!(m.contains("predicate broke")),
        other => panic!("expected a panic error, got {other:?}"),
    }
    stuck_dropped.await.unwrap();
}

#[test]
#[should_panic(expected = "and() needs at least one handle")]
fn and_of_nothing_panics_with_a_clear_message() {
    drop(and(Vec::<H<u8>>::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn and_or_over_100k_inputs() {
    let exec = AsyncExecutor::new();
    let hs: Vec<H<usize>> = (0..BIG).map(|i| exec.submit(move || async move { Ok(i) })).collect();
    assert_eq!(and(hs).await, Ok(BIG - 1));
    let hs: Vec<H<usize>> =
        (0..BIG).map(|i| exec.submit(move || async move { Err(i.to_string()) })).collect();
    assert_eq!(job_err(or(hs).await), (BIG - 1).to_string());
}

// ---------------------------------------------------------------- nocancel

#[tokio::test]
async fn nocancel_refuses_cancel_and_resolves_to_the_inputs_result() {
    let exec = AsyncExecutor::new();
    let (tx, rx) = oneshot::channel::<u8>();
    let inner = exec.submit(move || async move { rx.await.map_err(|e| e.to_string()) });
    let inner_c = inner.canceller();
    let shielded = nocancel(inner);
    assert!(!shielded.cancel());
    assert!(!shielded.cancel_async().await);
    assert!(!shielded.canceller().cancel());
    assert!(!inner_c.is_cancelled() && !shielded.is_cancelled());
    tx.send(4).unwrap();
    assert_eq!(shielded.await, Ok(4));
}

#[tokio::test]
async fn nocancel_still_reports_its_input_being_cancelled_directly() {
    let exec = AsyncExecutor::new();
    let (inner, _) = forever::<u8>(&exec);
    let inner_c = inner.canceller();
    let shielded = nocancel(inner);
    assert!(inner_c.cancel());
    assert!(shielded.await.unwrap_err().is_cancelled());
}

#[tokio::test]
async fn nocancel_protects_an_input_from_a_combinators_cancel() {
    let exec = AsyncExecutor::new();
    let (tx, rx) = oneshot::channel::<u8>();
    let (done_tx, done_rx) = oneshot::channel::<u8>();
    let protected = nocancel(exec.submit(move || async move {
        let v = rx.await.map_err(|e| e.to_string())?;
        done_tx.send(v).unwrap();
        Ok::<_, String>(v)
    }));
    let (other, other_dropped) = forever::<u8>(&exec);
    let both = zip((protected, other));
    assert!(both.cancel());
    other_dropped.await.unwrap();
    tx.send(1).unwrap();
    assert_eq!(done_rx.await, Ok(1), "the protected job ran to completion");
}

#[test]
fn nocancel_of_a_resolved_handle_is_that_handle() {
    let h = nocancel(ready::<_, ()>(3));
    assert!(h.id().is_none() && !h.cancel());
    assert_eq!(h.wait(), Ok(3));
}

// ---------------------------------------------------------------- as_completed

#[tokio::test(start_paused = true)]
async fn as_completed_yields_in_completion_order_with_indices() {
    let exec = AsyncExecutor::new();
    let delays = [40u64, 10, 30, 20, 50];
    let handles: Vec<_> = delays.iter().map(|&d| after(&exec, ms(d), Ok(d))).collect();
    let mut stream = as_completed(handles);
    assert_eq!(stream.size_hint(), (5, Some(5)));
    let mut order = Vec::new();
    while let Some((i, r)) = stream.next().await {
        assert_eq!(r.unwrap(), delays[i]);
        order.push(i);
    }
    assert_eq!(order, [1, 3, 2, 0, 4]);
    assert_eq!(stream.remaining(), 0);
    assert!(stream.next().await.is_none(), "ends after every input");
}

#[tokio::test(start_paused = true)]
async fn as_completed_yields_errors_as_items_and_goes_on() {
    let exec = AsyncExecutor::new();
    let handles =
        vec![after(&exec, ms(3), Ok(1)), after(&exec, ms(1), Err("one".into())), after(&exec, ms(2), Ok(2))];
    let items: Vec<_> = as_completed(handles).collect().await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].0, 1);
    assert_eq!(job_err(items[0].1.clone()), "one");
    assert_eq!((items[1].0, items[1].1.clone()), (2, Ok(2)));
    assert_eq!((items[2].0, items[2].1.clone()), (0, Ok(1)));
}

#[tokio::test]
async fn as_completed_of_already_finished_inputs_keeps_input_order() {
    let items: Vec<_> =
        as_completed((0..10).map(ready::<_, ()>)).map(|(i, r)| (i, r.unwrap())).collect().await;
    assert_eq!(items, (0..10).map(|i| (i, i)).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn dropping_as_completed_cancels_nothing() {
    let exec = AsyncExecutor::new();
    let slow = after(&exec, ms(100), Ok(1));
    let slow_c = slow.canceller();
    let mut stream = as_completed(vec![ready(0), slow]);
    assert_eq!(stream.next().await.map(|(i, _)| i), Some(0));
    drop(stream);
    assert!(!slow_c.is_cancelled());
    assert!(slow_c.cancel(), "still pending: the stream let it run");
}

#[tokio::test(start_paused = true)]
async fn as_completed_works_on_plain_futures() {
    let futs: Vec<std::pin::Pin<Box<dyn Future<Output = u64> + Send>>> = vec![
        Box::pin(async {
            tokio::time::sleep(ms(20)).await;
            20
        }),
        Box::pin(async {
            tokio::time::sleep(ms(10)).await;
            10
        }),
    ];
    let items: Vec<_> = as_completed(futs).collect().await;
    assert_eq!(items, [(1, 10), (0, 20)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_completed_over_100k_jobs_yields_each_once() {
    let exec = AsyncExecutor::new();
    let handles: Vec<H<usize>> = (0..BIG).map(|i| exec.submit(move || async move { Ok(i) })).collect();
    let mut seen = vec![false; BIG];
    let mut stream = as_completed(handles);
    while let Some((i, r)) = stream.next().await {
        assert_eq!(r, Ok(i));
        assert!(!std::mem::replace(&mut seen[i], true), "index {i} twice");
    }
    assert!(seen.iter().all(|s| *s));
}

#[test]
fn as_completed_blocking_iter_from_plain_code() {
    let pool = BlockingPool::new(4).unwrap();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    // Input 0 waits to be released; the others finish at once.
    let mut handles = vec![pool.submit(move || {
        release_rx.lock().unwrap().recv().unwrap();
        Ok::<_, String>(0)
    })];
    handles.extend((1..6).map(|i| pool.submit(move || Ok::<_, String>(i))));
    let mut iter = as_completed(handles).blocking_iter();
    assert_eq!(iter.len(), 6);
    let mut first_five: Vec<_> = iter.by_ref().take(5).map(|(i, r)| (i, r.unwrap())).collect();
    first_five.sort();
    assert_eq!(first_five, (1..6).map(|i| (i, i)).collect::<Vec<_>>());
    release_tx.send(()).unwrap();
    assert_eq!(iter.next().map(|(i, r)| (i, r.unwrap())), Some((0, 0)));
    assert!(iter.next().is_none());
}

// ---------------------------------------------------------------- wait_first

#[tokio::test(start_paused = true)]
async fn wait_first_gives_the_first_and_the_rest_still_running() {
    let exec = AsyncExecutor::new();
    let handles =
        vec![after(&exec, ms(30), Ok("a")), after(&exec, ms(10), Ok("b")), after(&exec, ms(20), Ok("c"))];
    let first = wait_first(handles).await.unwrap();
    assert_eq!((first.index, first.output), (1, Ok("b")));
    assert_eq!(first.rest.len(), 2);
    assert!(first.rest.iter().all(|h| !h.is_cancelled()), "nothing was cancelled");
    // The rest keep their order: "a" then "c"; the next to finish is "c", now at index 1.
    let second = wait_first(first.rest).await.unwrap();
    assert_eq!((second.index, second.output), (1, Ok("c")));
    let third = wait_first(second.rest).await.unwrap();
    assert_eq!((third.index, third.output, third.rest.len()), (0, Ok("a"), 0));
}

#[tokio::test]
async fn wait_first_of_nothing_is_none_and_ties_go_to_input_order() {
    assert!(wait_first(Vec::<H<u8>>::new()).await.is_none());
    let first = wait_first(vec![ready::<_, ()>('x'), ready('y')]).await.unwrap();
    assert_eq!((first.index, first.output), (0, Ok('x')));
}

#[tokio::test(start_paused = true)]
async fn wait_first_over_100k_inputs() {
    let exec = AsyncExecutor::new();
    let mut handles: Vec<H<usize>> = Vec::with_capacity(BIG);
    let mut cancellers = Vec::with_capacity(BIG);
    for i in 0..BIG {
        let h = if i == BIG / 2 { after(&exec, ms(1), Ok(i)) } else { forever(&exec).0 };
        cancellers.push(h.canceller());
        handles.push(h);
    }
    let first = wait_first(handles).await.unwrap();
    assert_eq!((first.index, first.output), (BIG / 2, Ok(BIG / 2)));
    assert_eq!(first.rest.len(), BIG - 1);
    assert!(cancellers.iter().all(|c| !c.is_cancelled()), "nothing was cancelled");
    assert!(first.rest.iter().all(Handle::cancel), "the rest were still pending");
}

#[test]
fn wait_first_wait_from_plain_code() {
    let pool = BlockingPool::new(2).unwrap();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let held = pool.submit(move || {
        release_rx.recv().unwrap();
        Ok::<_, ()>("held")
    });
    let quick = pool.submit(|| Ok::<_, ()>("quick"));
    let first = wait_first([held, quick]).wait().unwrap();
    assert_eq!((first.index, first.output), (1, Ok("quick")));
    release_tx.send(()).unwrap();
    let [held]: [_; 1] = first.rest.try_into().unwrap();
    assert_eq!(held.wait(), Ok("held"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_are_polled_a_bounded_number_of_times_even_past_the_task_budget() {
    // Inside a spawned task, tokio's per-task budget runs out after some polls; the
    // combinators must then yield instead of polling every remaining input again (which
    // would make large input sets quadratic).
    let exec = AsyncExecutor::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let inputs: Vec<_> = (0..BIG)
        .map(|i| PollCounted::new(exec.submit(move || async move { Ok::<_, String>(i) }), polls.clone()))
        .collect();
    let n = tokio::spawn(async move { as_completed(inputs).count().await }).await.unwrap();
    assert_eq!(n, BIG);
    let total = polls.load(SeqCst);
    assert!(total <= 3 * BIG, "{total} polls for {BIG} inputs");
}

// ---------------------------------------------------------------- properties

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Inputs with distinct delays (a permutation, so completion order is well defined) and
    /// random outcomes: `Some(v)` succeeds with `v`, `None` fails.
    fn inputs() -> impl Strategy<Value = Vec<(u64, Option<u32>)>> {
        (1usize..24)
            .prop_flat_map(|n| {
                (
                    Just((1..=n as u64).collect::<Vec<_>>()).prop_shuffle(),
                    prop::collection::vec(any::<Option<u32>>(), n),
                )
            })
            .prop_map(|(delays, outcomes)| delays.into_iter().zip(outcomes).collect())
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(f)
    }

    fn submit_all(exec: &AsyncExecutor, spec: &[(u64, Option<u32>)]) -> Vec<H<u32>> {
        spec.iter()
            .enumerate()
            .map(|(i, (d, o))| after(exec, ms(*d), o.ok_or_else(|| format!("input {i} failed"))))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn combinators_agree_with_a_sequential_model(spec in inputs()) {
            let by_completion = {
                let mut idx: Vec<usize> = (0..spec.len()).collect();
                idx.sort_by_key(|&i| spec[i].0);
                idx
            };
            let first_err = by_completion.iter().copied().find(|&i| spec[i].1.is_none());
            let first_ok = by_completion.iter().copied().find(|&i| spec[i].1.is_some());
            let last = spec.len() - 1;

            run(async {
                let exec = AsyncExecutor::new();

                // sequence: all values in input order, or the first error to happen.
                let got = sequence(submit_all(&exec, &spec)).await;
                match first_err {
                    Some(i) => prop_assert_eq!(job_err(got), format!("input {i} failed")),
                    None => prop_assert_eq!(got, Ok(spec.iter().map(|(_, o)| o.unwrap()).collect::<Vec<_>>())),
                }

                // and: the first error, else the last input's value.
                let got = and(submit_all(&exec, &spec)).await;
                match first_err {
                    Some(i) => prop_assert_eq!(job_err(got), format!("input {i} failed")),
                    None => prop_assert_eq!(got, Ok(spec[last].1.unwrap())),
                }

                // or: the first value, else the last input's error.
                let got = or(submit_all(&exec, &spec)).await;
                match first_ok {
                    Some(i) => prop_assert_eq!(got, Ok(spec[i].1.unwrap())),
                    None => prop_assert_eq!(job_err(got), format!("input {last} failed")),
                }

                // as_completed: every input once, in completion order.
                let order: Vec<usize> = as_completed(submit_all(&exec, &spec)).map(|(i, _)| i).collect().await;
                prop_assert_eq!(&order, &by_completion);

                // wait_first: the first to complete, the rest in input order.
                let first = wait_first(submit_all(&exec, &spec)).await.unwrap();
                prop_assert_eq!(first.index, by_completion[0]);
                prop_assert_eq!(first.rest.len(), spec.len() - 1);

                // traverse with a bound of 1 runs the inputs one after another: the result is
                // decided by the first failing input in *item* order.
                let items = spec.clone();
                let exec2 = exec.clone();
                let got = traverse(items.into_iter().enumerate(), 1, move |(i, (d, o))| {
                    after(&exec2, ms(d), o.ok_or_else(|| format!("input {i} failed")))
                })
                .unwrap()
                .await;
                match spec.iter().position(|(_, o)| o.is_none()) {
                    Some(i) => prop_assert_eq!(job_err(got), format!("input {i} failed")),
                    None => prop_assert_eq!(got, Ok(spec.iter().map(|(_, o)| o.unwrap()).collect::<Vec<_>>())),
                }
                Ok(())
            })?;
        }
    }
}
