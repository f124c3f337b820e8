//! Misbehaving user values handled by the poll task: an error whose `Clone` panics, and
//! inputs, yields and errors whose `Drop` panics. The poll task must survive them, and
//! every handle must still resolve exactly once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{failing_once, wait_for};
use more_executors_core::prelude::*;
use more_executors_poll::{PollDescriptor, PollExecutor, PollExt, PollLayer, Poller};
use tokio::sync::Notify;
use tokio::time::timeout;

const MS: Duration = Duration::from_millis(1);
const LONG: Duration = Duration::from_secs(60);

/// Panics when dropped while armed; clones are unarmed.
#[derive(Debug)]
struct Bomb(bool);

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.0 && !std::thread::panicking() {
            panic!("Drop bug");
        }
    }
}

impl Clone for Bomb {
    fn clone(&self) -> Self {
        Bomb(false)
    }
}

/// An error whose `Clone` panics.
#[derive(Debug)]
struct BadClone;

impl Clone for BadClone {
    fn clone(&self) -> Self {
        panic!("Clone bug")
    }
}

#[tokio::test(start_paused = true)]
async fn a_poll_error_whose_clone_panics_still_resolves_every_future_of_the_call() {
    let exec = failing_once(|| BadClone);
    let a = exec.submit(|| async { Ok::<u32, BadClone>(1) });
    let b = exec.submit(|| async { Ok::<u32, BadClone>(2) });
    for h in [a, b] {
        let r = timeout(LONG, h).await.expect("the handle resolves");
        assert!(matches!(&r, Err(e) if e.is_panicked()), "{r:?}");
    }
    assert_eq!(exec.pending(), 0);
    let c = exec.submit(|| async { Ok::<u32, BadClone>(3) });
    assert!(matches!(timeout(LONG, c).await, Ok(Ok(3))), "polling goes on");
}

/// What [`Gated`]'s first call does once its gate opens.
type FirstCall<I, T, E> = fn(&mut [PollDescriptor<I, T, E>]) -> Result<Option<Duration>, E>;

/// An async poller whose first call waits for `gate`, then does `first`; later calls
/// resolve every descriptor with `later` of it.
struct Gated<I, T, E> {
    gate: Arc<Notify>,
    calls: AtomicUsize,
    first: FirstCall<I, T, E>,
    later: fn(&PollDescriptor<I, T, E>) -> T,
}

impl<I, T, E> Gated<I, T, E> {
    fn new(first: FirstCall<I, T, E>, later: fn(&PollDescriptor<I, T, E>) -> T) -> (Self, Arc<Notify>) {
        let gate = Arc::new(Notify::new());
        (Gated { gate: gate.clone(), calls: AtomicUsize::new(0), first, later }, gate)
    }
}

#[more_executors_poll::async_trait]
impl<I, T, E> Poller<I, T, E> for Gated<I, T, E>
where
    I: Send + Sync + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    async fn poll(&self, ds: &mut [PollDescriptor<I, T, E>]) -> Result<Option<Duration>, E> {
        if self.calls.fetch_add(1, SeqCst) == 0 {
            self.gate.notified().await;
            return (self.first)(ds);
        }
        ds.iter_mut().for_each(|d| {
            let v = (self.later)(d);
            d.yield_result(v);
        });
        Ok(Some(MS))
    }
}

type BombExec = PollExecutor<AsyncExecutor, u32, Bomb, Bomb>;

fn gated(first: FirstCall<u32, Bomb, Bomb>) -> (BombExec, Arc<Notify>) {
    let (poller, gate) = Gated::new(first, |_| Bomb(false));
    let exec = AsyncExecutor::new().with_poll(PollLayer::with_poller(poller).first_poll_delay(MS));
    (exec, gate)
}

fn submit_bomb(exec: &BombExec, id: u32) -> Handle<Bomb, Bomb> {
    exec.submit(move || async move { Ok::<u32, Bomb>(id) })
}

#[tokio::test(start_paused = true)]
async fn a_yield_whose_drop_panics_for_a_cancelled_future_does_not_stop_polling() {
    let (exec, gate) = gated(|ds| {
        for d in ds.iter_mut().filter(|d| *d.input() == 1) {
            d.yield_result(Bomb(true));
        }
        Ok(Some(MS))
    });
    let cancelled = submit_bomb(&exec, 1);
    let other = submit_bomb(&exec, 2);
    wait_for(|| exec.poll_count() == 1).await;
    // Cancelled while the poll that resolves it is in progress: its yield is dropped.
    assert!(cancelled.cancel());
    gate.notify_one();
    let r = timeout(LONG, other).await.expect("the other future is polled again");
    assert!(matches!(r, Ok(Bomb(false))));
    assert!(exec.is_polling() || exec.pending() == 0);
}

#[tokio::test(start_paused = true)]
async fn a_poll_error_whose_drop_panics_does_not_stop_polling() {
    let (exec, gate) = gated(|_| Err(Bomb(true)));
    let first = submit_bomb(&exec, 1);
    wait_for(|| exec.poll_count() == 1).await;
    // Registered during the failing call: not part of it.
    let later = submit_bomb(&exec, 2);
    wait_for(|| exec.pending() == 2).await;
    gate.notify_one();
    let r = timeout(LONG, first).await.expect("the failed call's future resolves");
    assert!(matches!(r, Err(Error::Job(Bomb(false)))), "{r:?}");
    let r = timeout(LONG, later).await.expect("the later future is polled");
    assert!(matches!(r, Ok(Bomb(false))), "{r:?}");
}

/// An input whose `Drop` panics when armed.
#[derive(Debug)]
struct Input {
    id: u32,
    _bomb: Bomb,
}

#[tokio::test(start_paused = true)]
async fn an_input_whose_drop_panics_in_the_poll_task_does_not_stop_polling() {
    let (poller, gate) =
        Gated::new(|_: &mut [PollDescriptor<Input, u32, String>]| Ok(Some(MS)), |d| d.input().id);
    let exec = AsyncExecutor::new().with_poll(PollLayer::with_poller(poller).first_poll_delay(MS));
    let cancelled = exec.submit(|| async { Ok::<_, String>(Input { id: 1, _bomb: Bomb(true) }) });
    let other = exec.submit(|| async { Ok::<_, String>(Input { id: 2, _bomb: Bomb(false) }) });
    wait_for(|| exec.poll_count() == 1).await;
    // The poll in progress now holds the last reference to the cancelled future's input.
    assert!(cancelled.cancel());
    gate.notify_one();
    let r = timeout(LONG, other).await.expect("the other future is polled again");
    assert_eq!(r, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn a_poll_panic_whose_payload_panics_in_drop_still_fails_the_futures_of_the_call() {
    let exec = failing_once::<String>(|| std::panic::panic_any(Bomb(true)));
    let h = exec.submit(|| async { Ok::<u32, String>(1) });
    let r = timeout(LONG, h).await.expect("the handle resolves");
    assert!(matches!(&r, Err(e) if e.is_panicked()), "{r:?}");
    let next = exec.submit(|| async { Ok::<u32, String>(2) });
    assert_eq!(timeout(LONG, next).await.expect("polling goes on"), Ok(2));
}
