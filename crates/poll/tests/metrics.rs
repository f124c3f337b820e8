//! Poll metrics (feature `metrics`).
#![cfg(feature = "metrics")]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use more_executors_core::prelude::*;
use more_executors_poll::{PollExt, PollLayer, Poller};

/// Takes 1 s per call; the first call fails.
struct OneSecond(AtomicUsize);

#[more_executors_poll::async_trait]
impl Poller<u32, String, String> for OneSecond {
    async fn poll(&self, ds: &mut [D]) -> Result<Option<Duration>, String> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if self.0.fetch_add(1, SeqCst) == 0 {
            return Err("down".into());
        }
        resolve_all(ds);
        Ok(None)
    }
}

#[tokio::test(start_paused = true)]
async fn poll_calls_errors_and_time_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let exec = metrics::with_local_recorder(&recorder, || {
        AsyncExecutor::new().with_poll(PollLayer::with_poller(OneSecond(AtomicUsize::new(0))).name("m-poll"))
    });
    assert!(submit(&exec, 1).await.is_err());
    assert_eq!(submit(&exec, 2).await.unwrap(), "done-2");

    let values: HashMap<String, DebugValue> = snap
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, ..)| k.key().labels().any(|l| l.key() == "executor" && l.value() == "m-poll"))
        .map(|(k, _, _, v)| (k.key().name().to_string(), v))
        .collect();
    assert_eq!(values["more_executors_poll_total"], DebugValue::Counter(2));
    assert_eq!(values["more_executors_poll_error_total"], DebugValue::Counter(1));
    assert_eq!(values["more_executors_poll_time_total"], DebugValue::Gauge(2.0.into()));
}
