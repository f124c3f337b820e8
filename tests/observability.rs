//! Tracing events and metrics of a whole stack, captured and checked exactly.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use more_executors::poll::{PollDescriptor, PollLayer};
use more_executors::prelude::*;
use more_executors::retry::ExponentialBackoff;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// One captured event: its message and fields rendered as text.
#[derive(Debug, Clone)]
struct Captured {
    level: tracing::Level,
    message: String,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct Fields<'a>(&'a mut Captured);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.0.message = text;
        } else {
            self.0.fields.insert(field.name().to_string(), text);
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut c =
            Captured { level: *event.metadata().level(), message: String::new(), fields: BTreeMap::new() };
        event.record(&mut Fields(&mut c));
        self.0.lock().unwrap().push(c);
    }
}

impl Capture {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        more_executors_test_support::capture_thread_events(tracing_subscriber::registry().with(self.clone()))
    }

    fn named(&self, message: &str) -> Vec<Captured> {
        self.0.lock().unwrap().iter().filter(|c| c.message == message).cloned().collect()
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn retry_scheduled_events_carry_attempt_delay_and_error() {
    let capture = Capture::default();
    let _guard = capture.install();

    let policy = ExponentialBackoff::builder()
        .max_attempts(3)
        .sleep(Duration::from_secs(1))
        .exponent(2.0)
        .build()
        .unwrap();
    let exec = AsyncExecutor::new().with_retry(policy);
    let h = exec.submit(|| async { Err::<(), _>("flaky") });
    assert_eq!(h.await.unwrap_err().job_error(), Some(&"flaky"));

    let events = capture.named("retry scheduled");
    assert_eq!(events.len(), 2, "two retries after the first attempt: {events:#?}");
    assert_eq!(events[0].fields["attempt"], "1");
    assert_eq!(events[0].fields["delay"], "1s");
    assert_eq!(events[1].fields["attempt"], "2");
    assert_eq!(events[1].fields["delay"], "2s");
    assert!(events[0].fields["error"].contains("flaky"));
    assert!(events.iter().all(|e| e.level == tracing::Level::DEBUG));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn poll_tick_and_poll_failure_events() {
    let capture = Capture::default();
    let _guard = capture.install();

    let calls = Arc::new(Mutex::new(0u32));
    let c = calls.clone();
    let layer = PollLayer::new(move |ds: &mut [PollDescriptor<u32, u32, String>]| {
        let mut n = c.lock().unwrap();
        *n += 1;
        if *n == 1 {
            return Err("search endpoint down".to_string());
        }
        for d in ds.iter_mut() {
            let v = *d.input();
            d.yield_result(v * 10);
        }
        Ok(Some(Duration::from_millis(50)))
    })
    .first_poll_delay(Duration::from_millis(10));
    let exec = AsyncExecutor::new().with_poll(layer);

    let first: Vec<_> = (1..=3u32).map(|i| exec.submit(move || async move { Ok::<_, String>(i) })).collect();
    for h in first {
        assert_eq!(h.await.unwrap_err().job_error().map(String::as_str), Some("search endpoint down"));
    }
    let second: Vec<_> = (1..=2u32).map(|i| exec.submit(move || async move { Ok::<_, String>(i) })).collect();
    let mut values = Vec::new();
    for h in second {
        values.push(h.await.unwrap());
    }
    assert_eq!(values, [10, 20]);

    let failed: Vec<_> = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.level == tracing::Level::ERROR && e.message.contains("poll function"))
        .cloned()
        .collect();
    assert_eq!(failed.len(), 1, "one failed poll call: {failed:#?}");

    let ticks = capture.named("poll tick");
    assert!(!ticks.is_empty());
    let last = ticks.last().unwrap();
    assert_eq!(last.fields["batch"], "2");
    assert_eq!(last.fields["resolved"], "2");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn limit_queue_and_timeout_events() {
    let capture = Capture::default();
    let _guard = capture.install();

    let exec = ExecutorBuilder::new()
        .timeout(Duration::from_secs(1))
        .unwrap()
        .concurrency_limit(1)
        .unwrap()
        .build(AsyncExecutor::builder().name("obs").build());
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, ()>(())
    };
    let a = exec.submit(slow);
    let b = exec.submit(slow);
    assert!(a.await.unwrap_err().is_timed_out());
    assert!(b.await.unwrap_err().is_timed_out());

    let queued = capture.named("job queued by the concurrency limit");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].fields["executor"], "\"obs\"");
    assert_eq!(queued[0].fields["queue_len"], "1");
    assert_eq!(capture.named("job timed out").len(), 2);
}

#[cfg(feature = "metrics")]
mod metrics_of_a_stack {
    use std::collections::HashMap;

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    /// The debugging recorder reports deltas since its last snapshot; take exactly one.
    fn snapshot(recorder: &metrics_util::debugging::Snapshotter) -> HashMap<(String, String), f64> {
        recorder
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(ck, _, _, v)| {
                let key = ck.key();
                let labels: Vec<String> =
                    key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
                let value = match v {
                    DebugValue::Counter(c) => c as f64,
                    DebugValue::Gauge(g) => g.into_inner(),
                    DebugValue::Histogram(h) => h.len() as f64,
                };
                ((key.name().to_string(), labels.join(",")), value)
            })
            .collect()
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn ten_jobs_two_fail_one_cancelled_three_retried_once() {
        let recorder = DebuggingRecorder::new();
        let snap = recorder.snapshotter();
        let exec = metrics::with_local_recorder(&recorder, || {
            let policy = ExponentialBackoff::builder()
                .max_attempts(2)
                .sleep(Duration::from_millis(100))
                .build()
                .unwrap();
            ExecutorBuilder::new()
                .retry(policy)
                .concurrency_limit(4)
                .unwrap()
                .build(AsyncExecutor::builder().name("stack").build())
        });
        let attempts: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
        let mut handles = Vec::new();
        for i in 0..10u32 {
            let attempts = attempts.clone();
            handles.push(exec.submit(move || {
                let attempts = attempts.clone();
                async move {
                    let n = {
                        let mut a = attempts.lock().unwrap();
                        let n = a.entry(i).or_default();
                        *n += 1;
                        *n
                    };
                    match i {
                        // fail on both attempts: 2 failures, each retried once
                        0 | 1 => Err(format!("job {i} failed")),
                        // fail once, then succeed: 1 more retry
                        2 if n == 1 => Err("transient".to_string()),
                        // never finishes: cancelled below
                        9 => std::future::pending().await,
                        _ => Ok(i),
                    }
                }
            }));
        }
        assert!(handles[9].cancel());
        let mut ok = 0;
        let mut failed = 0;
        let mut cancelled = 0;
        for h in handles {
            match h.await {
                Ok(_) => ok += 1,
                Err(e) if e.is_cancelled() => cancelled += 1,
                Err(_) => failed += 1,
            }
        }
        assert_eq!((ok, failed, cancelled), (7, 2, 1));
        tokio::task::yield_now().await;

        let m = snapshot(&snap);
        let get = |name: &str, labels: &str| {
            *m.get(&(name.to_string(), labels.to_string()))
                .unwrap_or_else(|| panic!("{name}{{{labels}}} missing: {m:?}"))
        };
        let typed = "type=async,executor=stack";
        assert_eq!(get("more_executors_future_total", typed), 10.0);
        assert_eq!(get("more_executors_future_error_total", typed), 2.0);
        assert_eq!(get("more_executors_future_cancel_total", typed), 1.0);
        assert_eq!(get("more_executors_future_inprogress", typed), 0.0);
        assert_eq!(get("more_executors_retry_total", "executor=stack"), 3.0);
        assert!((get("more_executors_retry_delay_total", "executor=stack") - 0.3).abs() < 1e-9);
        assert_eq!(get("more_executors_retry_queue", "executor=stack"), 0.0);
        assert_eq!(get("more_executors_throttle_queue", "executor=stack"), 0.0);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn scheduler_jobs_metrics() {
        use more_executors::jobs::Scheduler;

        let recorder = DebuggingRecorder::new();
        let snap = recorder.snapshotter();
        let scheduler = metrics::with_local_recorder(&recorder, || {
            Scheduler::builder().name("bg").limit(2).build().unwrap()
        });
        let mut jobs = Vec::new();
        for i in 0..5u32 {
            let job = scheduler
                .spawn(async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    if i < 2 { Err(format!("job {i} failed")) } else { Ok(i) }
                })
                .await
                .unwrap();
            jobs.push(job);
        }
        let during = snapshot(&snap);
        let get = |m: &HashMap<(String, String), f64>, name: &str| {
            *m.get(&(name.to_string(), "scheduler=bg".to_string()))
                .unwrap_or_else(|| panic!("{name} missing: {m:?}"))
        };
        assert_eq!(get(&during, "more_executors_jobs_active"), 2.0);
        assert_eq!(get(&during, "more_executors_jobs_pending"), 3.0);
        assert_eq!(get(&during, "more_executors_jobs_total"), 5.0);

        let mut failed = 0;
        for job in jobs {
            if job.await.is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 2);
        let after = snapshot(&snap);
        assert_eq!(get(&after, "more_executors_jobs_failed_total"), 2.0);
        assert_eq!(get(&after, "more_executors_jobs_active"), 0.0);
        assert_eq!(get(&after, "more_executors_jobs_pending"), 0.0);
    }
}
