//! `capture_thread_events` sees its thread's events even when another thread, with no
//! subscriber, reached the callsite first (with a plain `set_default`, that thread's
//! registration caches the callsite as "never" and the capture stays empty).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use more_executors_test_support::capture_thread_events;
use tracing::subscriber::{Interest, Subscriber};
use tracing::{Event, Metadata, span};

/// Counts the events it receives.
#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl Subscriber for Count {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, _: &Event<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn emit() {
    tracing::debug!("the event under test");
}

#[test]
fn a_callsite_first_reached_by_a_thread_without_subscriber_still_reaches_the_capture() {
    let count = Count::default();
    let _guard = capture_thread_events(count.clone());
    std::thread::spawn(emit).join().unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 0, "the other thread's event is not captured here");
    emit();
    emit();
    assert_eq!(count.0.load(Ordering::SeqCst), 2, "both of this thread's events were captured");
}
