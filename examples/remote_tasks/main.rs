//! Track a thousand remote tasks with one poll executor.
//!
//! ```text
//! cargo run --example remote_tasks                     # 1000 tasks on an embedded service
//! cargo run --example remote_tasks -- --tasks 5000
//! cargo run --example remote_tasks -- --service http://127.0.0.1:8080
//! ```
//!
//! An embedded HTTP task service (axum, on 127.0.0.1 with a free port) publishes objects as
//! tasks that end after a random delay, a few of them in error. The client publishes N
//! objects through an async executor with at most 16 publish requests in flight; each
//! publish returns a task id, which enters a poll executor. Its poll function makes **one**
//! `POST /tasks/search` request per tick for every pending task, and its cancel function
//! sends `DELETE /tasks/{id}`. A few handles are cancelled on purpose. Results are consumed
//! with `as_completed`; the summary compares search requests with tasks tracked.
//!
//! Exits with status 1 if any handle did not resolve exactly once or the counts disagree.

mod client;
mod scenario;
mod service;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use scenario::{Options, Progress, Report};
use service::{ServiceConfig, TaskService};

const USAGE: &str = "usage: remote_tasks [--tasks N] [--service URL]

  --tasks N       objects to publish (default 1000)
  --service URL   use a running service with the same API instead of the embedded one";

fn parse_args() -> Result<(usize, Option<String>), String> {
    let mut tasks = 1000;
    let mut service = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"));
        match arg.as_str() {
            "--tasks" => {
                let v = value("--tasks")?;
                tasks = v.parse().map_err(|_| format!("--tasks: `{v}` is not a number\n\n{USAGE}"))?;
            }
            "--service" => service = Some(value("--service")?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok((tasks, service))
}

/// Shows progress until `progress` is complete: a bar on a terminal, plain lines otherwise.
fn spawn_progress(progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let total = progress.total.load(Relaxed);
        if std::io::stdout().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            loop {
                let resolved = progress.resolved();
                bar.set_message(format!(
                    "{} ok, {} failed, {} cancelled",
                    progress.finished.load(Relaxed),
                    progress.failed.load(Relaxed),
                    progress.cancelled.load(Relaxed)
                ));
                bar.set_position(resolved as u64);
                if resolved >= total {
                    // The summary that follows repeats the counts.
                    bar.finish_and_clear();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        } else {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let resolved = progress.resolved();
                println!(
                    "progress: {resolved}/{total} resolved ({} finished, {} failed, {} cancelled)",
                    progress.finished.load(Relaxed),
                    progress.failed.load(Relaxed),
                    progress.cancelled.load(Relaxed)
                );
                if resolved >= total {
                    return;
                }
            }
        }
    })
}

fn print_summary(report: &Report, service: Option<&TaskService>) {
    let per_request = report.tracked as f64 / report.searches.max(1) as f64;
    println!(
        "summary: {} tasks: {} finished, {} failed, {} cancelled ({} cancels asked, {} too late) | \
         {} search requests for {} tasks tracked ({per_request:.1} tasks per request) | wall {:.2} s",
        report.results.len(),
        report.finished,
        report.failed,
        report.cancelled,
        report.cancel_requests,
        report.cancel_requests - report.cancels_accepted.len(),
        report.searches,
        report.tracked,
        report.wall.as_secs_f64()
    );
    let mut kinds: Vec<_> = scenario::failures_by_kind(report).into_iter().collect();
    kinds.sort();
    if !kinds.is_empty() {
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!("failures: {}", kinds.join(", "));
    }
    if let Some(s) = service {
        let c = s.counters();
        println!(
            "service received: {} publish, {} search, {} delete, {} get requests",
            c.publish, c.search, c.delete, c.get
        );
    }
}

/// Cross-checks the client's view with the embedded service's.
fn service_problems(report: &Report, service: &TaskService) -> Vec<String> {
    let mut p = Vec::new();
    let c = service.counters();
    if c.search != report.searches {
        p.push(format!("service saw {} searches, client sent {}", c.search, report.searches));
    }
    let totals = service.totals();
    let kinds = scenario::failures_by_kind(report);
    let kind = |k: &str| kinds.get(k).copied().unwrap_or(0);
    // A DELETE can race with a search that already reports the task cancelled: the poll's
    // answer then comes first and the handle fails with "cancelled on the service".
    let cancelled_here = report.cancels_accepted.len() + kind("cancelled on the service");
    if totals.cancelled != cancelled_here {
        p.push(format!(
            "service cancelled {} tasks, client saw {cancelled_here} cancelled",
            totals.cancelled
        ));
    }
    if totals.error != kind("task error") {
        p.push(format!(
            "service has {} tasks in error, client saw {} task errors",
            totals.error,
            kind("task error")
        ));
    }
    for &object in &report.cancels_accepted {
        let task = report.client.task_of(object).unwrap_or_default();
        if service.deletes_for(task) != 1 {
            p.push(format!("cancelled task {task} got {} DELETE requests", service.deletes_for(task)));
        }
    }
    p
}

#[tokio::main]
async fn main() -> ExitCode {
    let (tasks, external) = match parse_args() {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let service = match &external {
        Some(_) => None,
        None => match TaskService::start(ServiceConfig::default()).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("could not start the embedded task service: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let url = external.unwrap_or_else(|| service.as_ref().map(|s| s.url()).unwrap_or_default());
    println!("publishing {tasks} objects to {url}");

    let opts = Options::new(tasks, url);
    let progress = Arc::new(Progress::default());
    progress.total.store(tasks, Relaxed);
    let display = spawn_progress(progress.clone());
    let report = match scenario::run(&opts, &progress).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bad configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = display.await;
    print_summary(&report, service.as_ref());

    let mut problems = report.problems();
    if report.tracked == 0 && tasks > 0 {
        problems.push(format!("no publish succeeded: is a task service running at {}?", opts.service_url));
    }
    if let Some(s) = &service {
        problems.extend(service_problems(&report, s));
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("error: {p}");
        }
        ExitCode::FAILURE
    }
}
