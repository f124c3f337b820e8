//! Property: under random yields, poll failures, panics, inner failures and cancels, every
//! handle resolves exactly once, to the outcome of the first event that decided it.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use more_executors_core::prelude::*;
use more_executors_poll::PollLayer;
use proptest::prelude::*;
use tokio::time::{Instant, sleep, sleep_until};

#[derive(Debug, Clone, Copy)]
enum Act {
    Nothing,
    Ok,
    Err,
    Twice,
}

#[derive(Debug, Clone)]
struct Tick {
    acts: Vec<Act>,
    /// None: the call succeeds; Some(false): it returns an error; Some(true): it panics.
    fail: Option<bool>,
}

#[derive(Debug, Clone)]
struct Scenario {
    inner_fail: Vec<bool>,
    approve: Vec<bool>,
    ticks: Vec<Tick>,
    /// (before tick k, job id)
    cancels: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct CallLog {
    inputs: Vec<u32>,
    outcomes: HashMap<u32, Result<String, String>>,
    failure: Option<Error<String>>,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![3 => Just(Act::Nothing), 2 => Just(Act::Ok), 1 => Just(Act::Err), 1 => Just(Act::Twice)]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..24).prop_flat_map(|n| {
        let tick = (
            prop::collection::vec(act(), 1..8),
            prop_oneof![6 => Just(None), 1 => Just(Some(false)), 1 => Just(Some(true))],
        )
            .prop_map(|(acts, fail)| Tick { acts, fail });
        (
            prop::collection::vec(prop::bool::weighted(0.15), n),
            prop::collection::vec(prop::bool::weighted(0.6), n),
            prop::collection::vec(tick, 0..6),
            prop::collection::vec((0usize..7, 0..n), 0..10),
        )
            .prop_map(|(inner_fail, approve, ticks, cancels)| Scenario {
                inner_fail,
                approve,
                ticks,
                cancels,
            })
    })
}

struct Outcome {
    results: Vec<Result<String, Error<String>>>,
    /// (calls started before the cancel, job id, cancel's answer)
    cancels: Vec<(usize, usize, bool)>,
    log: Vec<CallLog>,
}

fn run(s: &Scenario) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async {
        let log: Arc<Mutex<Vec<CallLog>>> = Arc::default();
        let (l, ticks) = (log.clone(), s.ticks.clone());
        let approve = s.approve.clone();
        let layer = PollLayer::new(move |ds: &mut [D]| {
            let i = l.lock().unwrap().len();
            let inputs: Vec<u32> = ds.iter().map(|d| *d.input()).collect();
            let tick = ticks.get(i);
            for d in ds.iter_mut() {
                let id = *d.input();
                match tick.map(|t| t.acts[id as usize % t.acts.len()]) {
                    None => {
                        d.yield_result(format!("final-{id}"));
                    }
                    Some(Act::Nothing) => {}
                    Some(Act::Ok) => {
                        d.yield_result(format!("ok-{i}-{id}"));
                    }
                    Some(Act::Err) => {
                        d.yield_error(format!("err-{i}-{id}"));
                    }
                    Some(Act::Twice) => {
                        d.yield_result(format!("ok-{i}-{id}"));
                        d.yield_error(format!("ignored-{i}-{id}"));
                    }
                }
            }
            let outcomes = ds.iter().filter_map(|d| Some((*d.input(), d.outcome()?.clone()))).collect();
            let failure = match tick.and_then(|t| t.fail) {
                None => None,
                Some(false) => Some(Error::Job(format!("fail-{i}"))),
                Some(true) => Some(Error::Panicked(format!("panic-{i}"))),
            };
            l.lock().unwrap().push(CallLog { inputs, outcomes, failure: failure.clone() });
            match failure {
                None => Ok(None),
                Some(Error::Job(e)) => Err(e),
                Some(_) => panic!("panic-{i}"),
            }
        })
        .default_interval(Duration::from_secs(1))
        .unwrap()
        .first_poll_delay(Duration::from_millis(10))
        .cancel_fn(move |id: &u32| Ok(approve[*id as usize]));
        let exec = exec(layer);
        let t0 = Instant::now();
        let handles: Vec<_> = s
            .inner_fail
            .iter()
            .enumerate()
            .map(|(id, &fail)| {
                exec.submit(
                    move || async move { if fail { Err(format!("inner-{id}")) } else { Ok(id as u32) } },
                )
            })
            .collect();
        sleep(Duration::from_millis(5)).await;
        let mut cancels = Vec::new();
        for k in 0..=s.ticks.len() + 1 {
            if k > 0 {
                sleep_until(t0 + Duration::from_millis(510) + Duration::from_secs(k as u64 - 1)).await;
            }
            for &(_, id) in s.cancels.iter().filter(|(at, _)| *at == k) {
                let calls = log.lock().unwrap().len();
                cancels.push((calls, id, handles[id].cancel()));
            }
        }
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await);
        }
        let log = log.lock().unwrap().clone();
        Outcome { results, cancels, log }
    })
}

/// The index of the call that decided `id`, and what it decided.
fn decided(log: &[CallLog], id: u32) -> Option<(usize, Result<String, Error<String>>)> {
    log.iter().enumerate().find_map(|(i, c)| {
        if !c.inputs.contains(&id) {
            return None;
        }
        match (c.outcomes.get(&id), &c.failure) {
            (Some(r), _) => Some((i, r.clone().map_err(Error::Job))),
            (None, Some(f)) => Some((i, Err(f.clone()))),
            (None, None) => None,
        }
    })
}

fn check(s: &Scenario, out: &Outcome) -> Result<(), TestCaseError> {
    for (id, result) in out.results.iter().enumerate() {
        let idu = id as u32;
        let seen_in: Vec<usize> =
            out.log.iter().enumerate().filter(|(_, c)| c.inputs.contains(&idu)).map(|(i, _)| i).collect();
        let accepted = out.cancels.iter().find(|(_, cid, ok)| *cid == id && *ok);
        if s.inner_fail[id] {
            prop_assert_eq!(result, &Err(Error::Job(format!("inner-{id}"))));
            prop_assert!(seen_in.is_empty(), "inner failure was polled");
            prop_assert!(accepted.is_none());
            continue;
        }
        let decision = decided(&out.log, idu);
        match accepted {
            Some(&(calls_before, _, _)) => {
                prop_assert!(result.as_ref().is_err_and(|e| e.is_cancelled()), "{id}: {result:?}");
                prop_assert!(s.approve[id], "cancel accepted though the cancel function refuses");
                prop_assert!(seen_in.iter().all(|&i| i < calls_before), "cancelled future polled again");
                if let Some((i, _)) = &decision {
                    prop_assert!(*i >= calls_before, "cancel accepted after the poll resolved it");
                }
            }
            None => {
                let (i, expected) =
                    decision.clone().ok_or_else(|| TestCaseError::fail(format!("{id} never decided")))?;
                prop_assert_eq!(result, &expected, "job {}", id);
                prop_assert!(seen_in.iter().all(|&j| j <= i), "a resolved future was polled again");
            }
        }
        // Every refused cancel had a reason.
        for &(calls_before, _, ok) in out.cancels.iter().filter(|(_, cid, _)| *cid == id) {
            if !ok {
                let resolved_before = decision.as_ref().is_some_and(|(i, _)| *i < calls_before);
                let cancelled_before = accepted.is_some_and(|a| a.0 <= calls_before);
                prop_assert!(
                    !s.approve[id] || resolved_before || cancelled_before,
                    "cancel of {id} refused for no reason"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_handle_resolves_exactly_once_to_its_first_decision(s in scenario()) {
        let out = run(&s);
        prop_assert_eq!(out.results.len(), s.inner_fail.len());
        check(&s, &out)?;
    }
}
