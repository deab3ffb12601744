#!/usr/bin/python3
"""The imgvec command-line tool end to end: index a copy of the test images, search, filter,
remove, reopen with another encoder, exit codes.

    cli_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR [TINY_BUNDLE]
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
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
sys.path.insert(0, str(Path(__file__).parent))
from server_support import test_image_counts  # noqa: E402
GOOD, BAD = test_image_counts(BIN)  # 10 and 2 with WebP and TIFF built
bundle = sys.argv[4] if len(sys.argv) > 4 else None
shutil.rmtree(scratch, ignore_errors=True)
photos, db = scratch / "photos", scratch / "db"
shutil.copytree(images, photos)

# A database is never made among other files: the photo folder itself is refused, untouched.
before = sorted(p.name for p in photos.iterdir())
(photos / "index-001.jpg").write_bytes(b"the user's file")
err = run("index", photos, "--db", photos, expect=2).stderr
check("not empty" in err and sorted(p.name for p in photos.iterdir()) == sorted(before + ["index-001.jpg"]),
      "index refuses to make a database inside the photo folder, and touches nothing there")
(photos / "index-001.jpg").unlink()

# A first run over an empty or mistyped folder leaves no database behind.
empty = scratch / "empty"
empty.mkdir()
err = run("index", empty, "--db", scratch / "none-db", expect=1).stderr
check("found no images" in err and not (scratch / "none-db").exists(), "an empty first run creates nothing")
check("no such directory" in run("index", scratch / "typo", "--db", db, expect=1).stderr and not db.exists(),
      "a mistyped folder is named, and no database is created")
run("index", empty, "--db", scratch / "kept-db", "--keep-empty")
check((scratch / "kept-db" / "MANIFEST").exists(), "--keep-empty creates the empty database")
r = json.loads(run("index", photos, "--db", scratch / "kept-db", "--json", expect=3).stdout)
check(r["added"] == GOOD, "a database saved empty takes images later (this crashed before)")

r = json.loads(run("index", photos, "--db", db, "--json", expect=3).stdout)
check(r["added"] == GOOD and r["failed"] == BAD and r["count"] == GOOD,
      f"index adds {GOOD}, reports {BAD} broken files and exits 3: {r}")
check(all(f["error"].startswith(f["source"]) for f in r["failures"]), "each failure names its file")
generation = json.loads(run("stats", "--db", db, "--json").stdout)["generation"]
r = json.loads(run("index", photos, "--db", db, "--json").stdout)
check(r["unchanged"] == GOOD and r["added"] == 0 and r["failed"] == r["failed_unchanged"] == BAD,
      "indexing again changes nothing, and the files that failed before (unchanged) do not make it exit 3")
check(json.loads(run("stats", "--db", db, "--json").stdout)["generation"] == generation,
      "a run that changes nothing does not save")
r = json.loads(run("index", photos, "--db", db, "--refresh", "--json").stdout)
check(r["refreshed"] == 0 and r["unchanged"] == GOOD and r["without_facts"] == 0 and
      json.loads(run("stats", "--db", db, "--json").stdout)["generation"] == generation,
      "--refresh on images that already have their facts reads nothing and saves nothing")
again = run("index", photos, "--db", db)
check(f"{BAD} files failed as in an earlier run" in again.stderr and "skipped:" not in again.stderr,
      f"a rerun notes the known failures in one line: {again.stderr}")
run("index", photos, "--db", db, "--strict", expect=3)
(photos / "new-broken.jpg").write_bytes(b"\xff\xd8\xff broken")
err = run("index", photos, "--db", db, expect=3).stderr
check("new-broken.jpg" in err and "skipped:" in err, f"a file failing for the first time exits 3 and is named: {err}")
(photos / "new-broken.jpg").unlink()
run("index", photos, "--db", db)

hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "3", "--json").stdout)
check(len(hits) == 3 and hits[0]["record"]["source"] == str(photos / "giphy.gif") and hits[0]["score"] > 0.999,
      "an indexed image finds itself first")
hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "10", "--where", "format=jpeg",
                      "--json").stdout)
check(hits and all(h["record"]["format"] == "jpeg" for h in hits), "--where format=jpeg keeps only JPEGs")
# Photo facts: EXIF dates and cameras where the files have them, the file's time where not.
every = {Path(h["record"]["source"]).name: h["record"] for h in
         json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "50", "--json").stdout)}
canon = every["ukbench01380.jpg"]["photo"]
check(canon == {"taken": "2005-08-14T01:08:49", "taken_ms": canon["taken_ms"], "taken_source": "exif",
                "camera": "Canon PowerShot S230", "camera_make": "Canon", "camera_model": "Canon PowerShot S230"},
      f"a camera JPEG's date and camera show in --json: {canon}")
check("taken" not in every["ukbench09060.jpg"]["photo"] and every["ukbench09060.jpg"]["photo"]["camera"] == "NIKON E5700",
      "a zero EXIF date leaves the photo undated: a file's time is not when it was taken")
undated = [n for n, r in every.items() if "taken" not in r["photo"]]
newest = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "50", "--sort", "newest",
                        "--json").stdout)
order = [Path(h["record"]["source"]).name for h in newest]
check(undated and set(order[-len(undated):]) == set(undated), f"--sort newest puts the undated photos last: {order}")
recent = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "50", "--where",
                        "modified>=2000", "--json").stdout)
check(len(recent) == len(every), "the file's time is filtered under `modified`")
canons = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "50", "--where", "camera=canon*",
                        "--json").stdout)
check(sorted(Path(h["record"]["source"]).name for h in canons) ==
      sorted(n for n in every if n in ("ukbench01380.jpg", "ukbench09380.jpeg", "ukbench09380.webp",
                                       "alpha_channel_image.png")),
      "--where camera=canon* finds the Canon photos, in every container")
old = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "50", "--where", "taken<2007",
                     "--sort", "oldest", "--json").stdout)
check([h["record"]["photo"]["taken"][:10] for h in old] == ["2005-07-29", "2005-08-14", "2006-01-21", "2006-01-21"][:len(old)]
      and len(old) >= 3, f"--where taken<2007 --sort oldest lists the dated photos by date: {[h['record']['photo'] for h in old]}")
table = run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "3", "--sort", "newest").stdout
check(table.splitlines()[0].split() == ["rank", "score", "id", "taken", "image"], "a date column when sorted by date")
run("search", "--db", db, "--image", photos / "giphy.gif", "--where", "taken>=june", expect=2)
by_colour = json.loads(run("search", "--db", db, "--colour", "#2a6fdb", "-k", "50", "--json").stdout)
scores = [h["score"] for h in by_colour]
check(len(by_colour) == GOOD and scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1 and
      all(h["record"]["analysis"]["colours"] and h["record"]["analysis"]["tone"] in ("warm", "cool", "neutral") for h in by_colour),
      "--colour ranks every image by its palette; --json shows the analysis")
gray = every["ukbench00120_gray.jpg"]["analysis"]
check(gray["saturation"] < 0.05 and gray["tone"] == "neutral" and
      {c["name"] for c in gray["colours"]} <= {"black", "gray", "white"}, f"a grayscale photo reads as gray: {gray}")
# Combined queries: positives and negatives, weights, stored images by id or path.
like = json.loads(run("search", "--db", db, "--like", photos / "giphy.gif", "-k", "50", "--json").stdout)
check(len(like) == GOOD - 1 and all(Path(h["record"]["source"]).name != "giphy.gif" for h in like),
      "--like finds more like a stored image, leaving it out")
plain = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "--image",
                       f"{photos / 'Iggy.256.ppm'}:0.5", "-k", "50", "--json").stdout)
minus = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "--image",
                       f"{photos / 'Iggy.256.ppm'}:0.5", "--minus-image", photos / "baboon.256.pgm", "-k", "50",
                       "--json").stdout)
rank = lambda hits, name: [Path(h["record"]["source"]).name for h in hits].index(name)  # noqa: E731
check(rank(minus, "baboon.256.pgm") > rank(plain, "baboon.256.pgm"),
      "--minus-image pushes an image down the results")
run("search", "--db", db, "--minus-text", "people", expect=2)
run("search", "--db", db, "--image", f"{photos / 'giphy.gif'}:0", expect=2)
err = run("search", "--db", db, "--image", photos / "giphy.gif", "--minus-text", "people", expect=1).stderr
check("text" in err, f"a text example with the built-in encoder says why it cannot: {err.strip()}")
# --image-url: a loopback server over the photo folder (and a 404, and a page that is not an image).
import functools  # noqa: E402
import http.server  # noqa: E402
import threading  # noqa: E402
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(photos))
handler.log_message = lambda *a: None
web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=web.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{web.server_address[1]}"
if "URLs" in run("--version").stdout:
    # The server is on loopback: refused unless --allow-private-urls (server-side request forgery).
    err = run("search", "--db", db, "--image-url", f"{base}/giphy.gif", expect=2).stderr
    check("loopback" in err and "--allow-private-urls" in err, f"a loopback URL is refused by default: {err.strip()}")
    local = ["--allow-private-urls"]
    hits = json.loads(run("search", "--db", db, "--image-url", f"{base}/giphy.gif", "-k", "1", "--json", *local).stdout)
    check(Path(hits[0]["record"]["source"]).name == "giphy.gif" and hits[0]["score"] > 0.999, "--image-url searches by a URL's image")
    err = run("search", "--db", db, "--image-url", f"{base}/nope.jpg", *local, expect=1).stderr
    check("HTTP 404" in err and "nope.jpg" in err, f"a missing URL is named with its status: {err.strip()}")
    err = run("search", "--db", db, "--image-url", base.replace("://", "://me:s3cret@") + "/nope.jpg", *local,
              expect=1).stderr
    check("s3cret" not in err and "***@" in err, f"a password in a URL is not echoed: {err.strip()}")
    (photos / "page.html").write_text("<html>not an image</html>")
    err = run("search", "--db", db, "--image-url", f"{base}/page.html", *local, expect=1).stderr
    check("page.html" in err, f"a page that is not an image is refused by its bytes: {err.strip()}")
    (photos / "page.html").unlink()
    run("search", "--db", db, "--image-url", "file:///etc/passwd", expect=2)
web.shutdown()
run("search", "--db", db, "--colour", "teal", expect=2)
run("search", "--db", db, "--colour", "red", "--image", photos / "giphy.gif", expect=2)
run("search", "--db", db, "--image", photos / "giphy.gif", "--where", "colour=teal", expect=2)
hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "--min-score", "0.99", "--json").stdout)
check(all(h["score"] >= 0.99 for h in hits) and len(hits) >= 1, "--min-score drops weaker matches")
table = run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "2").stdout
check(table.splitlines()[0].split() == ["rank", "score", "id", "image"] and "giphy.gif" in table, "a readable table by default")

all_hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "6", "--json").stdout)
page = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "3", "--offset", "3",
                      "--json").stdout)
check([h["id"] for h in page] == [h["id"] for h in all_hits[3:6]], "--offset pages through the results")
for bad in (["-k", "-1"], ["-k", "0"], ["-k", "x"], ["--where", "format!="], ["--where", "tag="],
            ["--where", "width"], ["--bogus"], ["stray"]):
    err = run("search", "--db", db, "--image", photos / "giphy.gif", *bad, expect=2).stderr
    check(err.strip() != "", f"search {' '.join(bad)} is a usage error with a message")
r = run("search", "--db", db, "--image", photos / "giphy.gif", "--where", "camrea=x", "--json")
check("no image has the key \"camrea\"" in r.stderr and json.loads(r.stdout) == [],
      "a misspelt --where key warns instead of silently answering nothing")
check(run("search", "--help").stdout.startswith("the images most like"), "search --help prints its own help")
libs = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
check(not any(name in libs for name in ("torch", "gomp", "openblas")),
      "the CLI does not link libtorch (it loads the CLIP module only when a model is used)")
version = run("--version").stdout
check(version.startswith("imgvec 0.") and "SIMD kernels" in version and "JPEG" in version, "--version")
check(("CLIP encoder: imgvec_clip.so" in version) == (bundle is not None),
      f"--version says whether this build runs CLIP bundles: {version.splitlines()[-2:]}")
# The version text loads the OpenCV module to describe it; no other command may pay for that.
loaded = subprocess.run([BIN, "stats", "--db", str(db)], capture_output=True, text=True,
                        env={**os.environ, "LD_DEBUG": "files"}).stderr
check("imgvec_photo_match" not in loaded and "libopencv" not in loaded,
      "stats does not load the OpenCV module (it did, for the --version text, at every start)")

shutil.copy(photos / "baboon.256.pgm", photos / "baboon-copy.pgm")
run("index", photos, "--db", db)
groups = json.loads(run("dups", "--db", db, "--json").stdout)
check(any(g["exact"] and len(g["images"]) == 2 for g in groups), f"dups finds the copied file: {groups}")
check(all(g["keeper"] in [m["id"] for m in g["images"]] for g in groups), "each group names its keeper, as the server does")
check(any(all(abs(m["score"] - 1) < 1e-5 for m in g["images"]) for g in groups if g["exact"]),
      "dups gives each member's score against the keeper")
check("identical group of 2" in run("dups", "--db", db).stdout, "dups prints groups")
check(all(m["matched_by"] in ("identical", "similar", "verified") for g in groups for m in g["images"]),
      "dups --json says how each member matched")
def gray_copy_grouped(found):
    return any(any(m["record"]["source"].endswith("ukbench00120_gray.jpg") for m in g["images"]) for g in found)
plain = json.loads(run("dups", "--db", db, "--json", "--no-verify").stdout)
check(not gray_copy_grouped(plain), "dups --no-verify: the grayscale copy is below the threshold by vectors alone")
check("vectors only" in run("dups", "--db", db, "--no-verify").stdout, "dups --no-verify says so")
if "Duplicate verification (ORB" in version:
    check(gray_copy_grouped(groups) and any(m["matched_by"] == "verified" for g in groups for m in g["images"]),
          f"dups verifies near pairs on their pixels: the grayscale copy joins its original: {groups}")
    table = run("dups", "--db", db).stdout
    check("verified" in table and "verified on their pixels" in table, f"dups marks verified members: {table}")
for bad in (["--candidate-threshold", "2"], ["--candidate-threshold", "x"]):
    check(run("dups", "--db", db, *bad, expect=2).stderr.strip() != "", f"dups {' '.join(bad)} is a usage error")
(photos / "baboon-copy.pgm").unlink()
out = run("index", photos, "--db", db).stdout
check("1 indexed files no longer exist" in out and "--remove-missing" in out, "index reports vanished files")
run("index", photos, "--db", db, "--remove-missing")

import numpy as np  # noqa: E402
run("export", "--db", db, "--metadata", scratch / "meta.jsonl", "--vectors", scratch / "v.npy", "--ids", scratch / "ids.npy")
records = [json.loads(line) for line in (scratch / "meta.jsonl").read_text().splitlines()]
vectors, ids = np.load(scratch / "v.npy"), np.load(scratch / "ids.npy")
check(len(records) == GOOD and vectors.shape == (GOOD, 448) and ids.dtype == np.uint64 and
      sorted(r["id"] for r in records) == list(ids), "export writes records and vectors numpy can read")
check(np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5), "exported vectors are unit length")
run("export", "--db", db, "--metadata", scratch / "meta.json")
check(len(json.loads((scratch / "meta.json").read_text())) == GOOD, "export as one JSON array")
run("export", "--db", db, "--vectors", scratch / "v.npy", expect=2)
lines = run("export", "--db", db, "--metadata", "-").stdout.splitlines()
check(len(lines) == GOOD and all(json.loads(line)["id"] for line in lines), "export --metadata - writes to stdout")
devnull_before = os.stat("/dev/null")
run("export", "--db", db, "--metadata", "/dev/null", "--vectors", "/dev/null", "--ids", "/dev/null")
devnull_after = os.stat("/dev/null")
check(devnull_after.st_rdev == devnull_before.st_rdev and devnull_after.st_ino == devnull_before.st_ino,
      "export to a device writes to it and leaves the device node in place")

# CSV for a spreadsheet, from the file's name; a name that says another format is refused.
import csv  # noqa: E402
run("meta", "--db", db, "1", "--set", "note==HYPERLINK(\"http://evil\")", "--set", "place=Lisbon, PT")
run("export", "--db", db, "--metadata", scratch / "records.csv")
with open(scratch / "records.csv", newline="") as f:
    rows = list(csv.DictReader(f))
first = next(r for r in rows if r["id"] == "1")
check(len(rows) == GOOD and first["meta.place"] == "Lisbon, PT" and first["meta.note"].startswith("'=") and
      all(r["source"] and r["format"] and r["width"] for r in rows),
      f"export --metadata x.csv writes flattened columns, quoted, with formulas defused: {first}")
err = run("export", "--db", db, "--metadata", scratch / "records.txt", expect=2).stderr
check("records.txt" in err and ".csv" in err and not (scratch / "records.txt").exists(),
      f"an export to a name of another format is refused, naming it: {err.strip()}")
run("export", "--db", db, "--metadata", scratch / "records.txt", "--format", "csv")
check((scratch / "records.txt").read_text().startswith("id,source,"), "--format csv overrides the name")

# show: one image's whole record.
table = run("show", "--db", db, "1").stdout
shown = json.loads(run("show", "--db", db, "1", "--json").stdout)
check(shown["id"] == 1 and "metadata" in shown and "photo" in shown and table.startswith("id          1") and
      "taken" in table and "Lisbon, PT" in table, f"show prints the whole record: {table}")
two = json.loads(run("show", "--db", db, "1", shown["source"], "--json").stdout)
check(isinstance(two, list) and [r["id"] for r in two] == [1, 1], "show takes ids and paths; several give a list")
check("no date" in run("show", "--db", db, photos / "ukbench09060.jpg").stdout, "show says an undated photo has no date")
run("show", "--db", db, "999999", expect=1)

# Each command's help lists its own options and exit codes; --where's lists every key family.
stats_help = run("stats", "--help").stdout
check("--exact-decode" not in stats_help and "--model" not in stats_help and "3 " not in stats_help.split("Exit codes")[1],
      f"stats --help lists only its options and exit codes: {stats_help}")
index_help = run("index", "--help").stdout
check("--strict" in index_help and "130" in index_help and "--exact-decode" in index_help, "index --help has its own")
search_help = run("search", "--help").stdout
check(all(k in search_help for k in ("colour", "tone", "brightness", "label", "modified", "taken_source")),
      "search --help names every --where key family")

# A filter key, tag or label that no image has is said, with a guess.
err = run("search", "--db", db, "--like", "1", "--where", "tag=bset", "--where", "label=beach").stderr
run("tag", "--db", db, "1", "--add", "best")
err = run("search", "--db", db, "--like", "2", "--where", "tag=bset", "--where", "label=beach").stderr
check('did you mean "best"' in err and "no image has labels" in err, f"tag and label hints: {err}")
run("tag", "--db", db, "1", "--remove", "best")
run("meta", "--db", db, "1", "--unset", "note", "--unset", "place")

# While `imgvec serve` holds the database, commands that only read still work; one that writes is
# refused, naming the server's address.
from server_support import Server  # noqa: E402
server = Server(BIN, "--db", db)
try:
    check(json.loads(run("stats", "--db", db, "--json").stdout)["count"] == GOOD, "stats works while serve runs")
    check(json.loads(run("search", "--db", db, "--like", "1", "--json").stdout), "search works while serve runs")
    check(json.loads(run("show", "--db", db, "1", "--json").stdout)["id"] == 1, "show works while serve runs")
    err = run("tag", "--db", db, "1", "--add", "x", expect=1).stderr
    check(server.base in err and "imgvec serve" in err, f"a write names where the server is: {err.strip()}")
finally:
    server.stop()

stats = json.loads(run("stats", "--db", db, "--json").stdout)
check(stats["count"] == GOOD and stats["dimension"] == 448 and stats["index"] == "hnsw" and
      stats["storage"] == "float32", f"stats: {stats}")

half_db = scratch / "half-db"
run("index", photos, "--db", half_db, "--float16", expect=3)
half_stats = json.loads(run("stats", "--db", half_db, "--json").stdout)
check(half_stats["storage"] == "float16" and half_stats["memory_bytes"] < stats["memory_bytes"],
      f"--float16 makes a smaller float16 index: {half_stats}")
half_hits = json.loads(run("search", "--db", half_db, "--image", photos / "giphy.gif", "-k", "3", "--json").stdout)
full_hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "3", "--json").stdout)
check([h["record"]["source"] for h in half_hits] == [h["record"]["source"] for h in full_hits] and
      all(abs(a["score"] - b["score"]) < 1e-3 for a, b in zip(half_hits, full_hits)),
      "a float16 database ranks as the float32 one does, scores within 1e-3")
run("index", photos, "--db", scratch / "bad-db", "--float16", "--flat", expect=2)
# Quantized storages lie between float16 and float32 in size (sq4 below sq8) and rank as float32 does.
coded_sizes = {}
for storage in ("sq8", "sq4"):
    coded_db = scratch / f"{storage}-db"
    run("index", photos, "--db", coded_db, f"--{storage}", expect=3)
    coded_stats = json.loads(run("stats", "--db", coded_db, "--json").stdout)
    coded_sizes[storage] = coded_stats["memory_bytes"]
    check(coded_stats["storage"] == storage and half_stats["memory_bytes"] < coded_stats["memory_bytes"] < stats["memory_bytes"],
          f"--{storage} makes an {storage} index between float16 and float32 in size: {coded_stats}")
    coded_hits = json.loads(run("search", "--db", coded_db, "--image", photos / "giphy.gif", "-k", "3", "--json").stdout)
    check([h["record"]["source"] for h in coded_hits] == [h["record"]["source"] for h in full_hits] and
          all(abs(a["score"] - b["score"]) < 1e-3 for a, b in zip(coded_hits, full_hits)),
          f"an {storage} database ranks as the float32 one does, scores within 1e-3")
check(coded_sizes["sq4"] < coded_sizes["sq8"], f"sq4 is smaller than sq8: {coded_sizes}")
run("index", photos, "--db", scratch / "bad-db", "--sq4", "--sq8", expect=2)
run("index", photos, "--db", scratch / "bad-db", "--sq8", "--float16", expect=2)
giphy = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "1", "--json").stdout)[0]["id"]
# A save that fails (here: a folder stands where the next generation's index goes, as a full disk
# would fail it) removes nothing, and remove says no "removed" line.
generation = json.loads(run("stats", "--db", db, "--json").stdout)["generation"]
blocker = Path(db) / f"index-{generation + 1}.imgvidx"
blocker.mkdir()
r = run("remove", "--db", db, giphy, expect=2)  # the writer refuses the path: invalid_argument
check("removed" not in r.stdout and blocker.name in r.stderr, f"a failed save prints no removed line: {r.stdout!r} {r.stderr.strip()}")
check(json.loads(run("stats", "--db", db, "--json").stdout)["count"] == GOOD, "and the image is still there")
blocker.rmdir()
run("remove", "--db", db, giphy)
check(json.loads(run("stats", "--db", db, "--json").stdout)["count"] == GOOD - 1, "remove takes an image out, and it stays out")
run("remove", "--db", db, 999999, expect=1)
run("remove", "--db", db, "18446744073709551616", expect=2)
iggy = str((photos / "Iggy.256.ppm").resolve())
run("remove", "--db", db, photos / "Iggy.256.ppm")
check(json.loads(run("stats", "--db", db, "--json").stdout)["count"] == GOOD - 2, "remove accepts a file path")
run("index", photos, "--db", db)
run("tag", "--db", db, iggy, "--add", "cat", "--add", "pet")
run("meta", "--db", db, iggy, "--set", "rating=5", "--set", "album=summer")
hits = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "--where", "tag=pet",
                      "--where", "rating>=4", "--json").stdout)
check(len(hits) == 1 and hits[0]["record"]["source"] == iggy and hits[0]["record"]["metadata"] == {"album": "summer", "rating": 5}
      and hits[0]["record"]["tags"] == ["cat", "pet"], "tag and meta set what filters then find")
run("meta", "--db", db, iggy, "--unset", "rating")
run("tag", "--db", db, iggy, "--remove", "cat")
rec = json.loads(run("search", "--db", db, "--image", iggy, "-k", "1", "--json").stdout)[0]["record"]
check(rec["metadata"] == {"album": "summer"} and rec["tags"] == ["pet"], "--unset and --remove undo them")

# A file name that is not UTF-8: JSON stays valid and the name comes back escaped, reversibly.
odd = scratch / "odd"
odd.mkdir()
odd_name = os.fsencode(odd) + b"/caf\xe9.gif"
shutil.copy(photos / "giphy.gif", odd_name)
odd_db = scratch / "odd-db"
run("index", odd, "--db", odd_db)
hit = json.loads(run("search", "--db", odd_db, "--image", photos / "giphy.gif", "-k", "1", "--json").stdout)[0]["record"]
check(hit["source_escaped"] and hit["source"].endswith("caf\\xe9.gif"), f"non-UTF-8 path escaped: {hit['source']}")
exported = json.loads(run("export", "--db", odd_db, "--metadata", "-").stdout)
check(exported["source"] == hit["source"], "export escapes it the same way")
unescaped = hit["source"].encode().decode("unicode_escape").encode("latin-1")
check(unescaped == odd_name, "the escape is reversible")

# Extensions count in any case; other files are counted as skipped, by extension, never dropped
# silently; stats say what the database holds and what this build decodes.
mixed, mixed_db = scratch / "mixed", scratch / "mixed-db"
mixed.mkdir()
shutil.copy(photos / "ukbench01380.jpg", mixed / "UPPER.JPG")
shutil.copy(photos / "giphy.gif", mixed / "anim.Gif")
(mixed / "notes.txt").write_text("not an image")
(mixed / "clip.mov").write_bytes(b"\0\0\0\x14ftypqt  ")
(mixed / "clip2.MOV").write_bytes(b"\0\0\0\x14ftypqt  ")
(mixed / "README").write_text("not an image")
r = json.loads(run("index", mixed, "--db", mixed_db, "--json").stdout)
check(r["added"] == 2 and r["skipped"] == 4 and r["skipped_extensions"] == {"txt": 1, "mov": 2, "": 1},
      f"upper-case extensions are images; other files are counted as skipped by extension: {r}")
out = run("index", mixed, "--db", mixed_db).stdout
check("4 other files skipped by extension (.mov 2, no extension 1, .txt 1); --all-files" in out,
      f"the summary names what was skipped: {out}")
s = json.loads(run("stats", "--db", mixed_db, "--json").stdout)
check(s["formats"] == {"jpeg": 1, "gif": 1} and {"jpeg", "png", "gif"} <= set(s["decodable_formats"]),
      f"stats count images per format and list the decodable formats: {s}")
check("decodes     jpeg, png" in run("stats", "--db", mixed_db).stdout, "stats prints the decodable formats")

# Ctrl-C: the first one stops after the batch being embedded and saves what was done (exit 130);
# the next run continues. 300 paths hard-linked to one PNG (~10 ms to decode each): ~1.5 s of work.
many = scratch / "many"
many.mkdir()
for i in range(300):
    os.link(photos / "alpha_channel_image.png", many / f"{i:05d}.png")
many_db = scratch / "many-db"


def start_and_interrupt(*extra, after=0.3):
    proc = subprocess.Popen([BIN, "index", str(many), "--db", str(many_db), *extra], stdout=subprocess.PIPE, text=True)
    while not (many_db / "MANIFEST").exists() and proc.poll() is None:
        time.sleep(0.002)
    time.sleep(after)  # well inside the run
    proc.send_signal(signal.SIGINT)
    return proc


# On a loaded machine (ctest -j2 beside a build) 0.3 s may end before the first batch is embedded:
# then nothing was added, which proves nothing about saving. Try again, later into the run.
for attempt in range(5):
    if many_db.exists():
        shutil.rmtree(many_db)
    proc = start_and_interrupt("--json", after=0.3 * (attempt + 1))
    out, _ = proc.communicate(timeout=60)
    r = json.loads(out)
    if r["added"] > 0:
        break
check(proc.returncode == 130 and r["interrupted"] and 0 < r["added"] < 300,
      f"Ctrl-C stops within the run with what was done saved (exit {proc.returncode}, {r['added']} added)")
count = json.loads(run("stats", "--db", many_db, "--json").stdout)["count"]
check(count == r["added"], "what the interrupted run added was saved")
r2 = json.loads(run("index", many, "--db", many_db, "--json").stdout)
check(r2["unchanged"] == count and r2["added"] == 300 - count, "the next run continues where it stopped")
second = None
for attempt in range(5):  # a run that ends between the two signals proves nothing: try again
    shutil.rmtree(many_db)
    proc = start_and_interrupt()
    time.sleep(0.01)  # the first signal has been handled: the run is finishing its batch
    if proc.poll() is not None:
        continue
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    second = proc.returncode
    break
check(second == -signal.SIGINT, f"a second Ctrl-C stops at once, killed by the signal ({second})")

err = run("search", "--db", db, "--text", "a cat", expect=1).stderr
check("images only" in err, "text search without a text model fails clearly")
check("--bogus" in run("search", "--db", db, "--image", "x", "--bogus", expect=2).stderr, "usage errors exit 2, naming the argument")
run("search", "--db", db, expect=2)
run("frobnicate", expect=2)
check("no such" in run("search", "--db", scratch / "none", "--image", photos / "giphy.gif", expect=1).stderr.lower(),
      "a missing database is a failure naming it")

if bundle:
    clip_db = scratch / "clip-db"
    r = json.loads(run("index", photos, "--db", clip_db, "--model", bundle, "--json", expect=3).stdout)
    check(r["added"] == GOOD, "index with a CLIP bundle")
    hits = json.loads(run("search", "--db", clip_db, "--text", "a photo of a dog", "-k", "3", "--json").stdout)
    check(len(hits) == 3, "text search with CLIP (the database remembers its model)")
    # A bundle given by a relative path from one folder is found from any other (issue 20: the
    # database remembered it as typed, and every later command elsewhere failed).
    bundle_path = Path(bundle).resolve()
    relative_db = scratch / "clip-relative-db"
    r = subprocess.run([BIN, "index", str(photos), "--db", str(relative_db), "--model", bundle_path.name],
                       capture_output=True, text=True, cwd=bundle_path.parent)
    check(r.returncode == 3, f"index with a relative --model: {r.stderr.strip()[-200:]}")
    r = subprocess.run([BIN, "search", "--db", str(relative_db), "--text", "a dog", "-k", "2", "--json"],
                       capture_output=True, text=True, cwd=scratch)
    check(r.returncode == 0 and len(json.loads(r.stdout)) == 2 and
          (relative_db / "MODEL").read_text().strip() == str(bundle_path),
          f"a later command from another folder finds the bundle: {r.stderr.strip()[-200:]}")
    run("remove", "--db", relative_db, photos / "giphy.gif")
    err = run("search", "--db", db, "--image", photos / "Iggy.256.ppm", "--model", bundle, expect=1).stderr
    check("built-in encoder" in err and bundle in err, f"a database refuses another encoder, naming it: {err.strip()}")
    # Commands that embed nothing never load the model: they work while the bundle is gone; one
    # that embeds names the missing bundle, and --model with its new place repairs the database.
    copy = scratch / "model-copy.pt"
    shutil.copy(bundle_path, copy)
    moving_db = scratch / "clip-moving-db"
    run("index", photos, "--db", moving_db, "--model", copy, expect=3)
    copy.rename(scratch / "model-moved.pt")
    check(json.loads(run("stats", "--db", moving_db, "--json").stdout)["encoder"]["kind"] == "clip" and
          len(run("export", "--db", moving_db, "--metadata", "-").stdout.splitlines()) == GOOD and
          len(json.loads(run("search", "--db", moving_db, "--like", photos / "giphy.gif", "-k", "2", "--json").stdout)) == 2,
          "stats, export and search --like work on a CLIP database whose bundle is gone")
    err = run("search", "--db", moving_db, "--text", "a dog", expect=1).stderr
    check(str(copy) in err and "--model" in err, f"a text search names the missing bundle and the fix: {err.strip()}")
    run("search", "--db", moving_db, "--text", "a dog", "--model", scratch / "model-moved.pt")
    check((moving_db / "MODEL").read_text().strip() == str(scratch / "model-moved.pt") and
          run("search", "--db", moving_db, "--text", "a dog").returncode == 0,
          "--model with the bundle's new place is remembered")
    tokens = json.loads(run("tokenize", "--model", bundle, "a photo of a dog").stdout)["tokens"]
    check(tokens == [320, 1125, 539, 320, 1929], "tokenize")
    emb = json.loads(run("embed", "--model", bundle, "--text", "a photo of a dog").stdout)["embedding"]
    check(len(emb) == 32 and abs(sum(v * v for v in emb) - 1) < 1e-4, "embed gives a unit vector")
    two = json.loads(run("embed", "--model", bundle, "--image", photos / "giphy.gif", photos / "Iggy.256.ppm").stdout)
    check(len(two["images"]) == 2, "embed --image A B embeds both files")
    run("embed", "--model", bundle, "--text", "a", "stray", expect=2)
    # --precision: what the device cannot run is refused before any file is read, naming it and
    # the way out; a misspelt one is a usage error; the index report says how busy the model was.
    err = run("index", photos, "--db", scratch / "fp16-db", "--model", bundle, "--device", "cpu", "--precision", "fp16",
              expect=1).stderr
    check('"fp16"' in err and "CUDA" in err and not (scratch / "fp16-db" / "MANIFEST").exists(),
          f"--precision fp16 on a CPU is refused, naming CUDA: {err.strip()}")
    run("index", photos, "--db", scratch / "half-db", "--model", bundle, "--precision", "half", expect=2)
    out = run("index", photos, "--db", scratch / "cpu-db", "--model", bundle, "--device", "cpu", expect=3).stdout
    check(re.search(r"embedded \d+ images in [\d.]+ s \(\d+/s\); the model was busy \d+% of that time", out),
          f"index says how fast it embedded and how busy the model was: {out.strip()}")
    # Zero-shot labels: during index (new images only), and on demand with a label file.
    labelled_db = scratch / "labelled-db"
    run("index", photos, "--db", labelled_db, "--model", bundle, "--labels", "default", expect=3)
    every = [h["record"] for h in
             json.loads(run("search", "--db", labelled_db, "--image", photos / "giphy.gif", "-k", "50", "--json").stdout)]
    check(len(every) == GOOD and all(1 <= len(h["labels"]) <= 3 for h in every if "labels" in h) and
          sum("labels" in h for h in every) >= 1, "index --labels default labels the new images (up to 3 each)")
    (scratch / "kinds.txt").write_text("# two kinds\nanimal: a photo of an animal\nthing\n")
    out = run("tag", "--db", labelled_db, "--labels", scratch / "kinds.txt", "--min-score", "0", "--top", "1").stdout
    check(f"labelled {GOOD} images with 2 labels" in out, out.strip())
    every = [h["record"] for h in
             json.loads(run("search", "--db", labelled_db, "--image", photos / "giphy.gif", "-k", "50", "--json").stdout)]
    check(all(len(h["labels"]) == 1 and h["labels"][0]["name"] in ("animal", "thing") for h in every),
          "tag --labels FILE replaces the labels, one per image with --top 1")
    name = every[0]["labels"][0]["name"]
    found = json.loads(run("search", "--db", labelled_db, "--text", "x", "--where", f"label={name}", "-k", "50",
                           "--json").stdout)
    check(found and all(h["record"]["labels"][0]["name"] == name for h in found), "--where label=NAME filters by label")
    (scratch / "bad.txt").write_text("cat\ncat\n")
    err = run("tag", "--db", labelled_db, "--labels", scratch / "bad.txt", expect=2).stderr
    check("bad.txt:2" in err, f"a bad label file is named with its line: {err.strip()}")
err = run("tag", "--db", db, "--labels", "default", expect=1).stderr
check("CLIP" in err, f"labels with the built-in encoder are refused with the reason: {err.strip()}")
run("index", photos, "--db", scratch / "no-labels-db", "--labels", "default", expect=2)
check(not (scratch / "no-labels-db").exists(), "index --labels without a CLIP model refuses before creating anything")
# Exports for other databases and back: the same ids, vectors and records.
for fmt in ("qdrant", "milvus", "pgvector"):
    out = run("export", "--db", db, "--format", fmt, "--out", scratch / f"x-{fmt}").stdout
    check(f"for {fmt}" in out, out.strip())
    run("export", "--db", db, "--format", fmt, "--out", scratch / f"x-{fmt}", expect=2)  # never over a folder
    report = json.loads(run("import", scratch / f"x-{fmt}", "--db", scratch / f"back-{fmt}", "--flat", "--json",
                            "--source-root", photos).stdout)
    check(report["imported"] == report["count"] == GOOD, f"import {fmt}: {report}")
    a = json.loads(run("search", "--db", db, "--image", photos / "giphy.gif", "-k", "50", "--json").stdout)
    b = json.loads(run("search", "--db", scratch / f"back-{fmt}", "--image", photos / "giphy.gif", "-k", "50",
                       "--json").stdout)
    # A flat index sums in another order than HNSW's kernel: scores agree to float rounding.
    check([h["id"] for h in a] == [h["id"] for h in b] and [h["record"]["source"] for h in a] == [h["record"]["source"] for h in b] and
          all(abs(x["score"] - y["score"]) < 1e-6 for x, y in zip(a, b)),
          f"the {fmt} export imported answers as the original")
# Without --source-root an export's paths are kept as metadata only: no file is served from them.
report = json.loads(run("import", scratch / "x-qdrant", "--db", scratch / "back-rootless", "--json").stdout)
hits = json.loads(run("search", "--db", scratch / "back-rootless", "--image", photos / "giphy.gif", "-k", "1",
                      "--json").stdout)
check(report["imported"] == GOOD and not hits[0]["record"]["source"] and
      Path(hits[0]["record"]["metadata"]["imported_source"]).name == "giphy.gif",
      f"an import without --source-root keeps paths as metadata: {hits[0]}")
run("export", "--db", db, "--format", "qdrant", expect=2)  # --out missing
err = run("import", scratch / "x-qdrant", "--db", scratch / "back-qdrant", expect=2).stderr
check("already in this database" in err, f"importing the same ids twice is refused: {err.strip()}")
run("import", "--db", scratch / "back-none", expect=2)
check(not (scratch / "back-none").exists(), "a refused import leaves no database behind")
shutil.rmtree(scratch)
