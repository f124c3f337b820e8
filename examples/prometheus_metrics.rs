//! Runs a small workload through a stack with every layer, then prints the metrics in the
//! Prometheus text format, or serves them on `127.0.0.1:PORT/metrics` with `--serve`.
//!
//! ```sh
//! cargo run --example prometheus_metrics --features metrics
//! cargo run --example prometheus_metrics --features metrics -- --serve 9898
//! ```
//!
//! The stack (outermost first): map, cancel on shutdown, timeout, retry, poll, concurrency
//! limit, over an async executor named `demo`. Jobs "start a remote task" and return its
//! id; the poll function finishes tasks in batches, failing some once (they are retried).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use more_executors::poll::{PollBuilderExt, PollDescriptor, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, RetryBuilderExt};
use more_executors::timeout::TimeoutBuilderExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Install the recorder before building executors: metric handles are registered then.
    let prometheus = PrometheusBuilder::new().install_recorder()?;

    // Each task fails its first status check when its id is a multiple of 5.
    let sightings: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
    let seen = sightings.clone();
    let poll = PollLayer::new(move |ds: &mut [PollDescriptor<u32, String, String>]| {
        let mut seen = seen.lock().unwrap();
        for d in ds.iter_mut() {
            let id = *d.input();
            let n = seen.entry(id).or_default();
            *n += 1;
            if id % 5 == 0 && *n == 1 {
                d.yield_error(format!("task {id} failed (transient)"));
            } else {
                d.yield_result(format!("task {id} done"));
            }
        }
        Ok(Some(Duration::from_millis(20)))
    })
    .first_poll_delay(Duration::from_millis(5));

    let policy = ExponentialBackoff::builder().max_attempts(3).sleep(Duration::from_millis(10)).build()?;
    let exec = ExecutorBuilder::new()
        .map(|s: String| s.to_uppercase())
        .cancel_on_shutdown()
        .timeout(Duration::from_secs(5))?
        .retry(policy)
        .poll(poll)
        .concurrency_limit(8)?
        .build(AsyncExecutor::builder().name("demo").build());

    let handles: Vec<_> = (1..=40u32)
        .map(|id| {
            exec.submit(move || async move {
                tokio::time::sleep(Duration::from_millis(u64::from(id % 7))).await;
                Ok::<_, String>(id)
            })
        })
        .collect();
    // Cancel a couple on purpose.
    handles[38].cancel();
    handles[39].cancel();

    let (mut ok, mut failed, mut cancelled) = (0, 0, 0);
    for h in handles {
        match h.await {
            Ok(_) => ok += 1,
            Err(e) if e.is_cancelled() => cancelled += 1,
            Err(_) => failed += 1,
        }
    }
    exec.shutdown();
    eprintln!("workload: {ok} ok, {failed} failed, {cancelled} cancelled");

    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--serve") {
        let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!("serving http://{}/metrics (Ctrl-C to stop)", listener.local_addr()?);
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let p = prometheus.clone();
                async move { p.render() }
            }),
        );
        axum::serve(listener, app).await?;
    } else {
        print!("{}", prometheus.render());
    }
    Ok(())
}
