#!/usr/bin/env python3
"""Side by side with the Python originals: the same workloads, the same n, per item.

    python3 benches/python/run.py                 # every row (2, 3, 4, 5, 7); 10-25 min
    python3 benches/python/run.py --rows 3,7      # some rows
    python3 benches/python/run.py --limit 20      # a shorter time limit for the Python side

Steps:
1. Creates a virtual environment in `<target>/bench/python-venv` (the cargo target
   directory: `$CARGO_TARGET_DIR`, else `target/`) and installs `requirements.txt` into it:
   `more-executors` and `aiojobs` from PyPI.
2. For each row, runs `workloads.py` (one process per measurement) at n = start, start x
   factor, ... until a run does not finish within the time limit (60 s; the process is
   stopped) or the next n would not fit in memory. The largest n that finished is the row's n.
   Before that it picks the faster of two thread-pool sizes for the row (2 threads, like
   the Rust runtime's 2 workers, and 6, the `ThreadPoolExecutor` default on 2 cores).
3. Runs the Rust row at that n (`cargo bench --bench compare -- --only ROW --n N --json ...`:
   the harness's interleaved rounds and median) and prints a table: Python and Rust time
   per item, their ratio against the target (>= 20x, >= 100x for rows 2 and 4), and how
   the Python time per item grew from the smallest to the largest n.

Writes `<target>/bench/python-compare.json`. Uses only the standard library; not run by CI.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

ROWS = {
    # id: (what, Rust row id in compare.json, target ratio Python / Rust)
    "2": ("thread pool + map + retry + throttle(100) + timeout(10 s)", "2a", 100.0),
    "3": ("poll: n outstanding, one poll call resolves all", "3", 20.0),
    "4": ("realistic poll: resolved at the 3rd sighting", "4", 100.0),
    "5": ("retry: fail once, zero delay", "5", 20.0),
    "7": ("jobs: aiojobs scheduler, limit 100", "7a", 20.0),
}
WORKER_CHOICES = (2, 6)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def venv_python(bench_dir):
    venv = bench_dir / "python-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log("installing requirements.txt into the virtual environment")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(HERE / "requirements.txt")],
        check=True,
    )
    return python


def versions(python):
    out = subprocess.run(
        [str(python), "-c", "import sys, importlib.metadata as m; "
         "print(sys.version.split()[0], m.version('more-executors'), m.version('aiojobs'))"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return {"python": out[0], "more-executors": out[1], "aiojobs": out[2]}


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def run_python(python, row, n, workers, limit):
    """One measurement; None when the process did not finish within `limit` seconds."""
    cmd = [str(python), str(HERE / "workloads.py"), row, str(n), "--workers", str(workers)]
    t0 = time.perf_counter()
    try:
        # A little grace for interpreter start-up and exit; the measured seconds decide.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 15)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"workloads.py {row} {n} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result, time.perf_counter() - t0


def pick_workers(python, row, n):
    best = (WORKER_CHOICES[0], float("inf"))
    for w in WORKER_CHOICES:
        r, _ = run_python(python, row, n, w, 60)
        us = r["us_per_item"] if r else float("inf")
        log(f"    workers {w}: {us:.1f} us/item at n = {n}")
        if us < best[1]:
            best = (w, us)
    return best[0]


def scan(python, row, args):
    """Grows n geometrically; returns the steps and why the scan stopped."""
    workers = 0 if row == "7" else pick_workers(python, row, args.start)
    steps = []
    n = args.start
    stop = None
    while True:
        r, wall = run_python(python, row, n, workers or 2, args.limit)
        if r is None or r["seconds"] > args.limit:
            took = f"{r['seconds']:.1f} s" if r else f"stopped after {wall:.0f} s"
            stop = {"n": n, "reason": f"did not finish within {args.limit:.0f} s ({took})"}
            log(f"    n = {n:>9}: {stop['reason']}")
            break
        steps.append(r)
        log(f"    n = {n:>9}: {r['seconds']:7.2f} s, {r['us_per_item']:9.2f} us/item ({r['cpu_us_per_item']:.2f} cpu), "
            f"peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB")
        nxt = n * args.factor
        if args.max_n and nxt > args.max_n:
            stop = {"n": nxt, "reason": f"not run: above --max-n {args.max_n}"}
            break
        # Memory guard: the peak RSS per item so far, at the next n, must fit in half of
        # what the machine has available now.
        need = r["peak_rss_bytes"] / n * nxt
        if need > mem_available() / 2:
            stop = {"n": nxt, "reason": f"not run: would need about {need / 2**30:.1f} GiB"}
            log(f"    n = {nxt:>9}: {stop['reason']}")
            break
        n = nxt
    return {"workers": workers, "steps": steps, "stop": stop}


def run_rust(row, rust_id, n, bench_dir, rounds):
    out = bench_dir / f"python-compare-rust-{row}.json"
    cmd = ["cargo", "bench", "--quiet", "--bench", "compare", "--", "--only", row, "--n", str(n),
           "--rounds", str(rounds), "--json", str(out)]
    log("    " + " ".join(cmd))
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    doc = json.loads(out.read_text())
    match = [r for r in doc["rows"] if r["workload"] == rust_id and r["n"] == n]
    if not match:
        raise RuntimeError(f"no row {rust_id} at n = {n} in {out}")
    return match[0]["project_ns_per_op"] / 1000.0, match[0]["project_cpu_ns_per_op"] / 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated ids (default: all)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds a Python run may take (60)")
    parser.add_argument("--start", type=int, default=1000, help="first n (1000)")
    parser.add_argument("--factor", type=int, default=2, help="growth of n per step (2)")
    parser.add_argument("--max-n", type=int, default=0, help="never run the Python side above this n")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the Rust harness (5)")
    parser.add_argument("--no-rust", action="store_true", help="the Python side only")
    args = parser.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    for r in rows:
        if r not in ROWS:
            parser.error(f"unknown row {r!r}: choose among {', '.join(ROWS)}")
    if args.factor < 2 or args.start < 1:
        parser.error("--factor must be at least 2 and --start at least 1")

    bench_dir = target_dir() / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    python = venv_python(bench_dir)
    vers = versions(python)
    log(f"Python {vers['python']}, more-executors {vers['more-executors']}, aiojobs {vers['aiojobs']}")

    load_start = os.getloadavg()
    results = []
    for row in rows:
        what, rust_id, target = ROWS[row]
        log(f"[{row}] {what}")
        s = scan(python, row, args)
        if not s["steps"]:
            log(f"    no n finished within {args.limit:.0f} s")
            results.append({"row": row, "what": what, "target": target, **s})
            continue
        first, last = s["steps"][0], s["steps"][-1]
        rust_us, rust_cpu_us = (None, None) if args.no_rust else run_rust(row, rust_id, last["n"], bench_dir, args.rounds)
        ratio = last["us_per_item"] / rust_us if rust_us else None
        cpu_ratio = last["cpu_us_per_item"] / rust_cpu_us if rust_cpu_us else None
        results.append({
            "row": row, "what": what, "rust_row": rust_id, "target": target, **s,
            "n": last["n"], "python_us_per_item": last["us_per_item"], "rust_us_per_item": rust_us,
            "python_cpu_us_per_item": last["cpu_us_per_item"], "rust_cpu_us_per_item": rust_cpu_us,
            "ratio": ratio, "cpu_ratio": cpu_ratio, "pass": None if ratio is None else ratio >= target,
            "python_growth": last["us_per_item"] / first["us_per_item"],
            "growth_from_n": first["n"],
        })

    doc = {"versions": vers, "limit_seconds": args.limit, "start": args.start, "factor": args.factor,
           "cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "rows": results}
    (bench_dir / "python-compare.json").write_text(json.dumps(doc, indent=2))

    print()
    print(f"{'row':<4} {'workload':<58} {'n':>9} {'Python us':>10} {'Rust us':>9} {'ratio':>8} {'target':>7} {'pass':<5} "
          f"{'cpu ratio':>9}  Python growth")
    print("-" * 150)
    for r in results:
        if "n" not in r:
            print(f"{r['row']:<4} {r['what']:<58} no Python run finished within {args.limit:.0f} s")
            continue
        rust = f"{r['rust_us_per_item']:.3f}" if r["rust_us_per_item"] else "-"
        ratio = f"{r['ratio']:.0f}x" if r["ratio"] else "-"
        cpu_ratio = f"{r['cpu_ratio']:.0f}x" if r["cpu_ratio"] else "-"
        ok = {True: "PASS", False: "MISS", None: "-"}[r["pass"]]
        print(f"{r['row']:<4} {r['what']:<58} {r['n']:>9} {r['python_us_per_item']:>10.1f} {rust:>9} {ratio:>8} "
              f"{'>= %.0fx' % r['target']:>7} {ok:<5} {cpu_ratio:>9}  {r['python_growth']:.2f}x from n = {r['growth_from_n']}")
        print(f"{'':<4} Python us/item by n: " + ", ".join(f"{s['n']}: {s['us_per_item']:.1f}" for s in r["steps"])
              + f"; stops at n = {r['stop']['n']}: {r['stop']['reason']}"
              + (f"; thread pool of {r['workers']}" if r["workers"] else ""))
    print()
    print("Python us = seconds per item of one run at the largest n that finished; Rust us = the")
    print("harness's median over its rounds at the same n; ratio = Python / Rust (higher is better);")
    print("cpu ratio = the same from the CPU time of all threads of each process (it leaves out")
    print("time spent waiting for a core). Python growth = its time per item at the largest n over")
    print("that at the smallest (1.0 = linear).")
    print(f"wrote {bench_dir / 'python-compare.json'}")


if __name__ == "__main__":
    main()
