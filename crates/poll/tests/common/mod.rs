//! Helpers shared by the poll crate's tests.
#![allow(dead_code, unreachable_pub)]

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use more_executors_core::prelude::*;
use more_executors_poll::{PollDescriptor, PollExecutor, PollExt, PollLayer};
use tokio::time::Instant;

pub type D = PollDescriptor<u32, String, String>;
pub type Exec = PollExecutor<AsyncExecutor, u32, String, String>;

/// One poll call as the poll function saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub at: Instant,
    pub inputs: Vec<u32>,
}

/// Records every call of a poll function.
#[derive(Default, Debug)]
pub struct Recorder {
    calls: Mutex<Vec<Call>>,
}

impl Recorder {
    pub fn record(&self, ds: &[D]) -> usize {
        let mut inputs: Vec<u32> = ds.iter().map(|d| *d.input()).collect();
        inputs.sort_unstable();
        let mut calls = self.calls.lock().unwrap();
        calls.push(Call { at: Instant::now(), inputs });
        calls.len() - 1
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

/// A layer whose poll function records its calls, then runs `f(call_index, descriptors)`.
pub fn recording_layer(
    rec: &Arc<Recorder>,
    mut f: impl FnMut(usize, &mut [D]) -> Result<Option<Duration>, String> + Send + 'static,
) -> PollLayer<u32, String, String> {
    let rec = rec.clone();
    PollLayer::new(move |ds: &mut [D]| {
        let i = rec.record(ds);
        f(i, ds)
    })
}

/// Resolves every descriptor with `done-{id}`.
pub fn resolve_all(ds: &mut [D]) {
    for d in ds.iter_mut() {
        let id = *d.input();
        d.yield_result(format!("done-{id}"));
    }
}

/// A poll executor whose first poll call ends as `first` says (an error, or a panic) and
/// whose later calls resolve every descriptor with its input; it polls 1 ms after a
/// submission.
pub fn failing_once<E>(first: fn() -> E) -> PollExecutor<AsyncExecutor, u32, u32, E>
where
    E: fmt::Debug + Clone + Send + Sync + 'static,
{
    let calls = AtomicUsize::new(0);
    AsyncExecutor::new().with_poll(
        PollLayer::new(move |ds: &mut [PollDescriptor<u32, u32, E>]| {
            if calls.fetch_add(1, SeqCst) == 0 {
                return Err(first());
            }
            for d in ds.iter_mut() {
                let v = *d.input();
                d.yield_result(v);
            }
            Ok(None)
        })
        .first_poll_delay(Duration::from_millis(1)),
    )
}

pub fn exec(layer: PollLayer<u32, String, String>) -> Exec {
    AsyncExecutor::new().with_poll(layer)
}

/// Submits a job whose inner stage returns `id` at once.
pub fn submit(exec: &Exec, id: u32) -> Handle<String, String> {
    exec.submit(move || async move { Ok::<u32, String>(id) })
}

/// Lets spawned tasks run until `cond` holds (no time passes).
pub async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition not reached");
}

/// Lets time pass in 1 ms steps until `cond` holds.
pub async fn wait_for(mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("condition not reached");
}

/// Captures `tracing` output of the current thread.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        more_executors_test_support::capture_thread_events(sub)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
