//! Background jobs in a web server, with graceful shutdown.
//!
//! An axum server on 127.0.0.1 (a free port) with a job scheduler (limit 8):
//! - `POST /jobs` spawns a slow background job and returns its id;
//! - `GET /jobs` lists the active and pending jobs;
//! - `POST /orders` is *atomic*: the handler runs as a job, so the order is stored even if
//!   the client disconnects midway;
//! - `GET /orders` lists the stored orders.
//!
//! The program drives itself with an HTTP client, prints what it sees, then shuts the
//! server down gracefully and prints the scheduler's close report.
//!
//! Run with `cargo run --example web_jobs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::handler::Handler;
use axum::routing::post;
use axum::{Extension, Json, Router};
use more_executors::jobs::web::{self, AtomicLayer};
use more_executors::jobs::{CancellationToken, JobInfo, Scheduler};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Orders(Arc<Mutex<Vec<String>>>);

/// `POST /jobs`: spawns a job that works for a second (stopping early when cancelled).
async fn spawn_job(scheduler: Scheduler) -> Json<Value> {
    let token = CancellationToken::new();
    let stop = token.clone();
    let job = scheduler
        .job()
        .name("report")
        .token(token)
        .spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => Ok::<_, String>(()),
                _ = stop.cancelled() => Err("stopped before finishing".to_string()),
            }
        })
        .await;
    match job {
        Ok(job) => Json(json!({ "id": job.id(), "state": format!("{:?}", job.state()) })),
        Err(closed) => Json(json!({ "error": closed.to_string() })),
    }
}

fn describe(j: &JobInfo) -> Value {
    json!({ "id": j.id, "name": &*j.name, "state": format!("{:?}", j.state) })
}

/// `GET /jobs`: the scheduler's jobs, active first, then pending in queue order.
async fn list_jobs(scheduler: Scheduler) -> Json<Value> {
    let jobs = scheduler.jobs();
    Json(json!({
        "active": scheduler.active_count(),
        "pending": scheduler.pending_count(),
        "jobs": jobs.iter().map(describe).collect::<Vec<_>>(),
    }))
}

/// `POST /orders`: a slow write that must land even if the client hangs up.
async fn create_order(State(orders): State<Orders>, body: String) -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await; // the database write
    orders.0.lock().unwrap().push(body);
    "stored"
}

async fn list_orders(State(orders): State<Orders>) -> Json<Vec<String>> {
    Json(orders.0.lock().unwrap().clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scheduler = Scheduler::builder()
        .name("web")
        .limit(8)
        .wait_timeout(Duration::from_millis(500)) // how long shutdown lets jobs finish
        .build()?;
    let orders = Orders::default();
    let app = Router::new()
        .route("/jobs", post(spawn_job).get(list_jobs))
        .route("/orders", post(create_order.layer(AtomicLayer::new(scheduler.clone()))).get(list_orders))
        .layer(Extension(scheduler.clone()))
        .with_state(orders);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("server listening on {base}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, app, scheduler.clone(), async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();

    // 1. Ten slow jobs: eight run, two wait in the queue.
    let mut ids = Vec::new();
    for _ in 0..10 {
        let v: Value = client.post(format!("{base}/jobs")).send().await?.json().await?;
        ids.push(format!("{}:{}", v["id"], v["state"].as_str().unwrap_or("?")));
    }
    println!("POST /jobs x10 -> {}", ids.join(" "));

    // 2. What the scheduler holds now.
    let v: Value = client.get(format!("{base}/jobs")).send().await?.json().await?;
    println!("GET /jobs -> {} active, {} pending", v["active"], v["pending"]);
    for j in v["jobs"].as_array().into_iter().flatten() {
        println!("    job {:>2} {:<8} {}", j["id"], j["state"].as_str().unwrap_or("?"), j["name"]);
    }

    // 3. An order whose client gives up after 50 ms, long before the 300 ms write.
    let attempt = client
        .post(format!("{base}/orders"))
        .body("order #1: 3 blue widgets")
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    match attempt {
        Ok(resp) => println!("POST /orders -> {} (the client was patient after all)", resp.status()),
        Err(e) => println!("POST /orders -> client disconnected midway (timed out: {})", e.is_timeout()),
    }
    // The handler runs as a job of the same scheduler, so it waited for a free slot
    // behind the report jobs; poll until it has landed.
    let asked = tokio::time::Instant::now();
    let mut stored: Vec<String> = Vec::new();
    while stored.is_empty() && asked.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stored = client.get(format!("{base}/orders")).send().await?.json().await?;
    }
    println!(
        "GET /orders -> {stored:?} (landed anyway, {:.1} s after the client left: it queued behind the jobs)",
        asked.elapsed().as_secs_f64()
    );

    // 4. Graceful shutdown: stop accepting, finish requests, let jobs finish, then close.
    println!("shutting down: waiting up to {:?} for jobs", scheduler.wait_timeout());
    let _ = stop.send(());
    let report = server.await??;
    println!("close report: {report}");
    println!("scheduler closed: {}", scheduler.is_closed());
    Ok(())
}
