#!/usr/bin/python3
"""imgvec serve under a bounded load on loopback, against in-process search in the same run.

    bench/server_load.py [--build build] [--images 100000] [--clients 4] [--requests 20000]
                         [--rounds 3] [--bundle build/tests/models/tiny.pt] [--wal-adds 2000]

Per round, interleaved: (1) search_by_vector in one process on as many threads as cores (the
baseline); (2) `imgvec serve` on the same database and C HTTP clients with keep-alive sending
R searches by vector; (3) the same by id and by a base64 image, each with one more client
uploading new images meanwhile. With --bundle, (4) text searches on a database of 10k images
embedded by that bundle (ten distinct texts: the query cache's case). Then the write-ahead log's
cost per acknowledged add, on 1 and 4 threads. Prints medians over rounds as a markdown table,
writes it to BUILD/bench/server-load.md (bench/report.py appends that to docs/benchmarks.md) and
the raw figures beside it as JSON. Any failed request fails the run.
The databases are made once, into BUILD/bench/server-data/ (100k images: about a minute).
Run with nothing else busy; the clients share the machine's cores with the server.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from server_support import Server  # noqa: E402


def run_json(*cmd):
    print("+", " ".join(map(str, cmd)), file=sys.stderr, flush=True)
    r = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def caches():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return ", ".join(l.split(":")[0].strip() + " " + l.split(":")[1].strip()
                     for l in out.splitlines() if l.strip().startswith(("L2 cache", "L3 cache")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--images", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bundle")
    ap.add_argument("--wal-adds", type=int, default=2000)
    ap.add_argument("--out", help="the markdown section (default BUILD/bench/server-load.md, which "
                                  "bench/report.py appends to docs/benchmarks.md)")
    args = ap.parse_args()
    build = Path(args.build)
    tool = build / "bench" / "imgvec_bench_server"
    binary = build / "imgvec"
    data = build / "bench" / "server-data"
    data.mkdir(parents=True, exist_ok=True)
    db = data / f"db-{args.images}"
    if not (db / "MANIFEST").exists():
        shutil.rmtree(db, ignore_errors=True)
        print(run_json(tool, "make-db", db, args.images), file=sys.stderr)
    queries = data / f"queries-{args.images}.f32"
    if not queries.exists():
        run_json(tool, "queries", db, queries, 1000)
    image = ROOT / "tests" / "data" / "images" / "ukbench01380.jpg"
    cores = os.cpu_count()
    work = data / "serving"
    results = {"inprocess": [], "vector": [], "id": [], "image": [], "text": []}

    for round_ in range(args.rounds):
        results["inprocess"].append(run_json(tool, "inprocess", db, queries, cores, 5))
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(db, work)  # uploads change it; every round starts from the same data
        server = Server(binary, "--db", work, "--threads", 8, "--save-every", 100000, "--save-interval", 3600)
        try:
            url = server.base
            results["vector"].append(run_json(tool, "load", url, "vector", args.clients, args.requests,
                                              "--queries", queries))
            key = ["--key", server.token]
            results["id"].append(run_json(tool, "load", url, "id", args.clients, args.requests, "--uploader", *key))
            results["image"].append(run_json(tool, "load", url, "image", args.clients, args.requests // 10,
                                             "--image", image, "--uploader", *key))
        finally:
            server.stop()
        if args.bundle:
            text_db = data / "db-text-10000"
            if not (text_db / "MANIFEST").exists():
                shutil.rmtree(text_db, ignore_errors=True)
                run_json(tool, "make-db", text_db, 10000, args.bundle)
            server = Server(binary, "--db", text_db, "--model", args.bundle, "--read-only")
            try:
                results["text"].append(run_json(tool, "load", server.base, "text", args.clients, args.requests))
            finally:
                server.stop()
    shutil.rmtree(work, ignore_errors=True)
    wal = [run_json(tool, "wal", data / "wal", args.wal_adds, t) for t in (1, 4)]

    def med(kind, key, sub=None):
        rows = [r[sub] if sub else r for r in results[kind]]
        return statistics.median(r[key] for r in rows) if rows else None

    base = med("inprocess", "per_second")
    lines = []
    emit = lines.append  # the section is printed and written below
    emit(f"\nMachine: {cpu_name()}, {cores} cores, {caches()}. {args.images} images (built-in encoder, "
          f"448-d, HNSW float32), {args.clients} HTTP clients with keep-alive on loopback, limit 10; "
          f"median of {args.rounds} interleaved rounds.\n")
    emit("| query | requests/s | vs in-process | p50 ms | p99 ms | p99/p50 | errors | uploads meanwhile |")
    emit("|---|---:|---:|---:|---:|---:|---:|---|")
    emit(f"| in-process `search_by_vector`, {cores} threads | {base:.0f} | 1.00 | "
          f"{med('inprocess', 'p50_ms'):.3f} | {med('inprocess', 'p99_ms'):.3f} | "
          f"{med('inprocess', 'p99_ms') / med('inprocess', 'p50_ms'):.1f} | 0 | none |")
    for kind, label in (("vector", "HTTP by vector"), ("id", "HTTP by id"), ("image", "HTTP by image (base64 JPEG)"),
                        ("text", "HTTP by text (10k, tiny CLIP, cached)")):
        if not results[kind]:
            continue
        rps, p50, p99 = med(kind, "per_second"), med(kind, "p50_ms"), med(kind, "p99_ms")
        errors = sum(r["errors"] for r in results[kind])
        uploads = "none"
        if "uploads" in results[kind][0]:
            uploads = (f"{med(kind, 'per_second', 'uploads'):.0f}/s, p50 {med(kind, 'p50_ms', 'uploads'):.1f} ms, "
                       f"{sum(r['uploads']['errors'] for r in results[kind])} errors")
        ratio = f"{rps / base:.2f}" if kind in ("vector", "id") else "-"
        emit(f"| {label} | {rps:.0f} | {ratio} | {p50:.3f} | {p99:.3f} | {p99 / p50:.1f} | {errors} | {uploads} |")
    emit("\nWrite-ahead log, per acknowledged add (built-in encoder, small images; median of 3):\n")
    emit("| writer threads | on_save µs/add | on_write µs/add | log cost µs/add | adds per flush |")
    emit("|---:|---:|---:|---:|---:|")
    for w in wal:
        emit(f"| {w['threads']} | {w['on_save_us_per_add']:.0f} | {w['on_write_us_per_add']:.0f} | "
              f"{w['on_write_us_per_add'] - w['on_save_us_per_add']:.0f} | {w['adds_per_flush']:.2f} |")
    section = "\n".join(lines) + "\n"
    sys.stdout.write(section)
    md = Path(args.out) if args.out else build / "bench" / "server-load.md"
    md.write_text(f"Measured by `bench/server_load.py --images {args.images} --clients {args.clients} --requests "
                  f"{args.requests} --rounds {args.rounds}{' --bundle ' + args.bundle if args.bundle else ''}` "
                  f"on {datetime.date.today()}.\n" + section)
    out = md.with_suffix(".json")
    out.write_text(json.dumps({"results": results, "wal": wal, "cpu": cpu_name(), "caches": caches()}, indent=1))
    sys.stderr.write(f"\nsection: {md}; raw figures: {out}\n")
    failed = sum(r["errors"] for rows in results.values() for r in rows if "errors" in r)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
