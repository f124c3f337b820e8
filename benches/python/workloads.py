"""One measured run of a workload of `benches/compare.rs`, written with the Python originals.

    python workloads.py ROW N [--workers W]

ROW is one of 2, 3, 4, 5, 7 (the ids of the Rust harness); N is the number of jobs. The
run prints one JSON line: the row, n, the wall-clock seconds from the first submission to
the last result, the seconds per item, the CPU time of all the process's threads over the
same span, the process's peak resident memory, and the checked sum of the outputs.

Each workload mirrors its Rust counterpart: the same job body, the same layer order
(outermost first in the Rust builder, last `with_*` call here), the same n semantics
(submit all n, then wait for every future in submission order). The Rust base executor is
a tokio runtime with 2 worker threads; here it is a thread pool (`--workers`, default 2).
Only `run.py` is meant to call this script, inside the virtual environment it creates.
"""

import argparse
import asyncio
import json
import resource
import sys
import threading
import time

from more_executors import Executors
from more_executors.retry import ExceptionRetryPolicy

# The Rust harness's gated poll uses an hour as its interval: the poll only runs when
# notified.
HOUR = 3600.0


def base(workers):
    return Executors.thread_pool(max_workers=workers)


def one():
    return 1


def row2(n, workers):
    """Full stack: map + throttle(100) + retry (never needed) + timeout(10 s)."""
    # Rust: ExecutorBuilder::new().map(+1).concurrency_limit(100).retry(default)
    #         .timeout(10 s).build(base): map is the outermost layer, timeout the innermost.
    exec_ = (
        base(workers)
        .with_timeout(10.0)
        .with_retry(ExceptionRetryPolicy())
        .with_throttle(100)
        .with_map(lambda x: x + 1)
    )
    start = time.perf_counter()
    cpu0 = time.process_time()
    futures = [exec_.submit(one) for _ in range(n)]
    total = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    exec_.shutdown(wait=False)
    return elapsed, cpu, total, 2 * n


def row3(n, workers):
    """Poll: n outstanding poll futures, resolved by one poll call once released."""
    release = threading.Event()

    def poll_fn(descriptors):
        if release.is_set():
            for d in descriptors:
                d.yield_result(d.result)
        return HOUR

    exec_ = base(workers).with_poll(poll_fn, default_interval=HOUR)
    start = time.perf_counter()
    cpu0 = time.process_time()
    futures = [exec_.submit(one) for _ in range(n)]
    # Wait until every inner job is done and its future is in the poll set (the Rust side
    # waits on `pending()`; the Python executor has no public equivalent).
    while len(exec_._poll_descriptors) < n:
        time.sleep(0.001)
    release.set()
    exec_.notify()
    total = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    exec_.shutdown(wait=False)
    return elapsed, cpu, total, n


def row4(n, workers):
    """Realistic poll: each future resolves on its third sighting, polled back to back."""

    def poll_fn(descriptors):
        for d in descriptors:
            seen = d.result
            seen[0] += 1
            if seen[0] >= 3:
                d.yield_result(1)
        return 0.0

    exec_ = base(workers).with_poll(poll_fn)
    start = time.perf_counter()
    cpu0 = time.process_time()
    futures = [exec_.submit(lambda: [0]) for _ in range(n)]
    total = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    exec_.shutdown(wait=False)
    return elapsed, cpu, total, n


class FailOnce:
    """A re-runnable job whose first run fails and whose later runs return 1."""

    def __init__(self):
        self.failed = False

    def __call__(self):
        if not self.failed:
            self.failed = True
            raise RuntimeError("first attempt fails")
        return 1


def row5(n, workers):
    """Retry: every job fails once, then succeeds; zero delay, at most 3 attempts."""
    policy = ExceptionRetryPolicy(max_attempts=3, sleep=0.0)
    exec_ = base(workers).with_retry(policy)
    start = time.perf_counter()
    cpu0 = time.process_time()
    futures = [exec_.submit(FailOnce()) for _ in range(n)]
    total = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    exec_.shutdown(wait=False)
    return elapsed, cpu, total, n


async def job():
    return 1


async def row7_main(n):
    import aiojobs

    # limit 100, unbounded pending queue (aiojobs: pending_limit=0), like the Rust row.
    scheduler = aiojobs.Scheduler(limit=100, pending_limit=0)
    start = time.perf_counter()
    cpu0 = time.process_time()
    jobs = []
    for _ in range(n):
        jobs.append(await scheduler.spawn(job()))
    total = 0
    for j in jobs:
        total += await j.wait()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    await scheduler.close()
    return elapsed, cpu, total, n


def row7(n, _workers):
    """Jobs: aiojobs scheduler with limit 100; spawn n jobs, then await each."""
    return asyncio.run(row7_main(n))


ROWS = {"2": row2, "3": row3, "4": row4, "5": row5, "7": row7}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", choices=sorted(ROWS))
    parser.add_argument("n", type=int)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    elapsed, cpu, total, expected = ROWS[args.row](args.n, args.workers)
    if total != expected:
        print(f"row {args.row}: sum {total}, expected {expected}", file=sys.stderr)
        sys.exit(2)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "row": args.row,
                "n": args.n,
                "workers": args.workers,
                "seconds": elapsed,
                "us_per_item": elapsed / args.n * 1e6,
                "cpu_seconds": cpu,
                "cpu_us_per_item": cpu / args.n * 1e6,
                "peak_rss_bytes": peak_kib * 1024,
                "sum": total,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
