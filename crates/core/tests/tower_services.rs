//! tower both ways: a tower `Service` as the base executor of a stack, a stack as a tower
//! `Service` under tower's own middleware, and boxed stacks.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};
use std::time::Duration;

use common::{DropFlag, Gate, MyErr};
use futures::FutureExt;
use more_executors_core::boxed::{BoxCloneExecutor, BoxExecutor};
use more_executors_core::limit::ConcurrencyLimitLayer;
use more_executors_core::prelude::*;
use more_executors_core::service::{ExecutorServiceLayer, ServiceExecutor, ServiceExecutorLayer};
use more_executors_test_support::{Concurrency, settle};
use tower::{Service, ServiceBuilder, ServiceExt};

/// A service that is ready only while its gate is open, counting calls.
#[derive(Clone)]
struct Gated {
    open: Arc<AtomicBool>,
    waker: Arc<futures::task::AtomicWaker>,
    calls: Arc<AtomicUsize>,
}

impl Gated {
    fn new() -> Self {
        Gated { open: Arc::default(), waker: Arc::default(), calls: Arc::default() }
    }
    fn open(&self) {
        self.open.store(true, SeqCst);
        self.waker.wake();
    }
}

impl Service<u32> for Gated {
    type Response = u32;
    type Error = MyErr;
    type Future = futures::future::Ready<Result<u32, MyErr>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), MyErr>> {
        self.waker.register(cx.waker());
        if self.open.load(SeqCst) { Poll::Ready(Ok(())) } else { Poll::Pending }
    }

    fn call(&mut self, n: u32) -> Self::Future {
        self.calls.fetch_add(1, SeqCst);
        futures::future::ready(if n == 0 { Err(MyErr::Code(0)) } else { Ok(n * 10) })
    }
}

macro_rules! futures_util_poll {
    ($f:expr) => {{
        let mut f = std::pin::pin!($f);
        futures::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx))).await
    }};
}

#[tokio::test]
async fn a_service_is_a_base_executor_and_its_readiness_is_respected() {
    let svc = Gated::new();
    let exec = ServiceExecutor::new(svc.clone()).with_map(|n: u32| n + 1);
    let h = exec.submit(4);
    settle(20).await;
    assert!(!h.is_done(), "the job waits on poll_ready");
    assert_eq!(svc.calls.load(SeqCst), 0, "the service is not called before it is ready");
    svc.open();
    assert_eq!(h.await, Ok(41));
    assert_eq!(exec.submit(0).await, Err(Error::Job(MyErr::Code(0))), "the service's error is the job's");
}

#[tokio::test]
async fn cancelling_a_job_waiting_for_readiness_never_calls_the_service() {
    let svc = Gated::new();
    let exec = ServiceExecutor::new(svc.clone());
    let h = exec.submit(1);
    settle(20).await;
    assert!(h.cancel());
    assert_eq!(h.await, Err(Error::Cancelled));
    svc.open();
    settle(20).await;
    assert_eq!(svc.calls.load(SeqCst), 0);
}

#[tokio::test]
async fn tower_back_pressure_below_the_stack_bounds_concurrency() {
    let conc = Concurrency::new();
    let gate = Gate::new();
    let (c, g) = (conc.clone(), gate.clone());
    // tower's own concurrency limit inside the service: our jobs wait on its poll_ready.
    let inner = ServiceBuilder::new().concurrency_limit(2).service(tower::service_fn(move |n: u32| {
        let (c, g) = (c.clone(), g.clone());
        async move {
            let _in = c.enter();
            g.wait().await;
            Ok::<_, MyErr>(n)
        }
    }));
    let exec = ServiceExecutor::new(inner);
    let handles: Vec<_> = (0..6).map(|i| exec.submit(i)).collect();
    settle(20).await;
    assert_eq!(conc.now(), 2);
    gate.open();
    for (i, h) in (0..6).zip(handles) {
        assert_eq!(h.await, Ok(i));
    }
    assert_eq!(conc.peak(), 2);
}

#[tokio::test]
async fn a_panicking_service_fails_the_job_only() {
    let exec = ServiceExecutor::new(tower::service_fn(|n: u32| async move {
        assert!(n != 13, "unlucky");
        Ok::<_, MyErr>(n)
    }));
    assert!(matches!(exec.submit(13).await, Err(Error::Panicked(m)) if m.contains("unlucky")));
    assert_eq!(exec.submit(1).await, Ok(1));
}

#[tokio::test]
async fn service_executor_shuts_down_like_any_executor() {
    let exec = ServiceExecutor::builder(tower::service_fn(|n: u32| async move { Ok::<_, MyErr>(n) }))
        .name("svc")
        .build()
        .with_concurrency_limit(2)
        .unwrap();
    assert_eq!(exec.name(), "svc");
    assert_eq!(exec.capacity().map(|c| c.limit()), Some(2));
    exec.shutdown();
    assert_eq!(exec.submit(1).await, Err(Error::ShutDown));
}

type Job = Box<dyn FnOnce() -> futures::future::BoxFuture<'static, Result<u32, MyErr>> + Send>;

fn pending_job(flag: &Arc<AtomicBool>) -> Job {
    let flag = DropFlag(flag.clone());
    Box::new(move || {
        async move {
            let _f = flag;
            std::future::pending::<()>().await;
            Ok(0)
        }
        .boxed()
    })
}

fn value_job(n: u32) -> Job {
    Box::new(move || async move { Ok(n) }.boxed())
}

#[tokio::test]
async fn poll_ready_reserves_a_slot_of_the_limit_so_nothing_queues_behind_ready() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let mut svc = exec.clone().with_map(|n: u32| n + 1).into_service();
    svc.ready().await.unwrap();
    assert_eq!(exec.in_flight(), 1, "the reserved slot counts");

    // Another submitter now finds no slot and queues ...
    let flag = Arc::new(AtomicBool::new(false));
    let queued = exec.submit(pending_job(&flag));
    settle(20).await;
    assert_eq!(exec.queued(), 1);
    // ... but the call after Ready runs in the reserved slot at once.
    let response = svc.call(value_job(5));
    assert_eq!(response.await, Ok(6));
    settle(20).await;
    assert_eq!(exec.queued(), 0, "the queued job got the slot after the reserved one was freed");
    assert!(queued.cancel());
}

#[tokio::test]
async fn poll_ready_waits_while_the_limit_is_full() {
    let exec = AsyncExecutor::new().with_concurrency_limit(2).unwrap();
    let flags: Vec<_> = (0..2).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let running: Vec<_> = flags.iter().map(|f| exec.submit(pending_job(f))).collect();
    settle(20).await;
    let mut svc = exec.clone().into_service();
    assert!(futures_util_poll!(svc.ready()).is_pending(), "no free slot: not ready");
    assert!(running[0].cancel());
    settle(20).await;
    svc.ready().await.unwrap();
    assert_eq!(svc.call(value_job(3)).await, Ok(3));
    assert_eq!(exec.queued(), 0);
    assert!(running[1].cancel());
}

#[tokio::test]
async fn a_reserved_slot_is_released_when_the_service_is_dropped() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let mut svc = exec.clone().into_service::<Job>();
    svc.ready().await.unwrap();
    assert_eq!(exec.in_flight(), 1);
    drop(svc);
    assert_eq!(exec.in_flight(), 0);
    assert_eq!(exec.submit(value_job(1)).await, Ok(1));
}

#[tokio::test]
async fn poll_ready_fails_after_shutdown() {
    let exec = AsyncExecutor::new();
    let mut svc = exec.clone().into_service::<Job>();
    exec.shutdown();
    let ready = svc.ready().await;
    assert_eq!(ready.err(), Some(Error::ShutDown));
}

#[tokio::test]
async fn dropping_the_response_future_cancels_the_job() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let mut svc = exec.clone().into_service();
    let flag = Arc::new(AtomicBool::new(false));
    svc.ready().await.unwrap();
    let response = svc.call(pending_job(&flag));
    settle(20).await;
    assert_eq!(exec.in_flight(), 1);
    drop(response);
    settle(20).await;
    assert!(flag.load(SeqCst), "the job's future was dropped");
    assert_eq!(exec.in_flight(), 0, "its slot was freed");
}

#[tokio::test]
async fn into_handle_keeps_the_job_running() {
    let mut svc = AsyncExecutor::new().into_service();
    let gate = Gate::new();
    let g = gate.clone();
    let response = svc.call(move || async move {
        g.wait().await;
        Ok::<_, MyErr>(9)
    });
    let handle = response.into_handle();
    gate.open();
    assert_eq!(handle.await, Ok(9));
}

#[tokio::test(start_paused = true)]
async fn tower_timeout_over_a_stack_cancels_the_job() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let svc = ServiceBuilder::new().timeout(Duration::from_secs(1)).service(exec.clone().into_service());
    let flag = Arc::new(AtomicBool::new(false));
    let err = svc.clone().oneshot(pending_job(&flag)).await.unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    settle(20).await;
    assert!(flag.load(SeqCst), "tower's timeout dropped the response: the job was cancelled");
    assert_eq!(exec.in_flight(), 0);
    assert_eq!(svc.oneshot(value_job(2)).await.unwrap(), 2);
}

#[tokio::test]
async fn tower_load_shed_over_a_stack_sheds_when_the_limit_is_full() {
    let exec = AsyncExecutor::new().with_concurrency_limit(1).unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let busy = exec.submit(pending_job(&flag));
    settle(20).await;
    let svc = ServiceBuilder::new().load_shed().service(exec.clone().into_service());
    let err = svc.clone().oneshot(value_job(1)).await.unwrap_err();
    assert!(err.is::<tower::load_shed::error::Overloaded>(), "{err}");
    assert_eq!(exec.queued(), 0, "shed, not queued");
    assert!(busy.cancel());
    settle(20).await;
    assert_eq!(svc.oneshot(value_job(1)).await.unwrap(), 1);
}

#[tokio::test]
async fn tower_buffer_over_a_stack_shares_it_between_callers() {
    let conc = Concurrency::new();
    let gate = Gate::new();
    let exec = AsyncExecutor::new().with_concurrency_limit(3).unwrap();
    let svc = ServiceBuilder::new().buffer(64).service(exec.clone().into_service());
    let calls: Vec<_> = (0..12u32)
        .map(|i| {
            let (conc, gate, svc) = (conc.clone(), gate.clone(), svc.clone());
            tokio::spawn(svc.oneshot(move || async move {
                let _in = conc.enter();
                gate.wait().await;
                Ok::<_, MyErr>(i)
            }))
        })
        .collect();
    settle(20).await;
    assert_eq!(conc.now(), 3);
    assert_eq!(exec.queued(), 0, "the buffer waits on readiness; the limit queues nothing");
    gate.open();
    for (i, c) in (0..12u32).zip(calls) {
        assert_eq!(c.await.unwrap().unwrap(), i);
    }
    assert_eq!(conc.peak(), 3);
}

#[tokio::test(start_paused = true)]
async fn one_builder_mixes_tower_middleware_and_executor_layers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    // tower timeout and rate limit over our limit and map, over tower's timeout over a
    // service_fn.
    let svc = ServiceBuilder::new()
        .timeout(Duration::from_secs(10))
        .rate_limit(2, Duration::from_secs(1))
        .layer(ExecutorServiceLayer::new())
        .layer(ConcurrencyLimitLayer::new(4).unwrap())
        .map(|n: u32| n * 2)
        .layer(ServiceExecutorLayer::new().name("inner"))
        .map_err(std::io::Error::other)
        .timeout(Duration::from_millis(500))
        .service(tower::service_fn(move |n: u32| {
            c.fetch_add(1, SeqCst);
            async move {
                if n == 99 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Ok::<_, std::io::Error>(n)
            }
        }));
    let start = tokio::time::Instant::now();
    let mut svc = svc;
    let mut out = Vec::new();
    for i in 0..6u32 {
        out.push(svc.ready().await.unwrap().call(i).await.unwrap());
    }
    assert_eq!(out, [0, 2, 4, 6, 8, 10]);
    assert_eq!(start.elapsed(), Duration::from_secs(2), "2 calls per second: 6 calls span 2 s");
    let err = svc.ready().await.unwrap().call(99).await.unwrap_err();
    let err = err.downcast::<Error<std::io::Error>>().expect("the stack's error");
    let inner = err.into_job().expect("the inner service's error is the job's");
    assert!(inner.get_ref().is_some_and(|e| e.is::<tower::timeout::error::Elapsed>()), "{inner}");
    assert_eq!(calls.load(SeqCst), 7);
}

trait MapExt: Sized {
    fn map<M>(
        self,
        f: M,
    ) -> ServiceBuilder<tower::layer::util::Stack<more_executors_core::map::MapLayer<M>, Self::L>>;
    type L;
}
impl<L> MapExt for ServiceBuilder<L> {
    type L = L;
    fn map<M>(
        self,
        f: M,
    ) -> ServiceBuilder<tower::layer::util::Stack<more_executors_core::map::MapLayer<M>, L>> {
        self.layer(more_executors_core::map::MapLayer::new(f))
    }
}

/// A stack built with closures, kept as a field.
struct Client {
    exec: BoxExecutor<u32, String, MyErr>,
}

impl Client {
    fn new() -> Self {
        let exec = ServiceExecutor::new(tower::service_fn(|n: u32| async move {
            if n == 0 { Err(MyErr::NotFound) } else { Ok(n) }
        }))
        .with_concurrency_limit(2)
        .unwrap()
        .with_map(|n: u32| format!("#{n}"));
        Client { exec: exec.boxed() }
    }
}

#[tokio::test]
async fn a_boxed_stack_is_a_struct_field_and_keeps_its_semantics() {
    let client = Client::new();
    assert_eq!(client.exec.submit(3).await, Ok("#3".to_string()));
    assert_eq!(client.exec.submit(0).await, Err(Error::Job(MyErr::NotFound)));
    assert_eq!(client.exec.kind(), "map");
    assert_eq!(client.exec.capacity().map(|c| c.limit()), Some(2), "the limit is visible through the box");
    // As a tower service, the box still reserves slots of the limit inside it.
    let mut svc = client.exec.into_service();
    svc.ready().await.unwrap();
    assert_eq!(svc.get_ref().capacity().map(|c| c.available()), Some(1));
    assert_eq!(svc.call(5).await, Ok("#5".to_string()));
}

#[tokio::test]
async fn a_boxed_clone_stack_cancels_and_shuts_down_through_the_box() {
    let exec: BoxCloneExecutor<_, u32, MyErr> = AsyncExecutor::new().with_cancel_on_shutdown().boxed_clone();
    let flag = Arc::new(AtomicBool::new(false));
    let h = exec.submit(pending_job(&flag));
    let other = exec.clone();
    let h2 = other.submit(pending_job(&Arc::new(AtomicBool::new(false))));
    assert!(h.cancel());
    assert_eq!(h.await, Err(Error::Cancelled));
    settle(20).await;
    assert!(flag.load(SeqCst));
    exec.shutdown();
    assert!(other.is_shut_down());
    assert_eq!(h2.await, Err(Error::Cancelled), "cancel-on-shutdown inside the box");
}

#[test]
fn a_boxed_inline_stack_still_resolves_without_a_task() {
    type SyncJob = fn() -> Result<u32, MyErr>;
    let exec: BoxExecutor<SyncJob, u32, MyErr> = InlineExecutor::new().with_map(|n: u32| n + 1).boxed();
    assert!(exec.runs_inline());
    let before = exec.runtime().task_count();
    let h = exec.submit(|| Ok(1));
    assert!(h.is_done());
    assert_eq!(exec.runtime().task_count(), before);
    assert_eq!(h.wait(), Ok(2));
}

#[test]
fn adapters_are_send_and_sync_where_tower_needs_it() {
    fn send<T: Send>() {}
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<ServiceExecutor<tower::util::BoxCloneService<u32, u32, MyErr>>>();
    send::<more_executors_core::service::ExecutorService<AsyncExecutor, Job>>();
    send::<more_executors_core::service::ResponseFuture<u32, MyErr>>();
    send_sync_clone::<BoxCloneExecutor<u32, u32, MyErr>>();
}
