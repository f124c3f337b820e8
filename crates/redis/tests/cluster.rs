//! Queues on a real Redis Cluster: three local `redis-server` masters joined with
//! `redis-cli --cluster create` (skipped with a message when the programs are not
//! installed, unless `MORE_EXECUTORS_REQUIRE_REDIS=1`).
#![cfg(feature = "cluster")]

mod support;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use more_executors_core::prelude::*;
use more_executors_redis::redis::cluster::ClusterClient;
use more_executors_redis::{RedisExecutor, RedisWorker, RemoteJob};
use support::RedisCluster;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Triple(u64);

impl RemoteJob for Triple {
    const NAME: &'static str = "triple";
    type Output = u64;
    type Error = String;
}

/// A safety bound so a broken build fails instead of hanging; not a synchronisation.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f).await.expect("did not complete within 60 s")
}

/// Two queue names whose keys hash to slots served by different masters (the cluster
/// splits the 16384 slots into three ranges).
fn queues_on_two_masters(cluster: &RedisCluster) -> (String, String) {
    let third = |q: &str| cluster.slot(&format!("mx:{{{q}}}:jobs")) * 3 / 16384;
    let first = "orders".to_string();
    let other = (0..)
        .map(|i| format!("mail{i}"))
        .find(|q| third(q) != third(&first))
        .expect("some name lands elsewhere");
    (first, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_queues_on_a_three_master_cluster_resolve_each_job_once() {
    let Some(cluster) = RedisCluster::start(3) else { return };
    let client = || ClusterClient::new(cluster.urls()).unwrap();
    let (qa, qb) = queues_on_two_masters(&cluster);
    // Runs per (queue, job): every job must run exactly once (a long visibility timeout:
    // nothing is reclaimed from a live worker).
    let runs: Arc<Mutex<HashMap<(String, u64), u32>>> = Arc::default();
    let mut workers = Vec::new();
    for q in [&qa, &qb] {
        for _ in 0..2 {
            let (runs, name) = (runs.clone(), q.clone());
            let w = RedisWorker::with_cluster(client(), q)
                .visibility_timeout(Duration::from_secs(20))
                .read_block(Duration::from_millis(100))
                .handle_with(AsyncExecutor::new(), move |Triple(n)| {
                    let (runs, name) = (runs.clone(), name.clone());
                    move || async move {
                        *runs.lock().unwrap().entry((name, n)).or_default() += 1;
                        Ok::<u64, String>(n * 3)
                    }
                })
                .start()
                .await
                .unwrap();
            workers.push((q.clone(), w));
        }
    }
    let ea = RedisExecutor::with_cluster(client(), &qa)
        .read_block(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let eb = RedisExecutor::with_cluster(client(), &qb)
        .read_block(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    const JOBS: u64 = 300;
    let ha: Vec<_> = (0..JOBS).map(|n| ea.submit(Triple(n))).collect();
    let hb: Vec<_> = (0..JOBS).map(|n| eb.submit(Triple(n + 1000))).collect();
    for (n, h) in ha.into_iter().enumerate() {
        assert_eq!(within(h).await.unwrap(), n as u64 * 3);
    }
    for (n, h) in hb.into_iter().enumerate() {
        assert_eq!(within(h).await.unwrap(), (n as u64 + 1000) * 3);
    }
    assert_eq!((ea.pending(), eb.pending()), (0, 0), "every handle resolved");
    {
        let runs = runs.lock().unwrap();
        assert_eq!(runs.len() as u64, 2 * JOBS, "every job ran");
        assert!(runs.values().all(|&r| r == 1), "each job ran once");
    }
    // The two queues live on different masters.
    let (na, nb) =
        (cluster.node_with(&format!("mx:{{{qa}}}:jobs")), cluster.node_with(&format!("mx:{{{qb}}}:jobs")));
    assert!(na.is_some() && nb.is_some() && na != nb, "queues on nodes {na:?} and {nb:?}");
    // Cancel before claim and attach work through the cluster too.
    let idle = RedisExecutor::with_cluster(client(), "idle").connect().await.unwrap();
    let (id, h) = idle.submit_with_id(Triple(7));
    let queued = format!("mx:{{idle}}:job:{id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while cluster.node_with(&queued).is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the job was never enqueued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(h.cancel_async().await, "not claimed: cancelled at once");
    assert!(within(h).await.unwrap_err().is_cancelled());
    assert!(within(idle.attach::<Triple>(&id)).await.unwrap_err().is_cancelled(), "attach sees the outcome");
    let info = within(ea.queue_info()).await.unwrap();
    assert_eq!((info.queued, info.dead_letters), (0, 0));
    let mut acked: HashMap<String, u64> = HashMap::new();
    for (q, w) in workers {
        *acked.entry(q).or_default() += w.shutdown().await.stats.acked;
    }
    assert_eq!(acked[&qa], JOBS);
    assert_eq!(acked[&qb], JOBS);
}
