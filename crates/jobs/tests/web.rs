//! The axum integration: atomic handlers, the extractor, graceful shutdown.
#![cfg(feature = "web")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Router};
use common::scheduler;
use more_executors_jobs::Scheduler;
use more_executors_jobs::web::{AtomicLayer, MissingScheduler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

async fn body_text(resp: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn order_app(s: &Scheduler, landed: &Arc<AtomicUsize>) -> Router {
    let landed = landed.clone();
    Router::new().route(
        "/orders",
        post(move |sched: Scheduler| {
            let landed = landed.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await; // the database write
                landed.fetch_add(1, SeqCst);
                format!("stored; {} job(s) active", sched.active_count())
            }
        })
        .layer(AtomicLayer::new(s.clone())),
    )
}

#[tokio::test(start_paused = true)]
async fn an_atomic_handler_survives_the_client_going_away() {
    let (s, rec) = scheduler(Scheduler::builder().limit(8));
    let landed = Arc::new(AtomicUsize::new(0));
    let app = order_app(&s, &landed);
    let req = Request::post("/orders").body(Body::empty()).unwrap();
    // The server drops the response future when the client disconnects: same thing here.
    let gave_up = tokio::time::timeout(Duration::from_millis(100), app.clone().oneshot(req)).await;
    assert!(gave_up.is_err());
    assert_eq!(s.active_count(), 1, "the handler keeps running as a job");
    let names: Vec<_> = s.jobs().into_iter().map(|j| j.name.to_string()).collect();
    assert_eq!(names, ["POST /orders"]);
    s.idle().await;
    assert_eq!(landed.load(SeqCst), 1, "the order landed");
    assert!(rec.seen().is_empty());
    // A patient client gets the response.
    let resp = app.oneshot(Request::post("/orders").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_text(resp).await, "stored; 1 job(s) active");
    assert_eq!(landed.load(SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn without_the_layer_a_disconnect_cancels_the_handler() {
    let landed = Arc::new(AtomicUsize::new(0));
    let l = landed.clone();
    let app = Router::new().route(
        "/orders",
        post(move || {
            let l = l.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                l.fetch_add(1, SeqCst);
                "stored"
            }
        }),
    );
    let req = Request::post("/orders").body(Body::empty()).unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(100), app.oneshot(req)).await.is_err());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(landed.load(SeqCst), 0, "the contrast: plain handlers are cancelled");
}

#[tokio::test(start_paused = true)]
async fn a_closed_scheduler_answers_503_and_a_panic_500() {
    let s = Scheduler::new();
    let app = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/boom", get(|| async { panic!("handler bug") as &'static str }))
        .layer(AtomicLayer::new(s.clone()));
    let resp = app.clone().oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    s.close().await;
    let resp = app.oneshot(Request::get("/ok").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body_text(resp).await.contains("shutting down"));
}

#[tokio::test]
async fn the_scheduler_is_an_extractor() {
    let s = Scheduler::builder().name("web").build().unwrap();
    let app = Router::new()
        .route("/name", get(|sched: Scheduler| async move { sched.name().to_string() }))
        .layer(Extension(s));
    let resp = app.oneshot(Request::get("/name").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(body_text(resp).await, "web");
    let bare = Router::new().route("/name", get(|sched: Scheduler| async move { sched.name().to_string() }));
    let resp = bare.oneshot(Request::get("/name").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(resp).await, MissingScheduler.to_string());
}

#[tokio::test]
async fn serve_shuts_down_gracefully_and_waits_for_jobs() {
    let (s, _) = scheduler(Scheduler::builder());
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let app = Router::new()
        .route(
            "/jobs",
            post(move |sched: Scheduler| {
                let d = d.clone();
                async move {
                    let job = sched
                        .spawn(async move {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            d.fetch_add(1, SeqCst);
                            Ok::<_, String>(())
                        })
                        .await
                        .unwrap();
                    job.id().to_string()
                }
            }),
        )
        .layer(Extension(s.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(more_executors_jobs::web::serve(listener, app, s.clone(), async move {
        let _ = stop_rx.await;
    }));
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"POST /jobs HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.ends_with("\r\n\r\n1"), "{resp}");
    stop_tx.send(()).unwrap();
    let report = server.await.unwrap().unwrap();
    assert_eq!(done.load(SeqCst), 1, "the job spawned by the request finished before the close");
    assert_eq!(report.total(), 0);
    assert!(s.is_closed());
}
