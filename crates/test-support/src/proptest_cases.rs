//! How many cases a property test runs.

/// The number of cases a property test runs: the `PROPTEST_CASES` environment variable when
/// it is set to a number, `default` otherwise.
///
/// `proptest` reads the same variable for its own default; this lets a suite choose a
/// different default while a longer run can still be asked for from the command line.
///
/// ```
/// use more_executors_test_support::proptest_cases;
///
/// let cases = proptest_cases(1_000);
/// match std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse::<u32>().ok()) {
///     Some(n) => assert_eq!(cases, n),
///     None => assert_eq!(cases, 1_000),
/// }
/// ```
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}
