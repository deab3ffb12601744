#!/usr/bin/python3
"""imgvec serve end to end: a server on a free loopback port over a database of the test images;
every endpoint so far, the JSON shapes, paging, each error status with its message, and a clean
stop on SIGINT.

    server_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR
"""
import base64
import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

BIN, images, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
shutil.rmtree(scratch, ignore_errors=True)
scratch.mkdir(parents=True)
db = scratch / "db"
r = subprocess.run([BIN, "index", str(images), "--db", str(db)], capture_output=True, text=True)
assert r.returncode == 3, r.stderr  # the test images include four broken ones


def check(condition, what):
    if not condition:
        server.kill()
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


server = subprocess.Popen([BIN, "serve", "--db", str(db), "--port", "0"], stdout=subprocess.PIPE, text=True)
first = server.stdout.readline()
check("listening on http://127.0.0.1:" in first, f"serve prints where it listens: {first.strip()}")
base = first.split("http://")[1].split("/")[0]


def call(method, path, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"http://{base}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def call_json(method, path, body=None, raw=None):
    status, ctype, payload = call(method, path, body, raw)
    check(ctype == "application/json", f"{method} {path} answers JSON ({status})")
    return status, json.loads(payload)


status, health = call_json("GET", "/v1/health")
check(status == 200 and health == {"status": "ok"}, "health")
status, stats = call_json("GET", "/v1/stats")
check(status == 200 and stats["count"] == 8 and stats["dimension"] == 448 and not stats["text_search"], f"stats: {stats}")

gif = (images / "giphy.gif").read_bytes()
status, found = call_json("POST", "/v1/search", {"image": base64.b64encode(gif).decode(), "limit": 3})
hits = found["result"]
check(status == 200 and len(hits) == 3 and hits[0]["record"]["source"].endswith("giphy.gif") and
      hits[0]["score"] > 0.999 and abs(hits[0]["distance"] - (1 - hits[0]["score"])) < 1e-6 and
      isinstance(found["time_ms"], float), "search by image (base64) finds the image itself first")
status, found = call_json("POST", "/v1/search", {"image": "data:image/gif;base64," + base64.b64encode(gif).decode()})
check(status == 200 and found["result"][0]["id"] == hits[0]["id"], "a data: URI works as well")
gid = hits[0]["id"]
status, by_id = call_json("POST", "/v1/search", {"id": gid, "limit": 8, "with_vector": True})
check(status == 200 and by_id["result"][0]["id"] == gid and len(by_id["result"][0]["vector"]) == 448,
      "search by a stored id (more like this), with vectors")
vector = by_id["result"][0]["vector"]
status, by_vec = call_json("POST", "/v1/search", {"vector": vector, "limit": 8})
check([h["id"] for h in by_vec["result"]] == [h["id"] for h in by_id["result"]], "search by vector")
pages = []
for offset in (0, 3, 6):
    status, page = call_json("POST", "/v1/search", {"vector": vector, "limit": 3, "offset": offset})
    pages += [h["id"] for h in page["result"]]
check(pages == [h["id"] for h in by_vec["result"]], "offset and limit page without repeats or gaps")
status, filtered = call_json("POST", "/v1/search", {"vector": vector, "limit": 8, "filter": "format=jpeg",
                                                    "score_threshold": -1})
check(status == 200 and filtered["result"] and all(h["record"]["format"] == "jpeg" for h in filtered["result"]),
      "filter in the --where syntax")

status, rec = call_json("GET", f"/v1/images/{gid}")
check(status == 200 and rec["id"] == gid and rec["format"] == "gif", "a record by id")
status, ctype, payload = call("GET", f"/v1/images/{gid}/file")
check(status == 200 and ctype == "image/gif" and payload == gif, "the original file by id, with its type")

errors = [
    ("POST", "/v1/search", None, b"{not json", 400, "bad_json"),
    ("POST", "/v1/search", {"limit": 3}, None, 400, "exactly one"),
    ("POST", "/v1/search", {"text": "a", "id": 1}, None, 400, "exactly one"),
    ("POST", "/v1/search", {"id": gid, "limit": 0}, None, 400, "\"limit\""),
    ("POST", "/v1/search", {"id": gid, "limit": -1}, None, 400, "\"limit\""),
    ("POST", "/v1/search", {"vector": [1, 2]}, None, 400, "448"),
    ("POST", "/v1/search", {"id": gid, "filter": "format!="}, None, 400, "format!="),
    ("POST", "/v1/search", {"text": "a dog"}, None, 415, "images only"),
    ("POST", "/v1/search", {"image": "R0lGOD*"}, None, 400, "invalid character"),
    ("POST", "/v1/search", {"image": base64.b64encode(b"%PDF-1.4 not an image").decode()}, None, 415, "PDF"),
    ("POST", "/v1/search", {"id": 999999}, None, 404, "999999"),
    ("GET", "/v1/images/999999", None, None, 404, "999999"),
    ("GET", "/v1/images/abc", None, None, 400, "abc"),
    ("GET", "/v1/images/99999999999999999999999", None, None, 400, "id"),
    ("GET", "/v1/nothing", None, None, 404, "no such endpoint"),
    ("POST", "/v1/search", None, b"x" * (33 << 20), 413, "larger"),
]
for method, path, body, raw, want, text in errors:
    status, err = call_json(method, path, body, raw)
    message = err.get("error", {}).get("message", "")
    check(status == want and text in message + err.get("error", {}).get("code", ""),
          f"{method} {path} {str(body if body is not None else (raw or b'')[:20])[:60]} -> {want}: {message[:90]}")

for broken in ("copyleft.tiff", "marbles.pbm", "ukbench09268_corrupt.jpg", "ukbench09380.webp"):
    data = base64.b64encode((images / broken).read_bytes()).decode()
    status, err = call_json("POST", "/v1/search", {"image": data})
    check(status in (400, 415) and err["error"]["message"], f"searching by broken {broken}: {status}")
status, health = call_json("GET", "/v1/health")
check(status == 200, "the server is still up after every error")

server.send_signal(signal.SIGINT)
out, _ = server.communicate(timeout=30)
check(server.returncode == 0 and "stopped" in out, "SIGINT stops the server cleanly (exit 0)")
shutil.rmtree(scratch)
