#!/usr/bin/python3
"""One wire format (issue 20, item 1): the CLI's --json, the HTTP API and the Python module give the
same keys and values for a record, a search hit, the stats and a duplicate group of one database.
The server adds only its own fields (links, caches) and leaves out the folder; nothing else
differs. 127.0.0.1 only.

    wire_shapes_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR   (PYTHONPATH names the module)
"""
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from server_support import Servers  # noqa: E402

import imgvec  # noqa: E402

BIN, images, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
shutil.rmtree(scratch, ignore_errors=True)
photos = scratch / "photos"
shutil.copytree(images, photos)
shutil.copy(photos / "baboon.256.pgm", photos / "baboon-copy.pgm")  # a duplicate group
db = scratch / "db"
subprocess.run([BIN, "index", str(photos), "--db", str(db)], capture_output=True, check=False)


def cli(*args):
    r = subprocess.run([BIN, *map(str, args), "--db", str(db), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED: imgvec {' '.join(map(str, args))}: {r.stderr}")
    return json.loads(r.stdout)


giphy = str(photos / "giphy.gif")
# The CLI: every command in its own process, one after another (the database admits one at a time).
cli_stats = cli("stats")
cli_hits = cli("search", "--image", giphy, "-k", "4")
cli_groups = cli("dups", "--no-verify")
like_id = cli_hits[0]["id"]  # giphy.gif itself

# The server.
servers = Servers(BIN)
check = servers.check
s = servers.start("--db", db, "--read-only")
_, http_stats = s.json("GET", "/v1/stats")
_, answer = s.json("POST", "/v1/search", {"image": base64.b64encode(Path(giphy).read_bytes()).decode(), "limit": 4})
http_hits = answer["result"]
_, answer = s.json("POST", "/v1/duplicates", {"verify": False})
http_groups = answer["groups"]
_, http_record = s.json("GET", f"/v1/images/{like_id}")
s.stop()

# Python (last: leaving the block saves).
with imgvec.VectorDatabase.open(str(db)) as pdb:
    py_stats = pdb.get_stats()
    py_hits = [{"id": h.id, "score": h.score, "record": h.record} for h in pdb.search_by_image(giphy, k=4)]
    py_groups = pdb.find_duplicates(verify=False)
    py_record = pdb.get(like_id)


# An index run's report: the CLI's (plus the database's count) and Python's, on two fresh databases.
r = subprocess.run([BIN, "index", str(photos), "--db", str(scratch / "cli-index"), "--json"], capture_output=True, text=True)
cli_report = json.loads(r.stdout)
with imgvec.VectorDatabase.create(str(scratch / "py-index")) as fresh:
    py_report = fresh.index_directory(str(photos))
# The embedding's timings differ from run to run; their keys and the image count may not.
cli_timing, py_timing = cli_report.pop("embedding"), py_report.pop("embedding")
check(set(cli_timing) == set(py_timing) == {"images", "seconds", "model_seconds", "model_waiting_seconds"} and
      cli_timing["images"] == py_timing["images"] == cli_report["added"] > 0 and
      0 < cli_timing["model_seconds"] <= cli_timing["seconds"],
      f"an index report says where the embedding's time went, from the CLI and Python alike: {cli_timing}, {py_timing}")
check(cli_report.pop("count") == cli_report["added"] and cli_report == py_report and cli_report["failures"] and
      set(cli_report["failures"][0]) == {"source", "status", "id", "error"},
      "an index report is the same from the CLI and Python, failures included")

check(py_stats == cli_stats, f"Python's stats are the CLI's: {sorted(set(py_stats) ^ set(cli_stats))}")
check(set(cli_stats) - {"directory"} <= set(http_stats) and
      all(http_stats[k] == v for k, v in cli_stats.items() if k not in ("directory",)) and "directory" not in http_stats,
      "the server's stats are the CLI's, less the folder, plus its own fields" +
      "".join(f"; {k}: {v} vs {http_stats.get(k)}" for k, v in cli_stats.items()
              if k != "directory" and http_stats.get(k) != v))
check(isinstance(cli_stats["encoder"], dict) and cli_stats["encoder"]["kind"] == "descriptor",
      "the encoder is its fingerprint, one object everywhere")

check(len(cli_hits) == 4 and all(set(h) == {"id", "score", "record"} for h in cli_hits),
      f"a CLI hit is id, score, record: {sorted(cli_hits[0])}")
check(py_hits == cli_hits, "Python's hits are the CLI's, key for key and value for value")
check([{k: h[k] for k in ("id", "score", "record")} for h in http_hits] == cli_hits,
      "the server's hits are the CLI's (beside its distance and links)")
check(set(http_hits[0]) - {"id", "score", "record"} == {"distance", "thumbnail", "file"},
      f"the server adds only its distance and links: {sorted(http_hits[0])}")

check(http_record == py_record == cli_hits[0]["record"] and py_record["source"] == giphy,
      "a record is the same object from the server, Python and the CLI")
exported = [json.loads(line) for line in
            subprocess.run([BIN, "export", "--db", str(db), "--metadata", "-"], capture_output=True,
                           text=True, check=True).stdout.splitlines()]
check(next(r for r in exported if r["id"] == like_id) == py_record, "and the export writes that same record")

check(cli_groups and all(set(g) == {"keeper", "exact", "paths", "images"} for g in cli_groups) and
      all(set(m) == {"id", "score", "matched_by", "keeper", "record"} for g in cli_groups for m in g["images"]),
      "a duplicate group is keeper, exact, images (id, score, matched_by, keeper, record)")
check(py_groups == cli_groups, "Python's duplicate groups are the CLI's")
without_links = [{**g, "images": [{k: v for k, v in m.items() if k != "thumbnail"} for m in g["images"]]}
                 for g in http_groups]
check(without_links == cli_groups, "the server's groups are the CLI's (beside each image's thumbnail link)")
