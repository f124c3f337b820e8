//! Keeping panics that tests provoke on purpose out of the test output.

use std::sync::Once;

/// The text that marks a panic as provoked on purpose: [`quiet_expected_panics`] hides
/// panics whose message contains it.
///
/// ```
/// assert_eq!(more_executors_test_support::EXPECTED_PANIC_MARKER, "boom");
/// ```
pub const EXPECTED_PANIC_MARKER: &str = "boom";

/// Replaces the process's panic hook, once, with one that prints nothing for panics whose
/// message contains [`EXPECTED_PANIC_MARKER`] and hands every other panic to the hook that
/// was installed before, so real failures stay visible.
///
/// Only the printing changes: a panic still unwinds and is still caught (or fails the test)
/// as before. Calling it again does nothing.
///
/// ```
/// use more_executors_test_support::quiet_expected_panics;
///
/// quiet_expected_panics();
/// let caught = std::panic::catch_unwind(|| panic!("boom: provoked on purpose"));
/// assert!(caught.is_err());
/// ```
pub fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !msg.contains(EXPECTED_PANIC_MARKER) {
                default(info);
            }
        }));
    });
}
