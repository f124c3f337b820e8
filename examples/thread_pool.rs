//! A blocking thread pool from plain synchronous code: 100 slow calls, results printed in
//! the order they complete.
//!
//! The stack (outermost first):
//!
//! ```text
//! map(summarise the response)   runs once per successful call
//!  └ concurrency_limit(3)       at most 3 calls on the pool at once; the rest queue, FIFO
//!     └ BlockingPool(4)         4 named OS threads
//! ```
//!
//! Each simulated call sleeps a few milliseconds on a pool thread and about one in nine
//! fails. `as_completed(..).blocking_iter()` yields `(index, result)` as calls finish, so
//! fast calls are reported before slow ones submitted earlier. There is no `async`
//! anywhere: the library runs its own small runtime in the background.
//!
//! Run with `cargo run --example thread_pool`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use more_executors::combinators::as_completed;
use more_executors::prelude::*;

const THREADS: usize = 4;
const LIMIT: usize = 3;
const CALLS: u32 = 100;

/// What the simulated remote service answers.
struct Response {
    id: u32,
    bytes: usize,
    latency: Duration,
}

/// A failed call: the job's own error type, matched without parsing strings.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("request {0}: service unavailable (503), try again later")]
    Unavailable(u32),
}

/// Counts calls running right now and remembers the highest count seen.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Gauge {
    fn enter(&self) -> GaugeGuard {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        GaugeGuard(self.now.clone())
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

struct GaugeGuard(Arc<AtomicUsize>);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A slow blocking call: 2 to 14 ms of "network", and every ninth request fails.
fn slow_call(id: u32, gauge: &Gauge) -> Result<Response, CallError> {
    let _running = gauge.enter();
    let latency = Duration::from_millis(2 + u64::from(id * 7919 % 13));
    std::thread::sleep(latency);
    if id % 9 == 4 {
        return Err(CallError::Unavailable(id));
    }
    Ok(Response { id, bytes: 512 + (id as usize * 37) % 4096, latency })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gauge = Gauge::default();
    let pool = BlockingPool::builder().threads(THREADS).thread_name("caller").name("calls").build()?;
    let exec = ExecutorBuilder::new()
        .map(|r: Response| {
            format!("response {:>3}: {:>4} bytes in {:>2} ms", r.id, r.bytes, r.latency.as_millis())
        })
        .concurrency_limit(LIMIT)?
        .build(pool);

    let started = Instant::now();
    // Submitting never blocks: 100 handles come back at once, 3 calls start, 97 queue.
    let handles: Vec<_> = (0..CALLS)
        .map(|id| {
            let gauge = gauge.clone();
            exec.submit(move || slow_call(id, &gauge))
        })
        .collect();

    let (mut ok, mut failed) = (0, 0);
    for (index, result) in as_completed(handles).blocking_iter() {
        match result {
            Ok(summary) => {
                ok += 1;
                println!("call {index:>3} ok      {summary}");
            }
            Err(Error::Job(CallError::Unavailable(id))) => {
                failed += 1;
                println!("call {index:>3} failed  request {id} was refused by the service");
            }
            Err(other) => {
                failed += 1;
                println!("call {index:>3} failed  {other}");
            }
        }
    }
    let wall = started.elapsed();

    println!(
        "summary: {CALLS} calls, {ok} ok, {failed} failed, wall time {:.0} ms, peak concurrency {} \
         (limit {LIMIT}, {THREADS} threads)",
        wall.as_secs_f64() * 1000.0,
        gauge.peak(),
    );
    exec.shutdown();
    Ok(())
}
