//! Calling a flaky HTTP API from a blocking thread pool, with retries and a deadline per
//! attempt.
//!
//! An embedded server (axum, on 127.0.0.1 with a free port) fails about 30 % of requests
//! with a 503 and stalls about 10 % of them for seconds. The client fetches 50 items with a
//! plain blocking HTTP/1.1 GET over `std::net::TcpStream`, through this stack (outermost
//! first):
//!
//! ```text
//! map(decode JSON)                      once per job, after the retries
//!  └ retry(default policy, 50 ms base)  3 attempts, 50 ms then 100 ms apart
//!     └ concurrency_limit(4)            one attempt per pool thread; attempts queue here
//!        └ timeout(300 ms)              per attempt, counted once the limit admits it
//!           └ BlockingPool(4)
//! ```
//!
//! The limit sits outside the timeout so time spent queued does not eat into an attempt's
//! 300 ms, and the timeout sits inside the retry so a stalled attempt is abandoned and
//! retried. Results print as they complete, then a summary.
//!
//! Run with `cargo run --example flaky_api`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryBuilderExt};
use more_executors::timeout::TimeoutBuilderExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

const ITEMS: u32 = 50;
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: u32,
    name: String,
    price_cents: u32,
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("malformed HTTP response")]
    Malformed,
}

// ---------------------------------------------------------------------------------------
// The flaky server.

async fn item(Path(id): Path<u32>, State(rng): State<Arc<Mutex<StdRng>>>) -> Response {
    let (roll, latency_ms) = {
        let mut rng = rng.lock().unwrap();
        (rng.random::<f64>(), rng.random_range(5..40))
    };
    if roll < 0.30 {
        let body = Json(serde_json::json!({ "error": "overloaded, try again" }));
        return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    }
    let delay = if roll < 0.40 { Duration::from_secs(3) } else { Duration::from_millis(latency_ms) };
    tokio::time::sleep(delay).await;
    Json(Item { id, name: format!("widget-{id}"), price_cents: 100 + id * 7 }).into_response()
}

async fn start_server() -> std::io::Result<SocketAddr> {
    let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(2024)));
    let app = axum::Router::new().route("/items/{id}", axum::routing::get(item)).with_state(rng);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

// ---------------------------------------------------------------------------------------
// The blocking client: one GET per call.

fn http_get(addr: SocketAddr, path: &str) -> Result<String, FetchError> {
    let mut stream = TcpStream::connect(addr)?;
    // A stalled attempt is abandoned by the timeout layer at 300 ms, but a blocking read
    // cannot be interrupted from outside: this frees the thread soon after.
    stream.set_read_timeout(Some(Duration::from_millis(400)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or(FetchError::Malformed)?;
    let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or(FetchError::Malformed)?;
    if status != 200 {
        return Err(FetchError::Status { status, body: body.trim().to_string() });
    }
    Ok(body.to_string())
}

// ---------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = start_server().await?;
    println!("flaky server on http://{addr}; fetching {ITEMS} items\n");

    let policy = ExponentialBackoff::builder().sleep(Duration::from_millis(50)).build()?;
    let exec = ExecutorBuilder::new()
        .map(|body: String| serde_json::from_str::<Item>(&body))
        .retry(policy)
        .concurrency_limit(4)?
        .timeout(ATTEMPT_TIMEOUT)?
        .build(BlockingPool::builder().threads(4).name("flaky-api").build()?);

    let attempts = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut pending: FuturesUnordered<_> = (1..=ITEMS)
        .map(|id| {
            let attempts = attempts.clone();
            let path = format!("/items/{id}");
            let handle = exec.submit(move || {
                attempts.fetch_add(1, Ordering::Relaxed);
                http_get(addr, &path)
            });
            async move { (id, handle.await) }
        })
        .collect();

    let (mut ok, mut failed, mut timed_out) = (0, 0, 0);
    while let Some((id, result)) = pending.next().await {
        match result {
            Ok(Ok(item)) => {
                ok += 1;
                println!(
                    "[{id:>2}] ok         {} at ${}.{:02}",
                    item.name,
                    item.price_cents / 100,
                    item.price_cents % 100
                );
            }
            Ok(Err(decode)) => {
                failed += 1;
                println!("[{id:>2}] bad JSON   {decode}");
            }
            Err(Error::TimedOut(d)) => {
                timed_out += 1;
                println!("[{id:>2}] timed out  last attempt got no answer within {d:?}");
            }
            Err(e) => {
                failed += 1;
                println!("[{id:>2}] failed     {e}");
            }
        }
    }
    exec.shutdown();

    println!(
        "\nsummary: {ok} succeeded, {failed} failed after retries, {timed_out} timed out, {} total attempts, in {:.1?}",
        attempts.load(Ordering::Relaxed),
        started.elapsed()
    );
    Ok(())
}
