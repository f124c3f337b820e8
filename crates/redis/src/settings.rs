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

impl CommonSettings {
    /// The first setting out of range, in the order result TTL, read block.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.result_ttl < Duration::from_millis(1) {
            return Err(ConfigError::new(
                "result TTL",
                "must be at least 1 ms (results would vanish at once)",
            ));
        }
        if self.block < Duration::from_millis(10) {
            return Err(ConfigError::new("read block", "must be at least 10 ms, else the reader spins"));
        }
        Ok(())
    }
}
