//! [`CommonSettings`]: the settings a client and a worker both have, their defaults and
//! their checks, written once for both builders.

use std::time::Duration;

use more_executors_core::ConfigError;

/// Settings of both a client and a worker (give a queue's clients and workers the same
/// result TTL).
#[derive(Debug, Clone)]
pub(crate) struct CommonSettings {
    /// How long outcomes and reply lists stay in Redis.
    pub(crate) result_ttl: Duration,
    /// How long one blocking read waits in Redis when there is nothing to read.
    pub(crate) block: Duration,
}

impl Default for CommonSettings {
    fn default() -> Self {
        CommonSettings { result_ttl: Duration::from_secs(24 * 3600), block: Duration::from_secs(1) }
    }
}

/// The longest result TTL or visibility timeout: ten years. Redis keeps expiry times and
/// idle times in milliseconds, and a longer duration would not fit the commands' arguments.
pub(crate) const LONGEST: Duration = Duration::from_secs(10 * 365 * 86_400);

/// The longest blocking read: an hour (a read that blocks longer only delays noticing a
/// lost connection).
const LONGEST_BLOCK: Duration = Duration::from_secs(3600);

impl CommonSettings {
    /// The first setting out of range, in the order result TTL, read block.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.result_ttl < Duration::from_millis(1) {
            return Err(ConfigError::new(
                "result TTL",
                "must be at least 1 ms (results would vanish at once)",
            ));
        }
        if self.result_ttl > LONGEST {
            return Err(ConfigError::new(
                "result TTL",
                "must be at most 10 years (Redis keeps expiry times in milliseconds); give a shorter TTL",
            ));
        }
        if self.block < Duration::from_millis(10) {
            return Err(ConfigError::new("read block", "must be at least 10 ms, else the reader spins"));
        }
        if self.block > LONGEST_BLOCK {
            return Err(ConfigError::new(
                "read block",
                "must be at most an hour (a longer block only delays noticing a lost connection)",
            ));
        }
        Ok(())
    }
}
