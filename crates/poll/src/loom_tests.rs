//! Model checks of the poll set with [loom](https://docs.rs/loom): a poll delivering a
//! result, cancel requests (the cancel function approves) and the drop of the stage future
//! race on one node, and every interleaving of the threads below is explored (no preemption
//! bound is set, so the search is exhaustive). Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p more-executors-poll --lib --target-dir target/loom loom`.
//!
//! The parties run the crate's own code: the poll task's snapshot and
//! [`deliver`](crate::task::deliver), the cancel [`Hook`] the handle asks, and the drop of a
//! [`PollFuture`] waiting in the set. The set is built directly (no poll task is spawned, the
//! cancel function is synchronous), so no tokio runtime has to run under the model.

use std::future::Ready;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use loom::thread;
use more_executors_core::stage::{CancelDecision, CancelHook};
use more_executors_core::{Error, Runtime};

use crate::descriptor::{Node, PollDescriptor};
use crate::future::PollFuture;
use crate::poller::{CancelFn, SyncPoller};
use crate::set::{Hook, Shared, Timing, abandoned};
use crate::task::{Outcome, deliver};

/// The inner job's output: counts the calls the set makes about it.
#[derive(Default)]
struct Input {
    /// Calls of the cancel function (by a cancel request or by an abandon).
    cancel_calls: AtomicUsize,
    /// Stage futures dropped while still in the set.
    abandons: AtomicUsize,
}

type Set = Shared<Input, u32, String>;
type TestNode = Node<Input, u32, String>;
type Stage = PollFuture<Ready<Result<Input, Error<String>>>, Input, u32, String>;

/// A runtime handle for [`Shared::new`]; nothing is spawned on it.
fn runtime() -> Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap());
    Runtime::from_handle(rt.handle().clone())
}

fn counting_abandon(shared: &Set, node: &Arc<TestNode>) {
    node.input.abandons.fetch_add(1, SeqCst);
    abandoned(shared, node);
}

/// A set whose cancel function approves, holding one node; the stage future waiting on it.
fn setup() -> (Arc<Set>, Arc<TestNode>, usize, Stage) {
    let poller = Arc::new(SyncPoller::new(|_: &mut [PollDescriptor<Input, u32, String>]| Ok(None)));
    let cancel = CancelFn::Sync(Arc::new(|input: &Input| {
        input.cancel_calls.fetch_add(1, SeqCst);
        Ok(true)
    }));
    let timing = Timing { default_interval: Duration::from_secs(5), first_poll_delay: Duration::ZERO };
    let mut shared = Shared::new(poller, Some(cancel), timing, runtime(), "loom".into());
    shared.on_abandon = counting_abandon;
    let shared = Arc::new(shared);
    let node = Arc::new(Node::new(Input::default()));
    let key = shared.lock().entries.insert(node.clone());
    let stage = PollFuture::registered(shared.clone(), node.clone(), key);
    (shared, node, key, stage)
}

/// One poll call that resolves every descriptor it sees with 7 (a second yield on the same
/// descriptor is ignored), then delivers. Returns how many futures it resolved.
fn poll_once(shared: &Arc<Set>) -> usize {
    let mut batch: Vec<PollDescriptor<Input, u32, String>> = {
        let st = shared.lock();
        st.entries.iter().map(|(key, node)| PollDescriptor::attached(node.clone(), key)).collect()
    };
    for d in batch.iter_mut() {
        assert!(d.yield_result(7));
        assert!(!d.yield_result(8), "a second yield is ignored");
        assert!(!d.yield_error("late".into()), "a second yield is ignored");
    }
    deliver(shared, &mut batch, &Outcome::Ok(None))
}

/// A cancel request through the handle: the answer of the set's cancel hook.
fn cancel(shared: &Arc<Set>, node: &Arc<TestNode>, key: usize) -> bool {
    let hook = Hook { shared: shared.clone(), node: node.clone(), key };
    match hook.decide() {
        CancelDecision::Now(answer) => answer,
        CancelDecision::Later(_) => panic!("a synchronous cancel function decides at once"),
    }
}

/// [`poll_once`] on a thread of the model.
fn spawn_poll(shared: &Arc<Set>) -> thread::JoinHandle<usize> {
    let shared = shared.clone();
    thread::spawn(move || poll_once(&shared))
}

/// [`cancel`] on a thread of the model.
fn spawn_cancel(shared: &Arc<Set>, node: &Arc<TestNode>, key: usize) -> thread::JoinHandle<bool> {
    let (shared, node) = (shared.clone(), node.clone());
    thread::spawn(move || cancel(&shared, &node, key))
}

#[test]
fn loom_resolve_races_cancel() {
    loom::model(|| {
        let (shared, node, key, stage) = setup();
        let poll = spawn_poll(&shared);
        let canceller = spawn_cancel(&shared, &node, key);
        // The stage future waits for its result meanwhile.
        let out = loom::future::block_on(stage);
        let resolved = poll.join().unwrap();
        let approved = canceller.join().unwrap();
        assert_eq!(resolved + usize::from(approved), 1, "exactly one outcome");
        match out {
            Ok(v) => assert!(!approved && v == 7),
            Err(e) => assert!(approved && e.is_cancelled(), "{e:?}"),
        }
        // Asked at most once; a request that asked may still lose the removal to the poll.
        let calls = node.input.cancel_calls.load(SeqCst);
        assert!(calls >= usize::from(approved) && calls <= 1, "{calls}");
        assert_eq!(node.input.abandons.load(SeqCst), 0);
        assert!(shared.lock().entries.is_empty());
    });
}

#[test]
fn loom_resolve_races_drop() {
    loom::model(|| {
        let (shared, node, _key, stage) = setup();
        let poll = spawn_poll(&shared);
        drop(stage);
        let resolved = poll.join().unwrap();
        let abandons = node.input.abandons.load(SeqCst);
        assert_eq!(resolved + abandons, 1, "exactly one outcome");
        // The cancel function hears about an abandoned future once, and only then.
        assert_eq!(node.input.cancel_calls.load(SeqCst), abandons);
        assert!(shared.lock().entries.is_empty());
    });
}

#[test]
fn loom_cancel_races_drop() {
    loom::model(|| {
        let (shared, node, key, stage) = setup();
        let canceller = spawn_cancel(&shared, &node, key);
        drop(stage);
        let approved = canceller.join().unwrap();
        let abandons = node.input.abandons.load(SeqCst);
        assert_eq!(usize::from(approved) + abandons, 1, "exactly one outcome");
        let calls = node.input.cancel_calls.load(SeqCst);
        if approved {
            assert_eq!(calls, 1, "an approved cancel is not followed by an abandon call");
        } else {
            // The abandon's call, plus the request's own approval when it lost the removal.
            assert!((1..=2).contains(&calls), "{calls}");
        }
        assert!(shared.lock().entries.is_empty());
    });
}

#[test]
fn loom_resolve_cancel_drop() {
    loom::model(|| {
        let (shared, node, key, stage) = setup();
        let poll = spawn_poll(&shared);
        let canceller = spawn_cancel(&shared, &node, key);
        drop(stage);
        let resolved = poll.join().unwrap();
        let approved = canceller.join().unwrap();
        let abandons = node.input.abandons.load(SeqCst);
        assert_eq!(resolved + usize::from(approved) + abandons, 1, "exactly one outcome");
        assert!(shared.lock().entries.is_empty());
    });
}

#[test]
fn loom_two_cancels_agree() {
    loom::model(|| {
        let (shared, node, key, stage) = setup();
        let spawn_cancel = || {
            let (shared, node) = (shared.clone(), node.clone());
            thread::spawn(move || cancel(&shared, &node, key))
        };
        let (c1, c2) = (spawn_cancel(), spawn_cancel());
        let out = loom::future::block_on(stage);
        let (a1, a2) = (c1.join().unwrap(), c2.join().unwrap());
        assert!(a1 && a2, "both cancel requests agree with the cancelled result");
        assert!(out.is_err_and(|e| e.is_cancelled()));
        let calls = node.input.cancel_calls.load(SeqCst);
        assert!((1..=2).contains(&calls), "{calls}");
        assert!(shared.lock().entries.is_empty());
    });
}
