//! The client side: publish requests through a concurrency limit, then one poll executor
//! tracking every task with one search request per tick, and DELETE as its cancel function.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use more_executors::limit::ConcurrencyLimit;
use more_executors::poll::{PollBuilderExt, PollDescriptor, PollExecutor, PollLayer, Poller, async_trait};
use more_executors::prelude::*;

use crate::service::{Published, Search, TaskStatus};

/// A task the service is running for us (the publish job's output, the poll's input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Task {
    pub(crate) task_id: u64,
    pub(crate) object_id: u64,
}

/// A task that finished (what a handle resolves to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Finished {
    pub(crate) task_id: u64,
    pub(crate) object_id: u64,
}

/// Why a handle failed. `Clone` because one failed search fails every task of that poll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TaskError {
    /// The service ran the task and reported an error.
    #[error("task {task_id} failed: {message}")]
    Failed { task_id: u64, message: String },
    /// Someone else cancelled the task on the service.
    #[error("task {0} was cancelled on the service")]
    CancelledRemotely(u64),
    /// A request failed (connection refused, HTTP 5xx, bad JSON, ...).
    #[error("request to the task service failed: {0}")]
    Http(String),
}

fn http(e: reqwest::Error) -> TaskError {
    TaskError::Http(e.to_string())
}

/// A client of the task service, shared by the publish jobs, the poller and the cancel
/// function. It counts what it does.
#[derive(Debug)]
pub(crate) struct TaskClient {
    http: reqwest::Client,
    base: String,
    /// Search requests sent (one per poll tick).
    pub(crate) searches: AtomicU64,
    /// DELETE requests sent, per task.
    deletes: Mutex<HashMap<u64, u32>>,
    /// Objects whose task has been in at least one poll.
    polled: Mutex<HashSet<u64>>,
    /// object id -> task id, for every publish that succeeded.
    published: Mutex<HashMap<u64, u64>>,
}

impl TaskClient {
    pub(crate) fn new(base: impl Into<String>) -> Arc<TaskClient> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client without TLS always builds");
        Arc::new(TaskClient {
            http,
            base: base.into().trim_end_matches('/').to_string(),
            searches: AtomicU64::new(0),
            deletes: Mutex::default(),
            polled: Mutex::default(),
            published: Mutex::default(),
        })
    }

    /// `POST /object/{id}/publish`.
    pub(crate) async fn publish(&self, object_id: u64) -> Result<Task, TaskError> {
        let url = format!("{}/object/{object_id}/publish", self.base);
        let resp = self.http.post(url).send().await.map_err(http)?.error_for_status().map_err(http)?;
        let Published { task_id } = resp.json().await.map_err(http)?;
        self.published.lock().unwrap().insert(object_id, task_id);
        Ok(Task { task_id, object_id })
    }

    /// `POST /tasks/search`: the states of many tasks in one request.
    pub(crate) async fn search(&self, task_ids: Vec<u64>) -> Result<Vec<TaskStatus>, TaskError> {
        self.searches.fetch_add(1, Relaxed);
        let url = format!("{}/tasks/search", self.base);
        let resp = self
            .http
            .post(url)
            .json(&Search { task_id: task_ids })
            .send()
            .await
            .map_err(http)?
            .error_for_status()
            .map_err(http)?;
        resp.json().await.map_err(http)
    }

    /// `DELETE /tasks/{id}`: true if the service cancelled the task, false if it had
    /// already ended (409).
    pub(crate) async fn delete(&self, task_id: u64) -> Result<bool, TaskError> {
        *self.deletes.lock().unwrap().entry(task_id).or_default() += 1;
        let url = format!("{}/tasks/{task_id}", self.base);
        let resp = self.http.delete(url).send().await.map_err(http)?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            reqwest::StatusCode::CONFLICT => Ok(false),
            s => Err(TaskError::Http(format!("DELETE /tasks/{task_id} returned {s}"))),
        }
    }

    /// True once the task of `object_id` has been in a poll (it is, or was, in the poll set).
    pub(crate) fn was_polled(&self, object_id: u64) -> bool {
        self.polled.lock().unwrap().contains(&object_id)
    }

    /// DELETE requests this client sent for `task_id`.
    pub(crate) fn deletes_sent(&self, task_id: u64) -> u32 {
        self.deletes.lock().unwrap().get(&task_id).copied().unwrap_or(0)
    }

    /// The task id the service gave `object_id`'s publish.
    pub(crate) fn task_of(&self, object_id: u64) -> Option<u64> {
        self.published.lock().unwrap().get(&object_id).copied()
    }

    /// How many publishes succeeded (tasks tracked by the poll executor).
    pub(crate) fn tracked(&self) -> usize {
        self.published.lock().unwrap().len()
    }
}

/// The poll function: one search request for every pending task.
pub(crate) struct SearchPoller(pub Arc<TaskClient>);

#[async_trait]
impl Poller<Task, Finished, TaskError> for SearchPoller {
    async fn poll(
        &self,
        descriptors: &mut [PollDescriptor<Task, Finished, TaskError>],
    ) -> Result<Option<Duration>, TaskError> {
        {
            let mut polled = self.0.polled.lock().unwrap();
            polled.extend(descriptors.iter().map(|d| d.input().object_id));
        }
        let ids = descriptors.iter().map(|d| d.input().task_id).collect();
        // If the request fails, every task of this poll fails with its error.
        let states = self.0.search(ids).await?;
        let states: HashMap<u64, TaskStatus> = states.into_iter().map(|s| (s.task_id, s)).collect();
        for d in descriptors.iter_mut() {
            let Task { task_id, object_id } = *d.input();
            let Some(status) = states.get(&task_id) else { continue };
            match status.state.as_str() {
                "finished" => {
                    d.yield_result(Finished { task_id, object_id });
                }
                "error" => {
                    let message = status.error.clone().unwrap_or_else(|| "unknown error".into());
                    d.yield_error(TaskError::Failed { task_id, message });
                }
                "cancelled" => {
                    d.yield_error(TaskError::CancelledRemotely(task_id));
                }
                _ => {} // still in progress: ask again next tick
            }
        }
        Ok(None) // the default interval
    }
}

/// The executor stack of the example.
pub(crate) type TaskExecutor = PollExecutor<ConcurrencyLimit<AsyncExecutor>, Task, Finished, TaskError>;

/// Builds the stack: async base, at most `publish_limit` publish requests in flight, then
/// the poll layer (search per tick, DELETE on cancel).
pub(crate) fn task_executor(
    client: &Arc<TaskClient>,
    publish_limit: usize,
    poll_interval: Duration,
) -> Result<TaskExecutor, ConfigError> {
    let deleter = client.clone();
    let poll = PollLayer::with_poller(SearchPoller(client.clone()))
        .async_cancel_fn(move |task: &Task| {
            let (client, task_id) = (deleter.clone(), task.task_id);
            async move { client.delete(task_id).await }
        })
        .default_interval(poll_interval)?
        .first_poll_delay(poll_interval / 2)
        .name("remote-tasks");
    Ok(ExecutorBuilder::new()
        .poll(poll)
        .concurrency_limit(publish_limit)?
        .build(AsyncExecutor::builder().name("publish").build()))
}
