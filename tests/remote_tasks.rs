//! The `remote_tasks` example's scenario, run small against its embedded service.

#[path = "../examples/remote_tasks/client.rs"]
mod client;
#[path = "../examples/remote_tasks/scenario.rs"]
mod scenario;
#[path = "../examples/remote_tasks/service.rs"]
mod service;

use std::sync::Arc;
use std::time::Duration;

use client::TaskError;
use more_executors::Error;
use scenario::{Options, Progress};
use service::{ServiceConfig, TaskService, failure_message};

const TASKS: usize = 80;

fn small_service() -> ServiceConfig {
    ServiceConfig {
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(250),
        error_rate: 0.1,
        seed: 42,
    }
}

fn options(url: String) -> Options {
    Options {
        tasks: TASKS,
        service_url: url,
        publish_limit: 16,
        poll_interval: Duration::from_millis(50),
        cancel_every: 10,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_resolves_every_handle_once_with_one_search_per_tick() {
    let service = TaskService::start(small_service()).await.unwrap();
    let opts = options(service.url());
    let progress = Arc::new(Progress::default());
    let report = scenario::run(&opts, &progress).await.unwrap();

    // Every handle resolved exactly once, and the counts add up.
    assert!(report.results.iter().all(Option::is_some), "unresolved handles");
    assert!(report.duplicates.is_empty(), "{:?}", report.duplicates);
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(progress.resolved(), TASKS);
    assert_eq!(report.tracked, TASKS);

    // One search request per tick, not per task.
    let counters = service.counters();
    assert_eq!(counters.publish, TASKS as u64);
    assert_eq!(counters.get, 0);
    assert_eq!(counters.search, report.searches);
    assert_eq!(report.searches, report.polls, "exactly one search request per poll");
    assert!(report.searches >= 1);
    assert!(
        report.searches * 2 <= TASKS as u64,
        "{} searches for {TASKS} tasks: polling must follow ticks, not tasks",
        report.searches
    );
    // A poll starts at most every first-poll delay (half the interval) on average.
    let max_ticks = report.wall.as_secs_f64() / (opts.poll_interval.as_secs_f64() / 2.0) + 2.0;
    assert!((report.searches as f64) <= max_ticks, "{} searches in {:?}", report.searches, report.wall);

    // Every cancelled handle caused exactly one DELETE, and every DELETE came from a cancel.
    assert!(!report.cancels_accepted.is_empty(), "the scenario cancels a few tasks");
    assert_eq!(counters.delete, report.cancel_requests as u64);
    for &object in &report.cancels_accepted {
        let task = report.client.task_of(object).unwrap();
        assert_eq!(service.deletes_for(task), 1, "task {task}");
        assert_eq!(service.status(task).unwrap().state, "cancelled");
        let result = report.results[object as usize].as_ref().unwrap();
        assert_eq!(result, &Err(Error::Cancelled));
    }
    assert_eq!(report.cancelled, report.cancels_accepted.len());

    // Failed tasks give the task's own error.
    let mut task_errors = 0;
    for (object, result) in report.results.iter().enumerate() {
        match result.as_ref().unwrap() {
            Ok(done) => {
                assert_eq!(done.object_id, object as u64);
                assert_eq!(service.status(done.task_id).unwrap().state, "finished");
            }
            Err(Error::Job(TaskError::Failed { task_id, message })) => {
                task_errors += 1;
                assert_eq!(message, &failure_message(object as u64));
                let status = service.status(*task_id).unwrap();
                assert_eq!(status.state, "error");
                assert_eq!(status.error.as_ref(), Some(message));
            }
            // A DELETE racing with a search that already reports it cancelled.
            Err(Error::Job(TaskError::CancelledRemotely(task_id))) => {
                assert_eq!(service.deletes_for(*task_id), 1);
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => panic!("object {object}: unexpected error {e:?}"),
        }
    }
    assert!(task_errors >= 1, "the service fails a few tasks");
    assert_eq!(task_errors, service.totals().error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_failures_fail_their_handles_without_any_poll() {
    // A service that is gone: every publish request fails.
    let url = TaskService::start(small_service()).await.unwrap().url();
    let mut opts = options(url);
    opts.tasks = 20;
    let progress = Arc::new(Progress::default());
    let report = scenario::run(&opts, &progress).await.unwrap();
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(report.failed, 20);
    assert_eq!((report.polls, report.searches, report.tracked), (0, 0, 0));
    for r in &report.results {
        let err = r.as_ref().unwrap().as_ref().unwrap_err();
        assert!(matches!(err, Error::Job(TaskError::Http(_))), "{err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_over_the_poll_layer_deletes_the_remote_task() {
    use more_executors::prelude::*;
    use more_executors::timeout::TimeoutExt;

    // Tasks that would run for a minute.
    let slow = ServiceConfig {
        min_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(61),
        error_rate: 0.0,
        seed: 1,
    };
    let service = TaskService::start(slow).await.unwrap();
    let client = client::TaskClient::new(service.url());
    let exec = client::task_executor(&client, 16, Duration::from_millis(50))
        .unwrap()
        .with_timeout(Duration::from_millis(300))
        .unwrap();
    let handles: Vec<_> = (0..5u64)
        .map(|object_id| {
            let client = client.clone();
            exec.submit(move || async move { client.publish(object_id).await })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap_err(), Error::TimedOut(Duration::from_millis(300)));
    }
    // On expiry the poll stage is dropped while in the poll set: its cancel function
    // sends one DELETE per task, in the background.
    for _ in 0..500 {
        if service.counters().delete == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for object_id in 0..5 {
        let task = client.task_of(object_id).unwrap();
        assert_eq!(service.deletes_for(task), 1, "task {task}");
        assert_eq!(service.status(task).unwrap().state, "cancelled");
    }
    assert!(client.searches.load(std::sync::atomic::Ordering::Relaxed) >= 1);
}
