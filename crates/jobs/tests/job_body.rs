//! Job bodies: plain outputs, the job's context, and waiting without giving the job up.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use common::{forever, gated, scheduler};
use more_executors_core::Error;
use more_executors_jobs::{CancellationToken, JobClosed, JobState, Outcome, Scheduler, always_ok};

#[tokio::test(start_paused = true)]
async fn plain_outputs_need_no_result() {
    let s = Scheduler::new();
    let unit = s.spawn_infallible(async {}).await.unwrap();
    assert_eq!(unit.await, Ok(()));
    let value = s.job().name("v").spawn_infallible(async { "ready" }).await.unwrap();
    assert_eq!(value.await, Ok("ready"));
    let shielded = s.shield(always_ok(async { 3 })).unwrap();
    assert_eq!(shielded.await, Ok(3));
    let tried = s.try_spawn(always_ok(async { 4 })).unwrap();
    assert_eq!(tried.await, Ok(4));
}

#[tokio::test(start_paused = true)]
async fn result_bodies_still_route_errors_to_the_handler() {
    let (s, rec) = scheduler(Scheduler::builder());
    drop(s.spawn(async { Err::<(), _>("lost") }).await.unwrap());
    drop(s.spawn_infallible(async {}).await.unwrap());
    s.idle().await;
    assert_eq!(rec.messages(), ["lost"]);
}

#[tokio::test(start_paused = true)]
async fn a_job_gets_its_id_and_token_and_cleans_up_before_the_close_timeout() {
    let (s, rec) = scheduler(Scheduler::builder().close_timeout(Duration::from_secs(3)));
    let cleaned = Arc::new(AtomicBool::new(false));
    let flag = cleaned.clone();
    let job = s
        .job()
        .name("lease")
        .spawn_with(move |ctx| async move {
            let id = ctx.id();
            ctx.cancelled().await;
            tokio::time::sleep(Duration::from_secs(2)).await; // release the lease
            flag.store(true, SeqCst);
            Ok::<_, String>(id)
        })
        .await
        .unwrap();
    assert!(job.token().is_some(), "the scheduler gave the job a token");
    assert_eq!(job.close().await, JobClosed::Stopped);
    assert!(cleaned.load(SeqCst), "the cleanup ran to its end");
    assert!(rec.seen().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_context_job_that_overruns_is_aborted() {
    let (s, rec) = scheduler(Scheduler::builder().close_timeout(Duration::from_secs(1)));
    let job = s
        .spawn_with(|ctx| async move {
            ctx.cancelled().await;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    assert_eq!(job.close().await, JobClosed::Aborted);
    assert_eq!(rec.seen().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn spawn_with_uses_a_given_token() {
    let s = Scheduler::new();
    let token = CancellationToken::new();
    let job = s
        .job()
        .token(token.clone())
        .spawn_with(|ctx| async move {
            ctx.cancelled().await;
            Ok::<_, String>(ctx.is_cancelled())
        })
        .await
        .unwrap();
    let id = job.id();
    token.cancel();
    assert_eq!(job.await, Ok(true));
    assert!(id > 0);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_wait_for_leaves_the_job_usable() {
    let (s, rec) = scheduler(Scheduler::builder());
    let (fut, tx) = gated::<u32>();
    let mut job = s.spawn(fut).await.unwrap();
    let err = job.wait_for(Duration::from_secs(1)).await.unwrap_err();
    assert!(err.is_timed_out());
    assert_eq!((job.state(), job.outcome()), (JobState::Active, None), "untouched");
    // While nobody waits, a failure goes to the handler; a later wait still gets it.
    tx.send(Err("late failure".into())).unwrap();
    s.idle().await;
    assert_eq!(rec.messages(), ["late failure"]);
    assert_eq!(job.wait_for(Duration::from_secs(1)).await, Err(Error::Job("late failure".to_string())));
}

#[tokio::test(start_paused = true)]
async fn after_a_timed_out_wait_the_job_can_be_closed_or_awaited() {
    let s = Scheduler::new();
    let mut job = s.spawn(forever()).await.unwrap();
    assert!(job.wait_for(Duration::from_millis(10)).await.unwrap_err().is_timed_out());
    assert!(job.wait_for(Duration::from_millis(10)).await.unwrap_err().is_timed_out(), "wait again");
    assert_eq!(job.close().await, JobClosed::Stopped);
    assert_eq!(job.outcome(), Some(Outcome::Cancelled));
    assert!(job.await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_failure_while_waiting_goes_to_the_waiter_only() {
    let (s, rec) = scheduler(Scheduler::builder());
    let (fut, tx) = gated::<u32>();
    let mut job = s.spawn(fut).await.unwrap();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        tx.send(Err("boom".into())).unwrap();
    });
    assert_eq!(job.wait_for(Duration::from_secs(1)).await, Err(Error::Job("boom".to_string())));
    sender.await.unwrap();
    s.idle().await;
    assert!(rec.seen().is_empty(), "delivered once, to the waiter");
}
