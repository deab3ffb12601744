#!/usr/bin/python3
"""kill -9 against imgvec serve while two clients upload and patch concurrently, at random
moments, ROUNDS times: after each restart every upload that got its 201 is there, with the
metadata of its last acknowledged PATCH, and the database opens cleanly (the server comes up,
`imgvec stats` reads it). Background saves run often (--save-every 7) so kills also land inside
saves and log rotations.

    server_kill_test.py IMGVEC_BINARY SCRATCH_DIR [ROUNDS=24]
"""
import io
import json
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from server_support import Server  # noqa: E402

BIN, scratch = sys.argv[1], Path(sys.argv[2])
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 24
shutil.rmtree(scratch, ignore_errors=True)
(scratch / "empty").mkdir(parents=True)
db = scratch / "db"
r = subprocess.run([BIN, "index", str(scratch / "empty"), "--db", str(db), "--keep-empty"], capture_output=True,
                   text=True)
assert r.returncode == 0, r.stderr
rng = random.Random(11)


def image(client, n):
    img = Image.new("RGB", (24, 24))
    local = random.Random(client * 100003 + n)
    img.putdata([(local.randrange(256), local.randrange(256), local.randrange(256)) for _ in range(24 * 24)])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


acked = {}      # id -> metadata that must be there
maybe = {}      # id -> metadata of a PATCH sent but not acknowledged (either may be there)
lock = threading.Lock()
counter = [0]


def uploader(server, client, stop):
    while not stop.is_set():
        with lock:
            counter[0] += 1
            n = counter[0]
        meta = {"client": client, "n": n}
        try:
            status, body = server.upload(f"c{client}-{n}.png", image(client, n), {"metadata": json.dumps(meta)})
        except Exception:
            return  # the server died
        if status != 201:
            raise SystemExit(f"FAILED: upload answered {status}: {body}")
        with lock:
            acked[body["id"]] = meta
        if n % 3 == 0:
            patched = dict(meta, patched=n)
            with lock:
                maybe[body["id"]] = patched
            try:
                status, body2 = server.json("PATCH", f"/v1/images/{body['id']}", {"metadata": {"patched": n}})
            except Exception:
                return
            with lock:
                if status == 200:
                    acked[body["id"]] = patched
                    maybe.pop(body["id"], None)


total_kills = 0
for round_ in range(rounds):
    server = Server(BIN, "--db", db, "--save-every", "7", "--save-interval", "0.5")
    if "ready" not in (server.ready_line or ""):
        sys.exit(f"FAILED: round {round_}: the server did not come up: {server.proc.stderr.read()}")
    # Everything acknowledged so far is there, with its metadata.
    for image_id, meta in sorted(acked.items()):
        status, rec = server.json("GET", f"/v1/images/{image_id}")
        alt = maybe.get(image_id)
        if status != 200:
            server.kill()
            sys.exit(f"FAILED: round {round_}: acknowledged image {image_id} is missing ({status})")
        if rec["metadata"] != dict(meta, name=rec["metadata"].get("name")) and \
                (alt is None or rec["metadata"] != dict(alt, name=rec["metadata"].get("name"))):
            server.kill()
            sys.exit(f"FAILED: round {round_}: image {image_id} has {rec['metadata']}, expected {meta}")
        if alt is not None and rec["metadata"].get("patched") == alt.get("patched"):
            acked[image_id] = alt  # the unacknowledged PATCH made it; it must stay now
        maybe.pop(image_id, None)
    status, stats = server.json("GET", "/v1/stats")
    print(f"round {round_}: {len(acked)} acknowledged uploads all present "
          f"(server has {stats['count']}, replayed: {server.ready_line.strip()})")
    stop = threading.Event()
    clients = [threading.Thread(target=uploader, args=(server, c, stop)) for c in (1, 2)]
    for t in clients:
        t.start()
    threading.Event().wait(rng.uniform(0.2, 1.2))
    server.kill()  # SIGKILL
    total_kills += 1
    stop.set()
    for t in clients:
        t.join(timeout=60)

r = subprocess.run([BIN, "stats", "--db", str(db), "--json"], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit(f"FAILED: imgvec stats cannot read the database after the kills: {r.stderr}")
count = json.loads(r.stdout)["count"]
if count < len(acked):
    sys.exit(f"FAILED: {count} images after {total_kills} kills, but {len(acked)} were acknowledged")
print(f"ok: {total_kills} kills with two concurrent uploaders; all {len(acked)} acknowledged uploads and their "
      f"acknowledged metadata survived; the database opens cleanly ({count} images)")
shutil.rmtree(scratch)
