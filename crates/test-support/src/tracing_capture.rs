//! [`capture_thread_events`]: a thread-local `tracing` subscriber that sees every event of
//! its thread, whatever the other tests of the binary do.
//!
//! `tracing` decides once per callsite, process-wide, whether any subscriber is interested
//! in it, and the first thread to reach the callsite decides. A test that installs a
//! capturing subscriber with `set_default` loses the events of a callsite that a parallel
//! test (with no subscriber) reached first: that callsite was cached as "never". The helper
//! installs, once per process, a global subscriber that records nothing but answers
//! "sometimes" for every callsite, so no callsite is cached as "never" and each event asks
//! the subscriber of the thread that emits it.

use std::sync::Once;

use tracing::level_filters::LevelFilter;
use tracing::subscriber::{DefaultGuard, Interest, Subscriber};
use tracing::{Event, Metadata, span};

/// The process-wide subscriber: interested in every callsite "sometimes", enabled for none.
struct Undecided;

impl Subscriber for Undecided {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        // Never called: `enabled` is false for every span.
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Installs `subscriber` as the current thread's default, like
/// `tracing::subscriber::set_default`, such that it receives every event and span the thread
/// emits even while other tests of the same binary run without a subscriber.
///
/// The first call sets a global default subscriber that records nothing (a test binary that
/// sets its own global default keeps it, and the helper then only sets the thread's
/// default).
pub fn capture_thread_events<S>(subscriber: S) -> DefaultGuard
where
    S: Subscriber + Send + Sync + 'static,
{
    static UNDECIDED: Once = Once::new();
    UNDECIDED.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Undecided);
    });
    let guard = tracing::subscriber::set_default(subscriber);
    // Callsites cached before the global subscriber existed are decided again.
    tracing::callsite::rebuild_interest_cache();
    guard
}
