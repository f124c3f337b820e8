//! Tracing output: a span per job, and the default error handler's event.
//!
//! One test in its own binary: tracing's per-thread subscribers race with callsite
//! registration when tests run in parallel threads.

use std::sync::{Arc, Mutex};

use more_executors_jobs::Scheduler;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn spans_and_events() {
    spans_per_job().await;
    default_handler_event().await;
}

async fn spans_per_job() {
    let spans = Spans::default();
    let sub = tracing_subscriber::registry().with(spans.clone());
    let _guard = more_executors_test_support::capture_thread_events(sub);
    let s = Scheduler::builder().name("mailer").build().unwrap();
    let j = s
        .job()
        .name("welcome")
        .spawn(async {
            tracing::info!("sending");
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    j.await.unwrap();
    let j = s.spawn_blocking(|| Ok::<_, String>(())).await.unwrap();
    j.await.unwrap();
    let seen = spans.0.lock().unwrap().clone();
    let job_spans: Vec<_> = seen.iter().filter(|s| s.starts_with("job ")).collect();
    assert_eq!(job_spans.len(), 2, "{seen:?}");
    assert!(job_spans[0].contains("scheduler=mailer"), "{seen:?}");
    assert!(job_spans[0].contains("job_id=1") && job_spans[0].contains("job_name=welcome"), "{seen:?}");
    assert!(job_spans[1].contains("kind=blocking job"), "{seen:?}");
    assert!(seen.contains(&"event in job".to_string()), "the job's own events are inside its span: {seen:?}");
}

async fn default_handler_event() {
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let sub = tracing_subscriber::registry().with(Capture(events.clone()));
    let _guard = more_executors_test_support::capture_thread_events(sub);
    let s = Scheduler::builder().build().unwrap();
    drop(s.job().name("mailer").spawn(async { Err::<(), _>("smtp down") }).await.unwrap());
    s.idle().await;
    let events = events.lock().unwrap().clone();
    let ev = events.iter().find(|e| e.contains("nobody was waiting")).expect("an error event");
    for needle in ["ERROR", "job_id=1", "job_name=mailer", "smtp down", "tracing.rs"] {
        assert!(ev.contains(needle), "{needle} missing in {ev}");
    }
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

impl<S> tracing_subscriber::Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.push_str(&format!(" {}={}", field.name(), value));
            }
        }
        let mut v = V(attrs.metadata().name().to_string());
        attrs.record(&mut v);
        self.0.lock().unwrap().push(v.0);
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(scope) = ctx.event_scope(event) {
            let names: Vec<_> = scope.map(|s| s.name().to_string()).collect();
            self.0.lock().unwrap().push(format!("event in {}", names.join("/")));
        }
    }
}

struct Capture(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.push_str(&format!(" {}={}", field.name(), value));
            }
        }
        let mut v = V(event.metadata().level().to_string());
        event.record(&mut v);
        self.0.lock().unwrap().push(v.0);
    }
}
