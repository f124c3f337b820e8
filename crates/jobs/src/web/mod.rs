//! Web integration for axum (cargo feature `web`, off by default).
//!
//! - [`AtomicLayer`]: a tower layer that runs a handler as a job of the [`Scheduler`], so
//!   a client that disconnects does not cancel work that must land (aiojobs' `atomic`).
//!   The handler counts toward the scheduler's limit and may wait in its queue; when the
//!   scheduler is closed, requests get `503 Service Unavailable`. Its module, [`atomic`],
//!   is laid out like every layer: the service [`Atomic`] in `mod.rs`, the layer in
//!   `layer.rs`, the response future [`AtomicFuture`] in `future.rs`.
//! - The [`Scheduler`] is an axum extractor: it is read from the request extensions,
//!   where [`AtomicLayer`] puts it, or add `axum::Extension(scheduler)` as a layer for
//!   the whole router. (With `State`, implement `FromRef` for your state as usual.)
//! - [`serve`]: serves a router with graceful shutdown: on the signal, stop accepting,
//!   finish in-flight requests, then [`Scheduler::wait_and_close`].
//!
//! ```no_run
//! use axum::{Extension, Router, routing::post};
//! use more_executors_jobs::Scheduler;
//! use more_executors_jobs::web::AtomicLayer;
//!
//! async fn create_order(scheduler: Scheduler) -> String {
//!     // Runs to the end even if the client hangs up.
//!     format!("{} jobs running", scheduler.active_count())
//! }
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let scheduler = Scheduler::builder().limit(8).build().unwrap();
//! let app = Router::new()
//!     .route("/orders", post(create_order).layer(AtomicLayer::new(scheduler.clone())))
//!     .layer(Extension(scheduler.clone()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let report = more_executors_jobs::web::serve(listener, app, scheduler, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! println!("closed: {report}");
//! # Ok(()) }
//! ```

pub mod atomic;
mod extract;

pub use atomic::{Atomic, AtomicFuture, AtomicLayer};
pub use extract::MissingScheduler;

use std::future::Future;

use crate::scheduler::{CloseReport, Scheduler};

/// Serves `router` on `listener` until `signal` resolves, then shuts down gracefully:
/// stops accepting connections, lets in-flight requests finish, then lets the
/// scheduler's jobs finish for up to its `wait_timeout` and closes it
/// ([`Scheduler::wait_and_close`]). Returns the close report.
///
/// # Errors
/// The server's I/O error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use axum::{Extension, Router, routing::get};
/// use more_executors_jobs::Scheduler;
///
/// let scheduler = Scheduler::new();
/// let app = Router::new().route("/", get(|| async { "hi" })).layer(Extension(scheduler.clone()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// // Shut down at once here; a server would wait for ctrl-c.
/// let report = more_executors_jobs::web::serve(listener, app, scheduler, async {}).await?;
/// assert_eq!(report.total(), 0);
/// # Ok(()) }
/// ```
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    scheduler: Scheduler,
    signal: F,
) -> std::io::Result<CloseReport>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router).with_graceful_shutdown(signal).await?;
    Ok(scheduler.wait_and_close(None).await)
}
