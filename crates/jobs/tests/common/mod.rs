//! Helpers shared by the jobs crate's tests: a recording error handler and jobs that
//! finish on demand or never.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::{Arc, Mutex};

use more_executors_jobs::{FailureCause, JobFailure, Scheduler, SchedulerBuilder};
use tokio::sync::oneshot;

/// One failure as the error handler saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub id: u64,
    pub name: String,
    pub message: String,
    pub panic: bool,
    pub late: bool,
    pub line: u32,
    pub cause: FailureCause,
}

/// An error handler that records what it receives.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    pub fn handler(&self) -> impl Fn(&JobFailure<'_>) + Send + Sync + 'static {
        let seen = self.0.clone();
        move |f| {
            seen.lock().unwrap().push(Seen {
                id: f.id(),
                name: f.name().to_owned(),
                message: f.message(),
                panic: f.is_panic(),
                late: f.is_late(),
                line: f.location().line(),
                cause: f.cause(),
            })
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    pub fn messages(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.message).collect()
    }
}

/// A scheduler with a recording error handler.
pub fn scheduler(builder: SchedulerBuilder) -> (Scheduler, Recorder) {
    let rec = Recorder::default();
    (builder.error_handler(rec.handler()).build().unwrap(), rec)
}

/// A job that finishes with whatever is sent to it (a dropped sender: `Err("dropped")`).
pub fn gated<T: Send + 'static>()
-> (impl Future<Output = Result<T, String>> + Send + 'static, oneshot::Sender<Result<T, String>>) {
    let (tx, rx) = oneshot::channel();
    (async move { rx.await.unwrap_or_else(|_| Err("dropped".to_string())) }, tx)
}

pub fn forever() -> impl Future<Output = Result<(), String>> + Send + 'static {
    std::future::pending()
}
