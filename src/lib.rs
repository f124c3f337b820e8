//! Composable executors and futures for tokio (facade crate).
#![forbid(unsafe_code)]
pub use more_executors_core::*;
