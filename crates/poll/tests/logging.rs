//! What the poll layer logs. One test in this binary, so no other test registers the
//! callsites without a subscriber first.

mod common;

use std::time::Duration;

use common::*;
use more_executors_poll::PollLayer;

#[tokio::test(start_paused = true)]
async fn ticks_failures_and_cancel_refusals_are_traced() {
    let logs = Logs::default();
    let _g = logs.install();

    // A debug event per tick, with the executor's name and the batch size.
    let exec = exec(
        PollLayer::new(|ds: &mut [D]| {
            resolve_all(ds);
            Ok(None)
        })
        .name("tasks"),
    );
    submit(&exec, 1).await.unwrap();
    // An error event when the poll function fails.
    let failing = common::exec(PollLayer::new(|_: &mut [D]| Err("nope".to_string())));
    assert!(submit(&failing, 1).await.is_err());
    let text = logs.text();
    assert!(
        text.contains("poll tick") && text.contains("executor=\"tasks\"") && text.contains("batch=1"),
        "{text}"
    );
    assert!(
        text.contains("ERROR") && text.contains("poll function failed") && text.contains("nope"),
        "{text}"
    );

    // Cancel refusals: debug for `false`, error for an error or a panic.
    let exec = common::exec(PollLayer::new(|_: &mut [D]| Ok(Some(Duration::from_secs(3600)))).cancel_fn(
        |id: &u32| match *id {
            13 => Err("cancel endpoint returned 500".to_string()),
            666 => panic!("cancel function bug"),
            _ => Ok(false),
        },
    ));
    let handles: Vec<_> = [3, 13, 666].into_iter().map(|id| submit(&exec, id)).collect();
    until(|| exec.pending() == 3).await;
    assert!(handles.iter().all(|h| !h.cancel()));
    let text = logs.text();
    assert!(text.contains("cancel refused by the poll executor's cancel function"), "{text}");
    assert!(
        text.contains("cancel function failed") && text.contains("cancel endpoint returned 500"),
        "{text}"
    );
    assert!(text.contains("cancel function panicked") && text.contains("cancel function bug"), "{text}");
}
