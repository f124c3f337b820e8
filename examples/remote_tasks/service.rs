//! An embedded HTTP task service with the API of the poll layer's user story.
//!
//! - `POST /object/{id}/publish` starts a task: `{"task_id": N}`
//! - `GET /tasks/{id}`: `{"task_id": N, "state": "in-progress" | "finished" | "error" | "cancelled", "error": ".."}`
//! - `DELETE /tasks/{id}`: cancels a task in progress (`200`); `409` once it has ended; `404` if unknown
//! - `POST /tasks/search` with `{"task_id": [..]}`: the states of those tasks
//!
//! Tasks end after a random delay; a few end in `error`. The service counts the requests it
//! receives per endpoint, and the DELETE requests per task.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// How the embedded service behaves.
#[derive(Debug, Clone)]
pub(crate) struct ServiceConfig {
    /// Each task ends between `min_delay` and `max_delay` after it was published.
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    /// The share of tasks that end in `error`.
    pub(crate) error_rate: f64,
    /// Seed of the service's random choices.
    pub(crate) seed: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            error_rate: 0.03,
            seed: 7,
        }
    }
}

/// A task's status, as the API reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct TaskStatus {
    pub(crate) task_id: u64,
    pub(crate) state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// The body of `POST /tasks/search`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Search {
    pub(crate) task_id: Vec<u64>,
}

/// The body returned by `POST /object/{id}/publish`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Published {
    pub(crate) task_id: u64,
}

/// Requests received, per endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) publish: u64,
    pub(crate) get: u64,
    pub(crate) delete: u64,
    pub(crate) search: u64,
}

/// How the service's tasks ended (or not yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) in_progress: usize,
    pub(crate) finished: usize,
    pub(crate) error: usize,
    pub(crate) cancelled: usize,
}

struct Task {
    object_id: u64,
    ends_at: Instant,
    /// `Some(message)` if the task ends in error.
    fails_with: Option<String>,
    cancelled: bool,
}

impl Task {
    fn status(&self, task_id: u64, now: Instant) -> TaskStatus {
        let (state, error) = if self.cancelled {
            ("cancelled", None)
        } else if now < self.ends_at {
            ("in-progress", None)
        } else if let Some(e) = &self.fails_with {
            ("error", Some(e.clone()))
        } else {
            ("finished", None)
        };
        TaskStatus { task_id, state: state.to_string(), error }
    }
}

struct AppState {
    config: ServiceConfig,
    tasks: Mutex<HashMap<u64, Task>>,
    rng: Mutex<StdRng>,
    next_id: AtomicU64,
    publish: AtomicU64,
    get: AtomicU64,
    delete: AtomicU64,
    search: AtomicU64,
    deletes_per_task: Mutex<HashMap<u64, u32>>,
}

/// The running service; stops when dropped.
pub(crate) struct TaskService {
    state: Arc<AppState>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TaskService {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The error message of a task that fails.
pub(crate) fn failure_message(object_id: u64) -> String {
    format!("publishing object {object_id} failed: storage quota exceeded")
}

impl TaskService {
    /// Starts the service on `127.0.0.1` with a free port.
    pub(crate) async fn start(config: ServiceConfig) -> std::io::Result<TaskService> {
        let state = Arc::new(AppState {
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            config,
            tasks: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1000),
            publish: AtomicU64::new(0),
            get: AtomicU64::new(0),
            delete: AtomicU64::new(0),
            search: AtomicU64::new(0),
            deletes_per_task: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/object/{id}/publish", post(publish))
            .route("/tasks/{id}", get(get_task).delete(delete_task))
            .route("/tasks/search", post(search))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("task service stopped: {e}");
            }
        });
        Ok(TaskService { state, addr, server })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far, per endpoint.
    pub(crate) fn counters(&self) -> Counters {
        let s = &self.state;
        Counters {
            publish: s.publish.load(Relaxed),
            get: s.get.load(Relaxed),
            delete: s.delete.load(Relaxed),
            search: s.search.load(Relaxed),
        }
    }

    /// How many DELETE requests named `task_id`.
    pub(crate) fn deletes_for(&self, task_id: u64) -> u32 {
        self.state.deletes_per_task.lock().unwrap().get(&task_id).copied().unwrap_or(0)
    }

    /// The current status of a task.
    pub(crate) fn status(&self, task_id: u64) -> Option<TaskStatus> {
        let tasks = self.state.tasks.lock().unwrap();
        tasks.get(&task_id).map(|t| t.status(task_id, Instant::now()))
    }

    /// The object a task publishes.
    pub(crate) fn object_of(&self, task_id: u64) -> Option<u64> {
        self.state.tasks.lock().unwrap().get(&task_id).map(|t| t.object_id)
    }

    /// How the tasks stand now.
    pub(crate) fn totals(&self) -> Totals {
        let now = Instant::now();
        let mut totals = Totals::default();
        for (id, t) in self.state.tasks.lock().unwrap().iter() {
            match t.status(*id, now).state.as_str() {
                "in-progress" => totals.in_progress += 1,
                "finished" => totals.finished += 1,
                "error" => totals.error += 1,
                _ => totals.cancelled += 1,
            }
        }
        totals
    }
}

async fn publish(State(s): State<Arc<AppState>>, Path(object_id): Path<u64>) -> Json<Published> {
    s.publish.fetch_add(1, Relaxed);
    let (delay, fails) = {
        let mut rng = s.rng.lock().unwrap();
        let span = s.config.max_delay.saturating_sub(s.config.min_delay);
        let delay = s.config.min_delay + span.mul_f64(rng.random::<f64>());
        (delay, rng.random_bool(s.config.error_rate.clamp(0.0, 1.0)))
    };
    let task_id = s.next_id.fetch_add(1, Relaxed);
    let task = Task {
        object_id,
        ends_at: Instant::now() + delay,
        fails_with: fails.then(|| failure_message(object_id)),
        cancelled: false,
    };
    s.tasks.lock().unwrap().insert(task_id, task);
    Json(Published { task_id })
}

async fn get_task(
    State(s): State<Arc<AppState>>,
    Path(task_id): Path<u64>,
) -> Result<Json<TaskStatus>, StatusCode> {
    s.get.fetch_add(1, Relaxed);
    let tasks = s.tasks.lock().unwrap();
    let task = tasks.get(&task_id).ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(task.status(task_id, Instant::now())))
}

async fn delete_task(
    State(s): State<Arc<AppState>>,
    Path(task_id): Path<u64>,
) -> Result<Json<TaskStatus>, StatusCode> {
    s.delete.fetch_add(1, Relaxed);
    *s.deletes_per_task.lock().unwrap().entry(task_id).or_default() += 1;
    let mut tasks = s.tasks.lock().unwrap();
    let task = tasks.get_mut(&task_id).ok_or(StatusCode::NOT_FOUND)?;
    let now = Instant::now();
    match task.status(task_id, now).state.as_str() {
        "in-progress" | "cancelled" => {
            task.cancelled = true;
            Ok(Json(task.status(task_id, now)))
        }
        // Too late: the task has ended.
        _ => Err(StatusCode::CONFLICT),
    }
}

async fn search(State(s): State<Arc<AppState>>, Json(query): Json<Search>) -> Json<Vec<TaskStatus>> {
    s.search.fetch_add(1, Relaxed);
    let now = Instant::now();
    let tasks = s.tasks.lock().unwrap();
    let found = query.task_id.iter().filter_map(|id| tasks.get(id).map(|t| t.status(*id, now))).collect();
    Json(found)
}
