#!/usr/bin/python3
"""The imgvec command-line tool end to end: index a copy of the test images, search, filter,
remove, reopen with another encoder, exit codes.

    cli_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR [TINY_BUNDLE]
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path


def run(*args, expect=0):
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if r.returncode != expect:
        sys.exit(f"FAILED: imgvec {' '.join(map(str, args))}: exit {r.returncode}, expected {expect}\n{r.stdout}\n{r.stderr}")
    return r


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


BIN = sys.argv[1]
images, scratch = Path(sys.argv[2]), Path(sys.argv[3])
bundle = sys.argv[4] if len(sys.argv) > 4 else None
shutil.rmtree(scratch, ignore_errors=True)
photos, db = scratch / "photos", scratch / "db"
shutil.copytree(images, photos)

r = json.loads(run("index", photos, "--db", db, "--json").stdout)
check(r["added"] == 8 and r["failed"] == 4 and r["count"] == 8, f"index adds 8 and reports 4 broken files: {r}")
check(all(f["error"].startswith(f["source"]) for f in r["failures"]), "each failure names its file")
r = json.loads(run("index", photos, "--db", db, "--json").stdout)
check(r["unchanged"] == 8 and r["added"] == 0, "indexing again changes nothing")

hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "3", "--json").stdout)
check(len(hits) == 3 and hits[0]["source"] == str(photos / "giphy.gif") and hits[0]["score"] > 0.999,
      "an indexed image finds itself first")
hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "10", "--where", "format=jpeg",
                      "--json").stdout)
check(hits and all(h["format"] == "jpeg" for h in hits), "--where format=jpeg keeps only JPEGs")
hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "--min-score", "0.99", "--json").stdout)
check(all(h["score"] >= 0.99 for h in hits) and len(hits) >= 1, "--min-score drops weaker matches")
table = run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "2").stdout
check(table.splitlines()[0].split() == ["rank", "score", "id", "image"] and "giphy.gif" in table, "a readable table by default")

shutil.copy(photos / "baboon.256.pgm", photos / "baboon-copy.pgm")
run("index", photos, "--db", db)
groups = json.loads(run("dups", "--db", db, "--json").stdout)
check(any(g["exact"] and len(g["images"]) == 2 for g in groups), f"dups finds the copied file: {groups}")
check("identical group of 2" in run("dups", "--db", db).stdout, "dups prints groups")
(photos / "baboon-copy.pgm").unlink()
run("index", photos, "--db", db, "--remove-missing")

import numpy as np  # noqa: E402
run("export", "--db", db, "--metadata", scratch / "meta.jsonl", "--vectors", scratch / "v.npy", "--ids", scratch / "ids.npy")
records = [json.loads(line) for line in (scratch / "meta.jsonl").read_text().splitlines()]
vectors, ids = np.load(scratch / "v.npy"), np.load(scratch / "ids.npy")
check(len(records) == 8 and vectors.shape == (8, 448) and ids.dtype == np.uint64 and
      sorted(r["id"] for r in records) == list(ids), "export writes records and vectors numpy can read")
check(np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5), "exported vectors are unit length")
run("export", "--db", db, "--metadata", scratch / "meta.json")
check(len(json.loads((scratch / "meta.json").read_text())) == 8, "export as one JSON array")
run("export", "--db", db, "--vectors", scratch / "v.npy", expect=2)

stats = json.loads(run("stats", "--db", db, "--json").stdout)
check(stats["count"] == 8 and stats["dimension"] == 448 and stats["index"] == "hnsw" and
      stats["storage"] == "float32", f"stats: {stats}")

half_db = scratch / "half-db"
run("index", photos, "--db", half_db, "--float16")
half_stats = json.loads(run("stats", "--db", half_db, "--json").stdout)
check(half_stats["storage"] == "float16" and half_stats["memory_bytes"] < stats["memory_bytes"],
      f"--float16 makes a smaller float16 index: {half_stats}")
half_hits = json.loads(run("search", "--db", half_db, "--image", photos / "giphy.gif", "-k", "3", "--json").stdout)
full_hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "3", "--json").stdout)
check([h["source"] for h in half_hits] == [h["source"] for h in full_hits] and
      all(abs(a["score"] - b["score"]) < 1e-3 for a, b in zip(half_hits, full_hits)),
      "a float16 database ranks as the float32 one does, scores within 1e-3")
run("index", photos, "--db", scratch / "bad-db", "--float16", "--flat", expect=2)
giphy = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "1", "--json").stdout)[0]["id"]
run("remove", "--db", db, giphy)
check(json.loads(run("stats", "--db", db, "--json").stdout)["count"] == 7, "remove takes an image out, and it stays out")
run("remove", "--db", db, 999999, expect=1)

err = run("search", "--db", db, "--text", "a cat", expect=1).stderr
check("images only" in err, "text search without a text model fails clearly")
check("unknown option" in run("search", "--db", db, "--image", "x", "--bogus", expect=2).stderr, "usage errors exit 2")
run("search", "--db", db, expect=2)
run("frobnicate", expect=2)
check("no such" in run("search", "--db", scratch / "none", "--image", photos / "giphy.gif", expect=1).stderr.lower(),
      "a missing database is a failure naming it")

if bundle:
    clip_db = scratch / "clip-db"
    r = json.loads(run("index", photos, "--db", clip_db, "--model", bundle, "--json").stdout)
    check(r["added"] == 8, "index with a CLIP bundle")
    hits = json.loads(run("search", "--db", clip_db, "--text", "a photo of a dog", "-k", "3", "--json").stdout)
    check(len(hits) == 3, "text search with CLIP (the database remembers its model)")
    err = run("search", "--db", db, "--image", photos / "Iggy.256.ppm", "--model", bundle, expect=1).stderr
    check("built with encoder" in err and "kind=descriptor" in err, "a database refuses another encoder, naming both")
    tokens = json.loads(run("tokenize", "--model", bundle, "a photo of a dog").stdout)["tokens"]
    check(tokens == [320, 1125, 539, 320, 1929], "tokenize")
    emb = json.loads(run("embed", "--model", bundle, "--text", "a photo of a dog").stdout)["embedding"]
    check(len(emb) == 32 and abs(sum(v * v for v in emb) - 1) < 1e-4, "embed gives a unit vector")
shutil.rmtree(scratch)
