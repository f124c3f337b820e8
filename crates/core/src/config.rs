//! Validation of configuration values, shared by every crate of the project.

use std::time::Duration;

/// A configuration value was rejected when an executor, layer or policy was built.
///
/// The message names the setting, what was wrong and what is accepted, for example
/// `invalid concurrency limit: 0 would never let a job start; use a limit of at least 1`.
///
/// ```
/// use more_executors_core::{BlockingPool, ConfigError};
///
/// let err: ConfigError = BlockingPool::new(0).unwrap_err();
/// assert_eq!(err.setting(), "thread count");
/// assert!(err.to_string().contains("at least 1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting}: {problem}")]
pub struct ConfigError {
    setting: &'static str,
    problem: String,
}

impl ConfigError {
    /// A rejected `setting`, with `problem` saying what is wrong and what to use instead.
    pub fn new(setting: &'static str, problem: impl Into<String>) -> Self {
        ConfigError { setting, problem: problem.into() }
    }

    /// The name of the rejected setting.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

/// Converts seconds given as a float to a [`Duration`], rejecting NaN, infinite and
/// negative values instead of panicking (as `Duration::from_secs_f64` would).
///
/// ```
/// use more_executors_core::config::secs_f64;
///
/// assert_eq!(secs_f64("poll interval", 1.5).unwrap().as_millis(), 1500);
/// assert!(secs_f64("poll interval", f64::NAN).is_err());
/// assert!(secs_f64("poll interval", -1.0).is_err());
/// ```
pub fn secs_f64(setting: &'static str, secs: f64) -> Result<Duration, ConfigError> {
    if secs.is_nan() {
        return Err(ConfigError::new(setting, "NaN is not a duration; give a number of seconds >= 0"));
    }
    if secs < 0.0 {
        return Err(ConfigError::new(
            setting,
            format!("{secs} s is negative; give a number of seconds >= 0"),
        ));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|_| ConfigError::new(setting, format!("{secs} s is too large to be a duration")))
}

/// Rejects a zero count.
///
/// ```
/// use more_executors_core::config::nonzero;
/// assert_eq!(nonzero("concurrency limit", 3), Ok(3));
/// assert!(nonzero("concurrency limit", 0).is_err());
/// ```
pub fn nonzero(setting: &'static str, n: usize) -> Result<usize, ConfigError> {
    if n == 0 {
        Err(ConfigError::new(setting, "0 would never let anything run; use at least 1"))
    } else {
        Ok(n)
    }
}

/// Rejects a zero duration (for intervals that would otherwise spin).
///
/// ```
/// use std::time::Duration;
/// use more_executors_core::config::nonzero_duration;
/// assert!(nonzero_duration("poll interval", Duration::ZERO).is_err());
/// ```
pub fn nonzero_duration(setting: &'static str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::new(setting, "a zero interval would busy-loop; use a positive duration"))
    } else {
        Ok(d)
    }
}

/// The name of an executor nobody named.
pub(crate) const DEFAULT_NAME: &str = "default";

/// [`DEFAULT_NAME`], shared.
pub(crate) fn default_name() -> std::sync::Arc<str> {
    std::sync::Arc::from(DEFAULT_NAME)
}
