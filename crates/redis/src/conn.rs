//! Connections: a single server through redis' connection manager (reconnects on its
//! own), or a Redis Cluster with the `cluster` feature.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// Where to connect.
#[derive(Clone)]
pub(crate) enum Backend {
    Single(redis::Client),
    #[cfg(feature = "cluster")]
    Cluster(Box<redis::cluster::ClusterClient>),
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Single(c) => write!(f, "Single({:?})", c.get_connection_info().addr()),
            #[cfg(feature = "cluster")]
            Backend::Cluster(_) => f.write_str("Cluster"),
        }
    }
}

/// Response timeout of ordinary commands (scripts over a batch of jobs included).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

impl Backend {
    /// A new connection. `block` is the longest time a blocking command sent on it waits
    /// server-side, so responses are allowed that much longer.
    pub(crate) async fn connect(&self, block: Option<Duration>) -> RedisResult<Conn> {
        let timeout = RESPONSE_TIMEOUT + block.unwrap_or_default();
        match self {
            Backend::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_response_timeout(Some(timeout))
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_secs(2))
                    .set_number_of_retries(8);
                Ok(Conn::Single(ConnectionManager::new_with_config(client.clone(), config).await?))
            }
            #[cfg(feature = "cluster")]
            Backend::Cluster(client) => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_response_timeout(timeout)
                    .set_connection_timeout(Duration::from_secs(2));
                Ok(Conn::Cluster(client.get_async_connection_with_config(config).await?))
            }
        }
    }
}

/// One connection (multiplexed: clones share it).
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            #[cfg(feature = "cluster")]
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            #[cfg(feature = "cluster")]
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Reads a script's array reply as strings (integers are rendered).
pub(crate) fn strings(v: Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.into_iter().map(string).collect(),
        other => vec![string(other)],
    }
}

fn string(v: Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        Value::SimpleString(s) => s,
        Value::Int(i) => i.to_string(),
        Value::Okay => "OK".into(),
        _ => String::new(),
    }
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Conn")
    }
}
