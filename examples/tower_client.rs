//! A reqwest client written as a tower `Service`, under this project's retry, timeout and
//! concurrency limit, with tower's own rate limit and timeout on top, against an embedded
//! flaky server.
//!
//! The server (axum, on 127.0.0.1 with a free port) answers `GET /items/{id}` with JSON,
//! but fails about 30 % of requests with a 503 and stalls about 10 % of them. The stack,
//! outermost first:
//!
//! ```text
//! tower timeout(10 s)                   the whole call, as a tower Service
//!  └ tower rate_limit(40 per second)    requests admitted to the stack
//!     └ ExecutorService                 .into_service(): ready when the limit has a slot
//!        └ concurrency_limit(8)         at most 8 jobs in flight
//!           └ retry(50 ms base, 4 attempts)
//!              └ timeout(300 ms)        per attempt
//!                 └ ServiceExecutor     the reqwest client as the base executor
//! ```
//!
//! Each call waits on `ready()` first, so the rate limit and the concurrency limit hold calls
//! back instead of queueing them. Results print as they complete, then a summary.
//!
//! Run with `cargo run --example tower_client`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use more_executors::prelude::*;
use more_executors::retry::ExponentialBackoff;
use more_executors::service::ServiceExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tower::{Service, ServiceBuilder, ServiceExt};

const ITEMS: u32 = 60;

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: u32,
    name: String,
}

/// The server: flaky on purpose, deterministic (seeded), counting requests.
#[derive(Clone)]
struct Flaky {
    rng: Arc<std::sync::Mutex<StdRng>>,
    requests: Arc<AtomicUsize>,
}

async fn item(State(flaky): State<Flaky>, Path(id): Path<u32>) -> Response {
    flaky.requests.fetch_add(1, Ordering::Relaxed);
    let roll: f64 = flaky.rng.lock().unwrap().random();
    if roll < 0.3 {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy, try again").into_response();
    }
    if roll < 0.4 {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    Json(Item { id, name: format!("item-{id}") }).into_response()
}

async fn start_server() -> std::io::Result<(SocketAddr, Arc<AtomicUsize>)> {
    let requests = Arc::new(AtomicUsize::new(0));
    let flaky =
        Flaky { rng: Arc::new(std::sync::Mutex::new(StdRng::seed_from_u64(7))), requests: requests.clone() };
    let app = axum::Router::new().route("/items/{id}", axum::routing::get(item)).with_state(flaky);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, requests))
}

/// The client, as any tower user would write it: a `Service` from an item id to the item.
#[derive(Clone)]
struct ItemClient {
    http: reqwest::Client,
    base: String,
}

impl Service<u32> for ItemClient {
    type Response = Item;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Item, reqwest::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, id: u32) -> Self::Future {
        let request = self.http.get(format!("{}/items/{id}", self.base));
        Box::pin(async move { request.send().await?.error_for_status()?.json::<Item>().await })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (addr, requests) = start_server().await?;
    println!("flaky server on http://{addr}; fetching {ITEMS} items\n");

    let client = ItemClient { http: reqwest::Client::new(), base: format!("http://{addr}") };
    let policy = ExponentialBackoff::builder().max_attempts(4).sleep(Duration::from_millis(50)).build()?;
    let stack = ServiceExecutor::builder(client)
        .name("items")
        .build()
        .with_timeout(Duration::from_millis(300))?
        .with_retry(policy)
        .with_concurrency_limit(8)?;
    let mut svc = ServiceBuilder::new()
        .timeout(Duration::from_secs(10))
        .rate_limit(40, Duration::from_secs(1))
        .service(stack.into_service());

    let started = Instant::now();
    let (mut ok, mut failed, mut timed_out) = (0, 0, 0);
    let mut pending = FuturesUnordered::new();
    let mut next = 1;
    loop {
        tokio::select! {
            // Wait until the rate limit and the concurrency limit admit one more call.
            ready = svc.ready(), if next <= ITEMS => {
                let id = next;
                let call = ready?.call(id);
                pending.push(async move { (id, call.await) });
                next += 1;
            }
            Some((id, result)) = pending.next() => match result {
                Ok(item) => {
                    ok += 1;
                    println!("[{id:>2}] ok         {}", item.name);
                }
                Err(e) => match e.downcast::<Error<reqwest::Error>>().map(|e| *e) {
                    Ok(Error::TimedOut(d)) => {
                        timed_out += 1;
                        println!("[{id:>2}] timed out  last attempt got no answer within {d:?}");
                    }
                    Ok(other) => {
                        failed += 1;
                        println!("[{id:>2}] failed     {other}");
                    }
                    Err(tower_error) => {
                        failed += 1;
                        println!("[{id:>2}] failed     {tower_error}");
                    }
                },
            },
            else => break,
        }
    }
    println!(
        "\nsummary: {ok} succeeded, {failed} failed after retries, {timed_out} timed out, {} requests served, in {:.1?}",
        requests.load(Ordering::Relaxed),
        started.elapsed()
    );
    Ok(())
}
