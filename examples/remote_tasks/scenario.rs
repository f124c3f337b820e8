//! The scenario: publish N objects, track every task, cancel a few on purpose, and
//! consume the results in completion order.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures::StreamExt;
use more_executors::combinators::as_completed;
use more_executors::prelude::*;

use crate::client::{Finished, TaskClient, TaskError, task_executor};

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) tasks: usize,
    pub(crate) service_url: String,
    pub(crate) publish_limit: usize,
    pub(crate) poll_interval: Duration,
    /// Every `cancel_every`-th object is cancelled once its task is being polled.
    pub(crate) cancel_every: usize,
}

impl Options {
    pub(crate) fn new(tasks: usize, service_url: String) -> Options {
        Options {
            tasks,
            service_url,
            publish_limit: 16,
            poll_interval: Duration::from_millis(150),
            cancel_every: 50,
        }
    }
}

/// Live counts, for a progress display.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) total: AtomicUsize,
    pub(crate) finished: AtomicUsize,
    pub(crate) failed: AtomicUsize,
    pub(crate) cancelled: AtomicUsize,
}

impl Progress {
    pub(crate) fn resolved(&self) -> usize {
        self.finished.load(Relaxed) + self.failed.load(Relaxed) + self.cancelled.load(Relaxed)
    }
}

/// What happened.
#[derive(Debug)]
pub(crate) struct Report {
    /// One entry per object, in object order: `None` if its handle never resolved.
    pub(crate) results: Vec<Option<Result<Finished, Error<TaskError>>>>,
    /// Objects whose handle the stream yielded more than once (must be empty).
    pub(crate) duplicates: Vec<usize>,
    pub(crate) finished: usize,
    pub(crate) failed: usize,
    pub(crate) cancelled: usize,
    /// Cancels asked for / accepted (the rest came too late: the task had ended).
    pub(crate) cancel_requests: usize,
    pub(crate) cancels_accepted: Vec<u64>,
    /// Search requests sent (one per poll tick) and poll calls made.
    pub(crate) searches: u64,
    pub(crate) polls: u64,
    /// Tasks the poll executor tracked (successful publishes).
    pub(crate) tracked: usize,
    pub(crate) wall: Duration,
    pub(crate) client: Arc<TaskClient>,
}

impl Report {
    /// Problems that make the run a failure (empty when all is well).
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let unresolved = self.results.iter().filter(|r| r.is_none()).count();
        if unresolved > 0 {
            p.push(format!("{unresolved} handles never resolved"));
        }
        if !self.duplicates.is_empty() {
            p.push(format!("handles resolved twice: {:?}", self.duplicates));
        }
        let sum = self.finished + self.failed + self.cancelled;
        if sum != self.results.len() {
            p.push(format!("finished + failed + cancelled = {sum}, expected {}", self.results.len()));
        }
        if self.cancelled != self.cancels_accepted.len() {
            p.push(format!(
                "{} handles cancelled but {} cancels accepted",
                self.cancelled,
                self.cancels_accepted.len()
            ));
        }
        if self.searches != self.polls {
            p.push(format!("{} search requests for {} polls (expected one each)", self.searches, self.polls));
        }
        p
    }
}

/// Runs the scenario against the service at `opts.service_url`.
pub(crate) async fn run(opts: &Options, progress: &Arc<Progress>) -> Result<Report, ConfigError> {
    let started = Instant::now();
    let client = TaskClient::new(opts.service_url.clone());
    let exec = task_executor(&client, opts.publish_limit, opts.poll_interval)?;
    progress.total.store(opts.tasks, Relaxed);

    let handles: Vec<_> = (0..opts.tasks as u64)
        .map(|object_id| {
            let client = client.clone();
            exec.submit(move || async move { client.publish(object_id).await })
        })
        .collect();

    // Cancel a few on purpose, once their task is in the poll set (so the cancel function
    // decides, and sends a DELETE).
    let done: Arc<Vec<AtomicBool>> = Arc::new((0..opts.tasks).map(|_| AtomicBool::new(false)).collect());
    let cancellers: Vec<_> = (0..opts.tasks)
        .filter(|i| opts.cancel_every > 0 && i % opts.cancel_every == opts.cancel_every / 2)
        .map(|i| {
            let (canceller, client, done) = (handles[i].canceller(), client.clone(), done.clone());
            tokio::spawn(async move {
                loop {
                    if done[i].load(Relaxed) {
                        return None; // ended before it was polled: nothing to cancel
                    }
                    if client.was_polled(i as u64) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let accepted = canceller.cancel_async().await;
                Some((i, accepted))
            })
        })
        .collect();

    // Consume the results as they complete.
    let mut results: Vec<Option<Result<Finished, Error<TaskError>>>> =
        (0..opts.tasks).map(|_| None).collect();
    let mut duplicates = Vec::new();
    let mut stream = as_completed(handles);
    while let Some((i, result)) = stream.next().await {
        let counter = match &result {
            Ok(_) => &progress.finished,
            Err(e) if e.is_cancelled() => &progress.cancelled,
            Err(_) => &progress.failed,
        };
        counter.fetch_add(1, Relaxed);
        done[i].store(true, Relaxed);
        if results[i].replace(result).is_some() {
            duplicates.push(i);
        }
    }

    let mut cancel_requests = 0;
    let mut cancels_accepted = Vec::new();
    for c in cancellers {
        if let Ok(Some((i, accepted))) = c.await {
            cancel_requests += 1;
            if accepted {
                cancels_accepted.push(i as u64);
            }
        }
    }
    let polls = exec.poll_count();
    exec.shutdown();
    let count = |f: fn(&Result<Finished, Error<TaskError>>) -> bool| {
        results.iter().flatten().filter(|r| f(r)).count()
    };
    Ok(Report {
        finished: count(|r| r.is_ok()),
        failed: count(|r| r.as_ref().is_err_and(|e| !e.is_cancelled())),
        cancelled: count(|r| r.as_ref().is_err_and(|e| e.is_cancelled())),
        results,
        duplicates,
        cancel_requests,
        cancels_accepted,
        searches: client.searches.load(Relaxed),
        polls,
        tracked: client.tracked(),
        wall: started.elapsed(),
        client,
    })
}

/// Failed results grouped by error message kind, for the summary.
pub(crate) fn failures_by_kind(report: &Report) -> HashMap<&'static str, usize> {
    let mut kinds = HashMap::new();
    for r in report.results.iter().flatten() {
        let kind = match r {
            Err(Error::Job(TaskError::Failed { .. })) => "task error",
            Err(Error::Job(TaskError::CancelledRemotely(_))) => "cancelled on the service",
            Err(Error::Job(TaskError::Http(_))) => "request failed",
            Err(e) if e.is_cancelled() => continue,
            Err(_) => "other",
            Ok(_) => continue,
        };
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}
