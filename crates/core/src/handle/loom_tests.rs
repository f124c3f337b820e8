//! Model checks of the state machine with [loom](https://docs.rs/loom): every interleaving
//! of the threads below is explored (no preemption bound is set, so the search is
//! exhaustive). Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p more-executors-core --lib loom`.

use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;

use super::control::*;
use crate::error::Error;
use crate::stage::{CancelDecision, CancelGate, JobContext};

fn counting_hook(calls: Arc<AtomicUsize>, approve: bool) -> CancelGate {
    CancelGate::Hook(Arc::new(move || {
        calls.fetch_add(1, SeqCst);
        CancelDecision::Now(approve)
    }))
}

/// (p) A stage parks an item while the job's run ends on another thread: the item is
/// dropped exactly once, and never before the run ended.
#[test]
fn loom_hold_while_running_races_the_run_ending() {
    loom::model(|| {
        struct Item(Arc<AtomicUsize>, Arc<AtomicBool>);
        impl Drop for Item {
            fn drop(&mut self) {
                assert!(self.1.load(SeqCst), "dropped while the job still ran");
                self.0.fetch_add(1, SeqCst);
            }
        }
        let ctl = Control::new();
        ctl.set_running(true);
        let (drops, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (c, e) = (ctl.clone(), ended.clone());
        let runner = thread::spawn(move || {
            e.store(true, SeqCst);
            c.set_running(false);
        });
        ctl.hold_while_running(Item(drops.clone(), ended.clone()));
        runner.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "dropped exactly once, by whichever came second");
    });
}

/// (a) The job finishing races a cancel: exactly one wins; `cancel()` returns true iff
/// the handle resolves cancelled, the driver is aborted iff the cancel won, and later
/// cancels agree.
#[test]
fn loom_finish_races_cancel() {
    loom::model(|| {
        let ctl = Control::new();
        let aborted = Arc::new(AtomicBool::new(false));
        let (c, a) = (ctl.clone(), aborted.clone());
        let canceller = thread::spawn(move || c.cancel_blocking(|| a.store(true, SeqCst)));
        let resolved = ctl.finish::<u32, ()>(Ok(7));
        // Read without the lock: whoever records the outcome sees the flag of a cancel that
        // came first.
        assert_eq!(
            ctl.is_cancelled(),
            resolved == Err(Error::Cancelled),
            "the flag and the outcome disagree"
        );
        let cancelled = canceller.join().unwrap();
        match resolved {
            Err(Error::Cancelled) => assert!(cancelled, "resolved cancelled, but cancel() said no"),
            Ok(7) => assert!(!cancelled, "cancel() said yes, but the job's value was delivered"),
            other => panic!("unexpected resolution {other:?}"),
        }
        assert_eq!(aborted.load(SeqCst), cancelled, "abort runs exactly when the cancel wins");
        assert_eq!(ctl.phase(), if cancelled { Phase::Cancelled } else { Phase::Done });
        assert_eq!(ctl.is_cancelled(), cancelled);
        assert_eq!(ctl.cancel_blocking(|| ()), cancelled, "a later cancel gives the same answer");
    });
}

/// `is_cancelled` reads a flag outside the lock while a finish and a cancel race: it never
/// says "cancelled" for a job whose value was delivered, and once the canceller has its
/// answer, the flag agrees with it.
#[test]
fn loom_is_cancelled_races_finish_and_cancel() {
    loom::model(|| {
        let ctl = Control::new();
        let c = ctl.clone();
        let canceller = thread::spawn(move || {
            let cancelled = c.cancel_blocking(|| ());
            assert_eq!(c.is_cancelled(), cancelled, "the canceller's own answer and the flag disagree");
            cancelled
        });
        let r = ctl.clone();
        let reader = thread::spawn(move || r.is_cancelled());
        let resolved = ctl.finish::<u32, ()>(Ok(7));
        let cancelled = canceller.join().unwrap();
        let seen = reader.join().unwrap();
        assert!(!seen || cancelled, "a reader saw a cancel that never happened");
        assert_eq!(cancelled, resolved == Err(Error::Cancelled));
    });
}

/// (a'') The same race through a driver task's own recording, whose output keeps the
/// error boxed and which hands back the task's runtime count: the answers agree as in
/// (a), and the count is released once whichever side wins.
#[test]
fn loom_driver_finish_races_cancel() {
    loom::model(|| {
        let tracker = tokio_util::task::TaskTracker::new();
        let ctl = Control::for_task(|_| tracing::Span::none(), Some(tracker.token()));
        let (c, aborted) = (ctl.clone(), Arc::new(AtomicBool::new(false)));
        let a = aborted.clone();
        let canceller = thread::spawn(move || c.cancel_blocking(|| a.store(true, SeqCst)));
        let finished = ctl.finish_task::<u32, ()>(Ok(7));
        assert!(finished.tracked.is_some(), "the driver takes the count when it records");
        drop(finished.tracked);
        let cancelled = canceller.join().unwrap();
        match finished.output.map_err(|e| *e) {
            Err(Error::Cancelled) => assert!(cancelled, "resolved cancelled, but cancel() said no"),
            Ok(7) => assert!(!cancelled, "cancel() said yes, but the job's value was delivered"),
            other => panic!("unexpected resolution {other:?}"),
        }
        assert_eq!(aborted.load(SeqCst), cancelled, "abort runs exactly when the cancel wins");
        // The aborted task is dropped later: its guard finds the outcome decided.
        ctl.abandon();
        assert_eq!(ctl.phase(), if cancelled { Phase::Cancelled } else { Phase::Done });
        assert!(tracker.is_empty(), "the runtime's count was released");
    });
}

/// (a') Two cancellers and the job's end, all at once: both cancels give the same
/// answer, and it matches the resolution.
#[test]
fn loom_two_cancels_race_finish() {
    loom::model(|| {
        let ctl = Control::new();
        let aborts = Arc::new(AtomicUsize::new(0));
        let spawn_cancel = |ctl: &Arc<Control>| {
            let (c, a) = (ctl.clone(), aborts.clone());
            thread::spawn(move || {
                c.cancel_blocking(|| {
                    a.fetch_add(1, SeqCst);
                })
            })
        };
        let t1 = spawn_cancel(&ctl);
        let t2 = spawn_cancel(&ctl);
        let resolved = ctl.finish::<u32, ()>(Ok(1));
        let (c1, c2) = (t1.join().unwrap(), t2.join().unwrap());
        assert_eq!(c1, c2, "concurrent cancels disagree");
        assert_eq!(c1, resolved == Err(Error::Cancelled));
        assert!(aborts.load(SeqCst) <= 1, "the driver is aborted at most once");
        assert_eq!(aborts.load(SeqCst) == 1, c1);
    });
}

/// (b) A blocking executor starting the job races a cancel. The pool thread checks in
/// with `begin_uncancellable` and keeps the guard until the result is recorded. Either
/// the job never starts and the cancel succeeds, or it runs, the cancel is refused and
/// the value is delivered.
#[test]
fn loom_begin_uncancellable_races_cancel() {
    loom::model(|| {
        let ctl = Control::new();
        let ctx = JobContext::new(ctl.clone());
        let pool = thread::spawn(move || match ctx.begin_uncancellable() {
            Some(running) => {
                let resolved = ctx.ctl.finish::<u32, ()>(Ok(3));
                drop(running);
                Some(resolved)
            }
            None => None,
        });
        let cancelled = ctl.cancel_blocking(|| ());
        match pool.join().unwrap() {
            None => {
                assert!(cancelled, "the job was skipped but the cancel was refused");
                assert_eq!(ctl.finish::<u32, ()>(Err(Error::Cancelled)), Err(Error::Cancelled));
            }
            Some(resolved) => {
                assert!(!cancelled, "the job ran but the cancel was accepted");
                assert_eq!(resolved, Ok(3));
            }
        }
    });
}

/// (c) A stage installs a cancel hook while the guard of an earlier stage (a pool
/// thread's uncancellable guard) is released on another thread, and a cancel arrives.
/// The newest gate decides however the guards are released, and once every guard is
/// gone the job is cancellable again.
#[test]
fn loom_gate_changes_race() {
    loom::model(|| {
        let ctl = Control::new();
        let ctx = JobContext::new(ctl.clone());
        let running = ctx.begin_uncancellable().expect("not cancelled yet");
        let pool = thread::spawn(move || drop(running));
        let calls = Arc::new(AtomicUsize::new(0));
        let hook = ctx.set_gate(counting_hook(calls.clone(), false));
        let cancelled = ctl.cancel_blocking(|| ());
        assert!(!cancelled, "the hook refuses: the cancel must be refused");
        assert_eq!(calls.load(SeqCst), 1, "the newest gate (the hook) must decide");
        drop(hook);
        pool.join().unwrap();
        assert!(ctl.cancel_blocking(|| ()), "with no gate left, cancel is allowed");
    });
}

/// (c') Installing and removing a hook races a cancel: the cancel is decided by the
/// hook exactly when it lands while the hook is installed, and otherwise accepted.
#[test]
fn loom_hook_install_races_cancel() {
    loom::model(|| {
        let ctl = Control::new();
        let ctx = JobContext::new(ctl.clone());
        let calls = Arc::new(AtomicUsize::new(0));
        let cl = calls.clone();
        let stage = thread::spawn(move || {
            let guard = ctx.set_gate(counting_hook(cl, false));
            drop(guard);
        });
        let cancelled = ctl.cancel_blocking(|| ());
        stage.join().unwrap();
        let asked = calls.load(SeqCst);
        assert!(asked <= 1);
        assert_eq!(cancelled, asked == 0, "refused exactly when the (refusing) hook was asked");
        assert_eq!(ctl.phase() == Phase::Cancelled, cancelled);
    });
}

/// (e) The whole hand-over from a blocking first step to a flat_map second step that
/// returned a handle (guards installed and released in the order the stage futures
/// do it), racing a cancel: an accepted cancel either stopped the job before it started
/// or went through the second step's hook (so the inner handle was cancelled too); it
/// never lands in a gap where the job is cancelled but the inner handle is not.
#[test]
fn loom_blocking_then_flat_map_races_cancel() {
    loom::model(|| {
        let ctl = Control::new();
        let ctx = JobContext::new(ctl.clone());
        let calls = Arc::new(AtomicUsize::new(0));
        let c = ctl.clone();
        let canceller = thread::spawn(move || c.cancel_blocking(|| ()));
        let (started, resolved) = match ctx.begin_uncancellable() {
            None => (false, ctl.finish::<u32, ()>(Err(Error::Cancelled))),
            Some(first_step) => {
                // flat_map: refuse while its function runs, install the returned
                // handle's hook, drop the first step, then the refusal.
                let calling = ctx.set_gate(CancelGate::Refuse);
                let hook = ctx.set_gate(counting_hook(calls.clone(), true));
                drop(first_step);
                drop(calling);
                let resolved = ctl.finish::<u32, ()>(Ok(1));
                drop(hook);
                (true, resolved)
            }
        };
        let cancelled = canceller.join().unwrap();
        assert_eq!(cancelled, resolved == Err(Error::Cancelled));
        if cancelled && started {
            assert_eq!(calls.load(SeqCst), 1, "accepted without asking the second step's handle");
        }
        if !started {
            assert!(cancelled);
        }
    });
}

/// (f) A done callback is registered while the job finishes and a cancel arrives: the
/// callback runs exactly once, with the outcome the handle resolves to (a registration
/// that loses the race is handed back with the phase, and its caller runs it).
#[test]
fn loom_callback_registration_races_finish_and_cancel() {
    loom::model(|| {
        let ctl = Control::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let (c, k) = (calls.clone(), saw_cancel.clone());
        let cb = crate::handle::callbacks::erase::<u32, (), _>(move |r| {
            c.fetch_add(1, SeqCst);
            k.store(matches!(r, Err(Error::Cancelled)), SeqCst);
        });
        let (registrar, canceller) = (ctl.clone(), ctl.clone());
        let reg = thread::spawn(move || match registrar.add_callback(cb) {
            Ok(()) => None,
            Err((cb, phase)) => Some((cb, phase)),
        });
        let can = thread::spawn(move || canceller.cancel_blocking(|| ()));
        let resolved = ctl.finish::<u32, ()>(Ok(5));
        if let Some((cb, phase)) = reg.join().unwrap() {
            // The registration lost: run it as `Handle::on_done` does.
            let r = if phase == Phase::Cancelled { Err(Error::Cancelled) } else { resolved.clone() };
            crate::handle::callbacks::run_one(ctl.id(), cb, crate::handle::callbacks::Resolved::Value(&r));
        }
        let cancelled = can.join().unwrap();
        assert_eq!(calls.load(SeqCst), 1, "the callback ran exactly once");
        assert_eq!(saw_cancel.load(SeqCst), cancelled, "it saw the outcome the handle has");
        assert_eq!(cancelled, resolved == Err(Error::Cancelled));
    });
}

/// (d) A hook approves a cancel while the job finishes: the two-step cancel (ask the
/// hook outside the lock, then complete) still yields exactly one outcome.
#[test]
fn loom_hook_approval_races_finish() {
    loom::model(|| {
        let ctl = Control::new();
        let ctx = JobContext::new(ctl.clone());
        let calls = Arc::new(AtomicUsize::new(0));
        let _hook = ctx.set_gate(counting_hook(calls.clone(), true));
        let c = ctl.clone();
        let aborted = Arc::new(AtomicBool::new(false));
        let a = aborted.clone();
        let canceller = thread::spawn(move || c.cancel_blocking(|| a.store(true, SeqCst)));
        let resolved = ctl.finish::<u32, ()>(Ok(9));
        let cancelled = canceller.join().unwrap();
        assert_eq!(cancelled, resolved == Err(Error::Cancelled));
        assert_eq!(cancelled, aborted.load(SeqCst));
        if cancelled {
            assert_eq!(calls.load(SeqCst), 1, "an accepted cancel was approved by the hook");
        }
    });
}
