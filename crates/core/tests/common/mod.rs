//! Helpers shared by the core integration tests: a job error type and a panic assertion, gates to hold jobs still,
//! drop flags and a counter. Helpers shared with other crates' tests (the concurrency
//! tracker, panic-hook silencing) are in `more-executors-test-support`.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};

use more_executors_core::Error;

/// A job's own error type, to check that it survives every layer intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MyErr {
    NotFound,
    Code(u32),
}

impl std::fmt::Display for MyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MyErr::NotFound => f.write_str("not found"),
            MyErr::Code(c) => write!(f, "code {c}"),
        }
    }
}

impl std::error::Error for MyErr {}

/// Asserts that `r` is a panic error whose message contains `expected`.
pub fn assert_panicked<T: std::fmt::Debug>(r: Result<T, Error<MyErr>>, expected: &str) {
    match r {
        Err(Error::Panicked(msg)) => assert!(msg.contains(expected), "message {msg:?} lacks {expected:?}"),
        other => panic!("expected a panic error, got {other:?}"),
    }
}

/// A one-way gate for blocking code (threads): `wait` blocks until `open`.
#[derive(Clone, Default)]
pub struct Latch(Arc<(Mutex<bool>, Condvar)>);

impl Latch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }
    pub fn wait(&self) {
        let mut open = self.0.0.lock().unwrap();
        while !*open {
            open = self.0.1.wait(open).unwrap();
        }
    }
    pub fn is_open(&self) -> bool {
        *self.0.0.lock().unwrap()
    }
}

/// A one-way gate for async code: `wait().await` resolves once `open` was called.
#[derive(Clone)]
pub struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Gate {
    fn default() -> Self {
        Gate(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn open(&self) {
        self.0.send_replace(true);
    }
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        rx.wait_for(|open| *open).await.expect("sender lives in self");
    }
}

/// Sets its flag when dropped: proves a job's future was dropped (cancelled).
pub struct DropFlag(pub Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// A counter shared with jobs.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn inc(&self) -> usize {
        self.0.fetch_add(1, SeqCst)
    }
    pub fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}
