#!/usr/bin/env python3
"""Writes a Rust program that builds a stack of N layers over `BlockingPool`, submits one job
and waits for it. Used to measure how compile time grows with stack depth.

usage: gen_deep_stack.py DEPTH [PATTERN] > file.rs
PATTERN is a comma-separated cycle of layer names (map, flat_map, retry, timeout, limit,
cancel_on_shutdown, poll); the default mixes every layer.
"""
import sys

LAYERS = {
    "map": "    let s = s.with_map(|x: u64| x + 1);",
    "flat_map": "    let s = s.with_flat_map(|x: u64| async move { Ok::<u64, Error<Failure>>(x + 1) });",
    "retry": "    let s = s.with_retry(policy.clone());",
    "timeout": "    let s = s.with_timeout(Duration::from_secs(30)).unwrap();",
    "limit": "    let s = s.with_concurrency_limit(4).unwrap();",
    "cancel_on_shutdown": "    let s = s.with_cancel_on_shutdown();",
    "poll": "    let s = s.with_poll(PollLayer::new(|ds: &mut [PollDescriptor<u64, u64, Failure>]| {\n"
    "        for d in ds.iter_mut() {\n"
    "            let v = *d.input();\n"
    "            d.yield_result(v + 1);\n"
    "        }\n"
    "        Ok(None)\n"
    "    }));",
}

# The 19-layer stack of the original library's own test suite, plus a map to make 20.
DEFAULT = ("poll,map,retry,cancel_on_shutdown,retry,retry,limit,flat_map,timeout,poll,poll,"
           "cancel_on_shutdown,flat_map,limit,flat_map,map,timeout,map,retry,map")


def main():
    depth = int(sys.argv[1])
    pattern = (sys.argv[2] if len(sys.argv) > 2 else DEFAULT).split(",")
    layers = [pattern[i % len(pattern)] for i in range(depth)]
    out = [
        "//! Generated: a stack of %d layers (%s)." % (depth, ", ".join(layers)),
        "use std::time::Duration;",
        "use more_executors::prelude::*;",
        "",
        "#[derive(Debug, Clone)]",
        "struct Failure;",
        "",
        "fn main() {",
        "    let policy = ExponentialBackoff::builder().max_attempts(3).sleep(Duration::from_millis(1)).build().unwrap();",
        "    let s = BlockingPool::new(4).unwrap();",
    ]
    for name in layers:
        out.append(LAYERS[name])
    out += [
        "    let h = s.submit(|| Ok::<u64, Failure>(1));",
        "    let v = h.wait().unwrap();",
        "    println!(\"{v}\");",
        "    let _ = policy;",
        "}",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
