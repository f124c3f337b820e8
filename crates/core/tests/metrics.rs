//! Exact metric values after known workloads (feature `metrics`).
#![cfg(feature = "metrics")]

use std::collections::HashMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use more_executors_core::prelude::*;

type Values = HashMap<(String, Vec<(String, String)>), DebugValue>;

/// Totals since the recorder was created. The debugging recorder's snapshots are deltas
/// (each snapshot resets what it reports), so they are accumulated here; every gauge of the
/// library moves by increments and decrements, so adding deltas gives its value.
#[derive(Default)]
struct Totals(Values);

impl Totals {
    fn update(&mut self, snap: &Snapshotter) -> &Values {
        for (ck, _, _, v) in snap.snapshot().into_vec() {
            let key = ck.key();
            let mut labels: Vec<_> =
                key.labels().map(|l| (l.key().to_string(), l.value().to_string())).collect();
            labels.sort();
            let slot = self.0.entry((key.name().to_string(), labels));
            match v {
                DebugValue::Counter(c) => {
                    let e = slot.or_insert(DebugValue::Counter(0));
                    if let DebugValue::Counter(t) = e {
                        *t += c;
                    }
                }
                DebugValue::Gauge(g) => {
                    let e = slot.or_insert(DebugValue::Gauge(0.0.into()));
                    if let DebugValue::Gauge(t) = e {
                        *t = (t.into_inner() + g.into_inner()).into();
                    }
                }
                other => {
                    slot.insert_entry(other);
                }
            }
        }
        &self.0
    }
}

fn get(map: &Values, name: &str, labels: &[(&str, &str)]) -> DebugValue {
    let mut l: Vec<_> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    l.sort();
    match map.get(&(name.to_string(), l.clone())) {
        Some(DebugValue::Counter(c)) => DebugValue::Counter(*c),
        Some(DebugValue::Gauge(g)) => DebugValue::Gauge(*g),
        Some(other) => panic!("unexpected {other:?}"),
        None => panic!("metric {name} {l:?} not recorded; have {:?}", map.keys().collect::<Vec<_>>()),
    }
}

fn counter(v: DebugValue) -> u64 {
    match v {
        DebugValue::Counter(c) => c,
        other => panic!("not a counter: {other:?}"),
    }
}

fn gauge(v: DebugValue) -> f64 {
    match v {
        DebugValue::Gauge(g) => g.into_inner(),
        other => panic!("not a gauge: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn job_counters_match_a_known_workload() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    // Handles are registered when the stack is built, so the recorder only needs to be
    // current while building it.
    let exec = metrics::with_local_recorder(&recorder, || {
        AsyncExecutor::builder().name("m1").build().with_concurrency_limit(3).unwrap()
    });

    let mut handles = Vec::new();
    for i in 0..10u32 {
        handles.push(exec.submit(move || async move {
            tokio::time::sleep(Duration::from_millis(10 * u64::from(i))).await;
            if i < 2 { Err("boom") } else { Ok(i) }
        }));
    }
    // Cancel the last (still queued) job.
    assert!(handles[9].cancel());
    let mut totals = Totals::default();
    let during = totals.update(&snap);
    assert!(gauge(get(during, "more_executors_throttle_queue", &[("executor", "m1")])) > 0.0);

    let mut ok = 0;
    for h in handles {
        if h.await.is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 7);
    // The driver task records its outcome as it ends; let it run.
    tokio::task::yield_now().await;

    let m = totals.update(&snap);
    let lbl = [("type", "async"), ("executor", "m1")];
    assert_eq!(counter(get(m, "more_executors_future_total", &lbl)), 10);
    assert_eq!(counter(get(m, "more_executors_future_error_total", &lbl)), 2);
    assert_eq!(counter(get(m, "more_executors_future_cancel_total", &lbl)), 1);
    assert_eq!(gauge(get(m, "more_executors_future_inprogress", &lbl)), 0.0);
    assert!(gauge(get(m, "more_executors_future_time_total", &lbl)) >= 0.0);
    assert_eq!(counter(get(m, "more_executors_exec_total", &lbl)), 1);
    assert_eq!(gauge(get(m, "more_executors_exec_inprogress", &lbl)), 1.0);
    assert_eq!(gauge(get(m, "more_executors_throttle_queue", &[("executor", "m1")])), 0.0);

    exec.shutdown();
    let m = totals.update(&snap);
    assert_eq!(gauge(get(m, "more_executors_exec_inprogress", &lbl)), 0.0);
}

#[tokio::test]
async fn shutdown_cancel_total_counts_cancelled_jobs() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let exec = metrics::with_local_recorder(&recorder, || {
        AsyncExecutor::builder().name("m2").build().with_cancel_on_shutdown()
    });
    let handles: Vec<_> = (0..4).map(|_| exec.submit(std::future::pending::<Result<(), ()>>)).collect();
    metrics::with_local_recorder(&recorder, || exec.shutdown());
    for h in handles {
        assert!(h.await.unwrap_err().is_cancelled());
    }
    let mut totals = Totals::default();
    let m = totals.update(&snap);
    assert_eq!(counter(get(m, "more_executors_shutdown_cancel_total", &[("executor", "m2")])), 4);
}
