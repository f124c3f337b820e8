//! The encoded outcome of a job, as stored in Redis and pushed to clients.

use serde::{Deserialize, Serialize};

use more_executors_core::Error;

use crate::error::RemoteError;

/// A job's outcome on the wire (JSON, adjacently tagged so the dead-letter outcome can be
/// written by a Lua script with `cjson`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub(crate) enum Outcome<T, E> {
    Ok(T),
    Err(E),
    Cancelled,
    TimedOut(u64),
    Panicked(String),
    Dead { reason: String, deliveries: u64 },
}

/// The cancelled outcome, as JSON.
pub(crate) const CANCELLED: &str = r#"{"t":"cancelled"}"#;

/// The state letter stored with an outcome (`d` done, `c` cancelled).
pub(crate) fn state_of<T, E>(o: &Outcome<T, E>) -> &'static str {
    match o {
        Outcome::Cancelled => "c",
        _ => "d",
    }
}

/// Decodes an outcome into what the client's handle resolves to.
pub(crate) fn decode<T, E>(id: &str, text: &str) -> Result<T, Error<RemoteError<E>>>
where
    T: serde::de::DeserializeOwned,
    E: serde::de::DeserializeOwned,
{
    match serde_json::from_str::<Outcome<T, E>>(text) {
        Ok(Outcome::Ok(v)) => Ok(v),
        Ok(Outcome::Err(e)) => Err(Error::Job(RemoteError::Job(e))),
        Ok(Outcome::Cancelled) => Err(Error::Cancelled),
        Ok(Outcome::TimedOut(ms)) => Err(Error::TimedOut(std::time::Duration::from_millis(ms))),
        Ok(Outcome::Panicked(m)) => Err(Error::Panicked(m)),
        Ok(Outcome::Dead { reason, deliveries }) => {
            Err(Error::Job(RemoteError::DeadLettered { id: id.to_string(), reason, deliveries }))
        }
        Err(e) => Err(Error::Job(RemoteError::Decode { id: id.to_string(), message: e.to_string() })),
    }
}

/// Encodes what a worker's local handle resolved to; `None` when the worker's stack was
/// shut down under the job (the job is handed back to the queue instead).
pub(crate) fn encode<T: Serialize, E: Serialize>(r: &Result<T, Error<E>>) -> Option<(&'static str, String)> {
    let o: Outcome<&T, &E> = match r {
        Ok(v) => Outcome::Ok(v),
        Err(Error::Job(e)) => Outcome::Err(e),
        Err(Error::Cancelled) => Outcome::Cancelled,
        Err(Error::TimedOut(d)) => Outcome::TimedOut(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        Err(Error::Panicked(m)) => Outcome::Panicked(m.clone()),
        Err(Error::ShutDown) => return None,
        Err(_) => Outcome::Panicked("the worker's stack failed with an unknown error".into()),
    };
    let state = state_of(&o);
    let text = serde_json::to_string(&o).unwrap_or_else(|e| {
        format!(r#"{{"t":"panicked","v":"the worker could not encode the outcome: {e}"}}"#)
    });
    Some((state, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (s, t) = encode::<u32, String>(&Ok(5)).unwrap();
        assert_eq!(s, "d");
        assert_eq!(decode::<u32, String>("a", &t), Ok(5));
        let (s, t) = encode::<u32, String>(&Err(Error::Cancelled)).unwrap();
        assert_eq!((s, t.as_str()), ("c", CANCELLED));
        let (_, t) = encode::<u32, String>(&Err(Error::Job("no".into()))).unwrap();
        assert_eq!(decode::<u32, String>("a", &t), Err(Error::Job(RemoteError::Job("no".into()))));
        assert!(encode::<u32, String>(&Err(Error::ShutDown)).is_none());
        let dead = r#"{"t":"dead","v":{"reason":"boom","deliveries":3}}"#;
        assert!(matches!(
            decode::<u32, String>("a", dead),
            Err(Error::Job(RemoteError::DeadLettered { deliveries: 3, .. }))
        ));
        assert!(matches!(decode::<u32, String>("a", "{"), Err(Error::Job(RemoteError::Decode { .. }))));
    }
}
