#!/usr/bin/python3
"""One-shot CLI costs: `imgvec --help` (start-up, no libtorch), and a CLIP text search run as a
fresh process on an idle machine and beside a busy process (OpenMP wait policy). Medians of
interleaved runs.

    bench/cli_oneshot.py IMGVEC DB [--runs 9] [--policy ACTIVE]

DB is a database indexed with a CLIP bundle (`imgvec index DIR --db DB --model BUNDLE`). Each run
leaves OMP_WAIT_POLICY unset (the CLI then uses PASSIVE) unless --policy sets it, to compare.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def timed(cmd, env):
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr.decode()}")
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("imgvec")
    p.add_argument("db")
    p.add_argument("--runs", type=int, default=9)
    p.add_argument("--policy", help="OMP_WAIT_POLICY for the comparison runs (e.g. ACTIVE)")
    a = p.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    help_times = [timed([a.imgvec, "--help"], env) for _ in range(20)]
    print(f"imgvec --help: median {statistics.median(help_times) * 1000:.1f} ms over 20 runs")
    search = [a.imgvec, "search", "--db", a.db, "--text", "a dog on a beach", "-k", "3"]
    variants = {"default": env}
    if a.policy:
        variants[f"OMP_WAIT_POLICY={a.policy}"] = dict(env, OMP_WAIT_POLICY=a.policy)
    for busy in (False, True):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            times = {name: [] for name in variants}
            for _ in range(a.runs):
                for name, e in variants.items():
                    times[name].append(timed(search, e))
        finally:
            if hog:
                hog.kill()
        label = "beside a busy process" if busy else "idle machine"
        print(f"text search, {label}: " +
              "; ".join(f"{n} {statistics.median(t) * 1000:.0f} ms" for n, t in times.items()))


if __name__ == "__main__":
    main()
