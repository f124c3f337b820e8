//! tower both ways over real HTTP on loopback: a reqwest client written as a tower `Service`
//! under this project's retry, timeout and limit; stacks under tower's own middleware; a
//! stack inside an axum handler, cancelled when the client hangs up; the one-shot helpers.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use more_executors::prelude::*;
use more_executors::retry::{ExponentialBackoff, retry};
use more_executors::service::ServiceExecutor;
use more_executors::timeout::timeout_after;
use tokio::sync::Notify;
use tower::{Service, ServiceBuilder, ServiceExt};

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// Calls per key of `/flaky/{key}`.
    calls: Mutex<HashMap<String, u32>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    /// Handlers of `/hang` dropped before they answered (the client went away).
    hang_dropped: AtomicUsize,
    dropped: Notify,
}

struct InFlight(Arc<Seen>);

impl InFlight {
    fn enter(seen: &Arc<Seen>) -> Self {
        let now = seen.in_flight.fetch_add(1, SeqCst) + 1;
        seen.peak.fetch_max(now, SeqCst);
        InFlight(seen.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, SeqCst);
    }
}

struct HangGuard(Arc<Seen>);

impl Drop for HangGuard {
    fn drop(&mut self) {
        self.0.hang_dropped.fetch_add(1, SeqCst);
        self.0.dropped.notify_one();
    }
}

/// `/flaky/{key}` answers 503 to the first two calls of each key, then `ok {key}`, after a
/// few scheduler turns (so calls overlap). `/hang` never answers.
async fn server() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route(
            "/flaky/{key}",
            get(|State(seen): State<Arc<Seen>>, Path(key): Path<String>| async move {
                let _in = InFlight::enter(&seen);
                for _ in 0..5 {
                    tokio::task::yield_now().await;
                }
                let n = {
                    let mut calls = seen.calls.lock().unwrap();
                    let n = calls.entry(key.clone()).or_default();
                    *n += 1;
                    *n
                };
                if n <= 2 { Err(StatusCode::SERVICE_UNAVAILABLE) } else { Ok(format!("ok {key}")) }
            }),
        )
        .route(
            "/hang",
            get(|State(seen): State<Arc<Seen>>| async move {
                let _guard = HangGuard(seen);
                std::future::pending::<()>().await;
                "never"
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

/// A reqwest client written as a tower `Service`: a request is a path, the response its
/// body; a non-2xx status is an error.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    fn new(addr: SocketAddr) -> Self {
        Api { client: reqwest::Client::new(), base: format!("http://{addr}") }
    }
}

impl Service<String> for Api {
    type Response = String;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<String, reqwest::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, path: String) -> Self::Future {
        let request = self.client.get(format!("{}{path}", self.base));
        Box::pin(async move { request.send().await?.error_for_status()?.text().await })
    }
}

fn fast_retries(attempts: u32) -> ExponentialBackoff {
    ExponentialBackoff::builder().max_attempts(attempts).sleep(Duration::from_millis(5)).build().unwrap()
}

/// Waits (bounded, so a regression fails instead of hanging) until the server dropped `n`
/// `/hang` handlers.
async fn hang_handlers_dropped(seen: &Seen, n: usize) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while seen.hang_dropped.load(SeqCst) < n {
            seen.dropped.notified().await;
        }
    })
    .await
    .expect("the server's handler was never dropped: the request was not cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_service_under_retry_timeout_and_limit() {
    let (addr, seen) = server().await;
    let exec = ServiceExecutor::new(Api::new(addr))
        .with_timeout(Duration::from_secs(30))
        .unwrap()
        .with_retry(fast_retries(3))
        .with_concurrency_limit(3)
        .unwrap();
    let handles: Vec<_> = (0..12).map(|i| exec.submit(format!("/flaky/k{i}"))).collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap(), format!("ok k{i}"), "the third attempt succeeds");
    }
    let calls = seen.calls.lock().unwrap();
    assert_eq!(calls.len(), 12);
    assert!(calls.values().all(|&n| n == 3), "each key was called exactly 3 times: {calls:?}");
    assert!(seen.peak.load(SeqCst) <= 3, "the limit bounds requests in flight at the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_attempt_cancels_the_http_request() {
    let (addr, seen) = server().await;
    let exec = ServiceExecutor::new(Api::new(addr))
        .with_timeout(Duration::from_millis(200))
        .unwrap()
        .with_retry(fast_retries(2));
    let err = exec.submit("/hang".to_string()).await.unwrap_err();
    assert!(
        matches!(err, Error::TimedOut(d) if d == Duration::from_millis(200)),
        "the last attempt timed out: {err}"
    );
    hang_handlers_dropped(&seen, 2).await;
    assert_eq!(seen.hang_dropped.load(SeqCst), 2, "two attempts, each abandoned at the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_are_the_jobs_own_error() {
    let (addr, _seen) = server().await;
    let exec = ServiceExecutor::new(Api::new(addr)).with_retry(fast_retries(2));
    let err = exec.submit("/flaky/once".to_string()).await.unwrap_err();
    let http = err.into_job().expect("a job error, not a library error");
    assert_eq!(http.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_rate_limit_and_timeout_over_a_retrying_http_stack() {
    let (addr, seen) = server().await;
    let stack =
        ServiceExecutor::new(Api::new(addr)).with_retry(fast_retries(3)).with_concurrency_limit(2).unwrap();
    let mut svc = ServiceBuilder::new()
        .timeout(Duration::from_secs(30))
        .rate_limit(100, Duration::from_secs(1))
        .service(stack.into_service());
    for i in 0..5 {
        let body = svc.ready().await.unwrap().call(format!("/flaky/r{i}")).await.unwrap();
        assert_eq!(body, format!("ok r{i}"));
    }
    assert!(seen.peak.load(SeqCst) <= 2);
    assert!(seen.calls.lock().unwrap().values().all(|&n| n == 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_timeout_over_a_stack_cancels_the_http_request() {
    let (addr, seen) = server().await;
    let svc = ServiceBuilder::new()
        .timeout(Duration::from_millis(200))
        .service(ServiceExecutor::new(Api::new(addr)).with_concurrency_limit(4).unwrap().into_service());
    let err = svc.oneshot("/hang".to_string()).await.unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    hang_handlers_dropped(&seen, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axum_handler_abandoned_by_its_client_cancels_the_job() {
    let (addr, seen) = server().await;
    // A front server whose handler runs a job of a stack through the tower adapter; when its
    // client hangs up, axum drops the handler, the response future, and so the job (whose
    // own HTTP request to the back server is then dropped too).
    let stack = ServiceExecutor::new(Api::new(addr)).with_concurrency_limit(4).unwrap();
    let front = Router::new().route(
        "/proxy",
        get(move || {
            let svc = stack.clone().into_service();
            async move { svc.oneshot("/hang".to_string()).await.map_err(|_| StatusCode::BAD_GATEWAY) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, front).await.unwrap() });

    let client = reqwest::Client::new();
    let abandoned = tokio::time::timeout(
        Duration::from_millis(200),
        client.get(format!("http://{front_addr}/proxy")).send(),
    )
    .await;
    assert!(abandoned.is_err(), "the proxied request hangs until the client gives up");
    hang_handlers_dropped(&seen, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_fn_under_retry_timeout_and_limit() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let exec = ServiceExecutor::new(tower::service_fn(move |n: u32| {
        let k = a.fetch_add(1, SeqCst);
        async move {
            if k % 2 == 0 {
                // Every other attempt stalls and is cut by the timeout, then retried.
                std::future::pending::<()>().await;
            }
            Ok::<_, std::io::Error>(n * 2)
        }
    }))
    .with_timeout(Duration::from_millis(50))
    .unwrap()
    .with_retry(fast_retries(3))
    .with_concurrency_limit(1)
    .unwrap();
    for n in 0..4 {
        assert_eq!(exec.submit(n).await.unwrap(), n * 2);
    }
    assert_eq!(attempts.load(SeqCst), 8, "one stalled and one good attempt per job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_retry_and_timeout_over_http() {
    let (addr, seen) = server().await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/flaky/oneshot");
    let body = retry(fast_retries(3), move || {
        let request = client.get(url.clone());
        async move { request.send().await?.error_for_status()?.text().await }
    })
    .await
    .unwrap();
    assert_eq!(body, "ok oneshot");
    assert_eq!(seen.calls.lock().unwrap()["oneshot"], 3);

    let client = reqwest::Client::new();
    let hang = client.get(format!("http://{addr}/hang")).send();
    let err = timeout_after(Duration::from_millis(200), hang).await.unwrap_err();
    assert!(err.is_timed_out());
    hang_handlers_dropped(&seen, 1).await;
}

#[tokio::test(start_paused = true)]
async fn one_shot_retry_follows_the_policy_and_returns_the_last_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let start = tokio::time::Instant::now();
    let out: Result<u32, Error<String>> = retry(
        ExponentialBackoff::builder().max_attempts(3).sleep(Duration::from_secs(1)).build().unwrap(),
        move || {
            let n = c.fetch_add(1, SeqCst) + 1;
            async move { Err(format!("attempt {n}")) }
        },
    )
    .await;
    assert_eq!(out, Err(Error::Job("attempt 3".to_string())));
    assert_eq!(calls.load(SeqCst), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(3), "delays of 1 s and 2 s");

    // A panic in an attempt is retried like an error by the default policy, then reported.
    let out: Result<u32, Error<String>> = retry(fast_retries(2), || async { panic!("boom") }).await;
    assert!(matches!(out, Err(Error::Panicked(m)) if m == "boom"));
}

#[tokio::test(start_paused = true)]
async fn one_shot_timeout_passes_values_and_errors_through() {
    assert_eq!(timeout_after(Duration::from_secs(1), async { Ok::<_, String>(1) }).await, Ok(1));
    assert_eq!(
        timeout_after(Duration::from_secs(1), async { Err::<u8, _>("no".to_string()) }).await,
        Err(Error::Job("no".to_string()))
    );
    let slow = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, String>(2)
    };
    assert_eq!(
        timeout_after(Duration::from_secs(1), slow).await,
        Err(Error::TimedOut(Duration::from_secs(1)))
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limit_next_to_retry_layer_in_one_service_builder() {
    use more_executors::retry::RetryLayer;
    use more_executors::service::{ExecutorServiceLayer, ServiceExecutorLayer};

    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    // The shape that did not compile before the adapters: tower's rate limit listed next to
    // this project's RetryLayer, over a service_fn.
    let mut svc = ServiceBuilder::new()
        .rate_limit(1, Duration::from_secs(1))
        .layer(ExecutorServiceLayer::new())
        .layer(RetryLayer::new(fast_retries(2)))
        .layer(ServiceExecutorLayer::new())
        .service(tower::service_fn(move |n: u32| {
            let first = c.fetch_add(1, SeqCst) % 2 == 0;
            async move { if first { Err(std::io::Error::other("flaky")) } else { Ok(n) } }
        }));
    let start = tokio::time::Instant::now();
    for n in 0..3u32 {
        assert_eq!(svc.ready().await.unwrap().call(n).await.unwrap(), n);
    }
    assert_eq!(calls.load(SeqCst), 6, "each request failed once and was retried");
    assert!(start.elapsed() >= Duration::from_secs(2), "one request per second");
}
