#!/usr/bin/python3
"""One-shot CLI costs, each command a fresh process; medians of interleaved runs.

    bench/cli_oneshot.py IMGVEC DB [--runs 9] [--policy ACTIVE]
    bench/cli_oneshot.py IMGVEC --model BUNDLE [--images 10000] [--runs 9]

The first form: `imgvec --help` (start-up, no libtorch), and a CLIP text search on an idle machine
and beside a busy process (OpenMP wait policy). DB is a database indexed with a CLIP bundle
(`imgvec index DIR --db DB --model BUNDLE`). Each run leaves OMP_WAIT_POLICY unset (the CLI then
uses PASSIVE) unless --policy sets it, to compare.

The second form: the commands that embed nothing (stats, meta, tag, export, search --like, dups)
on a CLIP database of --images records, which it makes in a temporary folder by importing vectors
(its images are records only; no file is read), against a text search, which loads the model.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, env):
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr.decode()}")
    return time.perf_counter() - start


def text_search_costs(a, env):
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


def clip_database(imgvec, bundle, images, folder, env):
    """A CLIP database of `images` records: the model's dimension, random unit vectors."""
    import numpy as np
    probe = subprocess.run([imgvec, "embed", "--model", bundle, "--text", "x"], env=env, capture_output=True, check=True)
    dim = json.loads(probe.stdout)["dimension"]
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((images, dim)).astype("<f4")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, images + 1, dtype="<u8")
    np.save(os.path.join(folder, "v.npy"), vectors)
    np.save(os.path.join(folder, "ids.npy"), ids)
    with open(os.path.join(folder, "r.jsonl"), "w") as out:
        for i in ids:
            out.write(json.dumps({"id": int(i), "source": f"/photos/{i:06d}.jpg", "content_hash": f"{int(i):016x}",
                                  "file_size": 1000, "mtime_ns": 0, "width": 640, "height": 480, "format": "jpeg",
                                  "added_ms": 0, "metadata": {"album": "a" if i % 2 else "b"}, "tags": [],
                                  "photo": {}}) + "\n")
    db = os.path.join(folder, "db")
    subprocess.run([imgvec, "import", "--vectors", os.path.join(folder, "v.npy"), "--ids", os.path.join(folder, "ids.npy"),
                    "--metadata", os.path.join(folder, "r.jsonl"), "--db", db, "--model", bundle],
                   env=env, capture_output=True, check=True)
    return db


def no_embedding_costs(a, env):
    folder = tempfile.mkdtemp(prefix="imgvec-oneshot-")
    try:
        db = clip_database(a.imgvec, a.model, a.images, folder, env)
        commands = {
            "stats": ["stats", "--db", db],
            "stats --json": ["stats", "--db", db, "--json"],
            "meta ID": ["meta", "--db", db, "17"],
            "tag ID --add x": ["tag", "--db", db, "17", "--add", "x"],
            "export --metadata -": ["export", "--db", db, "--metadata", "-"],
            "search --like ID": ["search", "--db", db, "--like", "17", "-k", "10"],
            "dups --no-verify": ["dups", "--db", db, "--no-verify"],
            "search --text (loads the model)": ["search", "--db", db, "--text", "a dog", "-k", "10"],
        }
        times = {name: [] for name in commands}
        for _ in range(a.runs):
            for name, args in commands.items():
                times[name].append(timed([a.imgvec] + args, env))
        print(f"CLIP database of {a.images} records ({os.path.basename(a.model)}), medians of {a.runs} interleaved runs:")
        for name, t in times.items():
            print(f"  {name:34s} {statistics.median(t) * 1000:8.1f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("imgvec")
    p.add_argument("db", nargs="?")
    p.add_argument("--runs", type=int, default=9)
    p.add_argument("--policy", help="OMP_WAIT_POLICY for the comparison runs (e.g. ACTIVE)")
    p.add_argument("--model", help="a CLIP bundle: time the commands that embed nothing on a database made with it")
    p.add_argument("--images", type=int, default=10000)
    a = p.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if a.model:
        no_embedding_costs(a, env)
    elif a.db:
        text_search_costs(a, env)
    else:
        p.error("give DB, or --model BUNDLE")


if __name__ == "__main__":
    main()
