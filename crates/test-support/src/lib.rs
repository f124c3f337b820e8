//! Helpers shared by the test suites of the more-executors workspace.
//!
//! Only test code depends on this crate (as a dev-dependency); it is never published.
//! It depends on no crate of the workspace, so the types a test checks are always those of
//! the crate under test.
//!
//! - [`Concurrency`]: how many job bodies run at once, and the peak.
//! - [`PollCounted`]: how many times a future is polled.
//! - [`quiet_expected_panics`]: keeps panics provoked on purpose out of the test output.
//! - [`proptest_cases`]: how many cases a property test runs.
//! - [`settle`]: lets woken tasks run without letting (paused) time pass.
//! - [`thread_count`] and [`this_thread`]: the process's threads, from Linux `/proc`.
//! - [`capture_thread_events`]: a test's `tracing` subscriber that misses no event of its
//!   thread while other tests run in parallel.
#![forbid(unsafe_code)]

mod concurrency;
mod panics;
mod poll_counted;
mod proptest_cases;
mod settle;
mod threads;
mod tracing_capture;

pub use concurrency::{Concurrency, Running};
pub use panics::{EXPECTED_PANIC_MARKER, quiet_expected_panics};
pub use poll_counted::PollCounted;
pub use proptest_cases::proptest_cases;
pub use settle::settle;
pub use threads::{this_thread, thread_count};
pub use tracing_capture::capture_thread_events;
