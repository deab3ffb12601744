#!/usr/bin/python3
"""imgvec serve end to end: servers on free loopback ports over a database of the test images;
every endpoint, the JSON shapes, paging, thumbnails, uploads (new, again, changed), PATCH and
DELETE, duplicates, every error status with its message, each broken test file uploaded, the API
key, --read-only, CORS, the refusal to expose writes, text search with its cache (given the tiny
CLIP bundle), and a clean stop that saves.

    server_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR [TINY_BUNDLE]
"""
import base64
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from server_support import Servers, test_image_counts  # noqa: E402

BIN, images, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
bundle = sys.argv[4] if len(sys.argv) > 4 else None
shutil.rmtree(scratch, ignore_errors=True)
scratch.mkdir(parents=True)
db = scratch / "db"
r = subprocess.run([BIN, "index", str(images), "--db", str(db)], capture_output=True, text=True)
assert r.returncode == 3, r.stderr  # two test images are broken on purpose
GOOD, BAD = test_image_counts(BIN)  # 10 and 2 with WebP and TIFF built
BROKEN = ("marbles.pbm", "ukbench09268_corrupt.jpg", "copyleft.tiff", "ukbench09380.webp")[:BAD]
servers = Servers(BIN)
check, start = servers.check, servers.start


def png(width, height, seed):
    """A new image nobody has indexed: a gradient with a seed-dependent tint."""
    img = Image.new("RGB", (width, height))
    img.putdata([((x * 7 + seed * 40) % 256, (y * 5 + seed * 90) % 256, (x * y + seed) % 256)
                 for y in range(height) for x in range(width)])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


s = start("--db", db)
check("listening on http://127.0.0.1:" in s.first_line and "writes need the token" in s.first_line and
      s.token and len(s.token) == 32,
      f"serve prints where it listens: {s.first_line.strip()}")
check(f"ready: {GOOD} images" in s.ready_line, f"and when it is ready: {s.ready_line.strip()}")

# --- reads -----------------------------------------------------------------------------------
status, health = s.json("GET", "/v1/health")
check(status == 200 and health == {"status": "ok"}, "health")
status, stats = s.json("GET", "/v1/stats")
check(status == 200 and stats["count"] == GOOD and stats["dimension"] == 448 and not stats["text_search"] and
      stats["writes"] == "need the token" and stats["unsaved_changes"] == 0, f"stats: {stats}")

gif = (images / "giphy.gif").read_bytes()
status, found = s.json("POST", "/v1/search", {"image": base64.b64encode(gif).decode(), "limit": 3})
hits = found["result"]
check(status == 200 and len(hits) == 3 and hits[0]["record"]["source"].endswith("giphy.gif") and
      hits[0]["score"] > 0.999 and abs(hits[0]["distance"] - (1 - hits[0]["score"])) < 1e-6 and
      isinstance(found["time_ms"], float), "search by image (base64) finds the image itself first")
gid = hits[0]["id"]
check(hits[0]["thumbnail"] == f"/v1/images/{gid}/thumbnail" and hits[0]["file"] == f"/v1/images/{gid}/file",
      "results link their thumbnail and file")
status, found = s.json("POST", "/v1/search", {"image": "data:image/gif;base64," + base64.b64encode(gif).decode()})
check(status == 200 and found["result"][0]["id"] == gid, "a data: URI works as well")
status, found = s.upload("giphy.gif", gif, {"limit": "2"}, path="/v1/search/image")
check(status == 200 and len(found["result"]) == 2 and found["result"][0]["id"] == gid and
      found["result"][0]["score"] > 0.999, "search by a multipart upload (an HTML form, curl -F)")
status, by_id = s.json("POST", "/v1/search", {"id": gid, "limit": 8, "with_vector": True})
check(status == 200 and by_id["result"][0]["id"] == gid and len(by_id["result"][0]["vector"]) == 448,
      "search by a stored id (more like this), with vectors")
vector = by_id["result"][0]["vector"]
status, by_vec = s.json("POST", "/v1/search", {"vector": vector, "limit": 8})
check([h["id"] for h in by_vec["result"]] == [h["id"] for h in by_id["result"]], "search by vector")
pages = []
for offset in (0, 3, 6):
    status, page = s.json("POST", "/v1/search", {"vector": vector, "limit": 3, "offset": offset})
    pages += [h["id"] for h in page["result"]]
check(pages[:8] == [h["id"] for h in by_vec["result"]] and len(set(pages)) == len(pages) == 9,
      "offset and limit page without repeats or gaps")
status, dated = s.json("POST", "/v1/search", {"vector": vector, "limit": 8, "sort": "oldest",
                                              "filter": "taken_source=exif"})
taken = [h["record"]["photo"]["taken_ms"] for h in dated["result"]]
check(status == 200 and len(taken) >= 2 and taken == sorted(taken) and
      all(h["record"]["photo"]["camera"] for h in dated["result"]),
      "sort by the date taken, filtered on EXIF dates; records carry their photo facts")
status, combined = s.json("POST", "/v1/search", {"positive": [{"id": gid}, {"vector": vector, "weight": 0.5}],
                                                 "negative": [{"image": base64.b64encode(gif).decode()}], "limit": 20})
check(status == 200 and combined["result"] and all(h["id"] != gid for h in combined["result"]),
      f"positive and negative examples with weights; a stored example is left out: {status}")
for bad, code in [({"negative": [{"id": gid}]}, 400), ({"positive": []}, 400), ({"positive": [{"id": gid, "weight": 0}]}, 400),
                  ({"positive": [{"colour": "red"}]}, 400), ({"positive": [{"id": 987654}]}, 404),
                  ({"positive": [{"text": "a dog"}]}, 400)]:
    status, err = s.json("POST", "/v1/search", bad)
    check(status == code and err["error"]["message"], f"{bad} is refused with {code}: {err['error']['message']}")
status, err = s.json("POST", "/v1/search", {"vector": vector, "sort": "sideways"})
check(status == 400 and "sort" in err["error"]["message"], f"an unknown sort order is a 400 naming it: {err}")
status, filtered = s.json("POST", "/v1/search", {"vector": vector, "limit": 8, "filter": "format=jpeg",
                                                 "score_threshold": -1})
check(status == 200 and filtered["result"] and all(h["record"]["format"] == "jpeg" for h in filtered["result"]),
      "filter in the --where syntax")
status, above = s.json("POST", "/v1/search", {"vector": vector, "limit": 8, "score_threshold": 0.9})
check(status == 200 and all(h["score"] >= 0.9 for h in above["result"]) and above["result"], "score_threshold")

status, rec = s.json("GET", f"/v1/images/{gid}")
check(status == 200 and rec["id"] == gid and rec["format"] == "gif", "a record by id")
status, headers, payload = s.call("GET", f"/v1/images/{gid}/file")
check(status == 200 and headers["Content-Type"] == "image/gif" and payload == gif, "the original file by id, with its type")

# --- thumbnails ------------------------------------------------------------------------------
status, headers, thumb = s.call("GET", f"/v1/images/{gid}/thumbnail")
im = Image.open(io.BytesIO(thumb))
check(status == 200 and headers["Content-Type"] == "image/jpeg" and im.format == "JPEG" and max(im.size) <= 256,
      f"a thumbnail decodes as a JPEG of at most 256 px ({im.size})")
big = next(h for h in by_vec["result"] if h["record"]["width"] > 64)
status, headers, thumb = s.call("GET", f"/v1/images/{big['id']}/thumbnail?size=64")
im = Image.open(io.BytesIO(thumb))
check(status == 200 and max(im.size) == 64, f"?size=64 gives 64 px on the longer side ({im.size})")
s.call("GET", f"/v1/images/{big['id']}/thumbnail?size=64")
status, stats = s.json("GET", "/v1/stats")
check(stats["thumbnail_cache"]["hits"] >= 1 and stats["thumbnail_cache"]["entries"] == 2,
      f"thumbnails are made once and cached: {stats['thumbnail_cache']}")

# --- writes ----------------------------------------------------------------------------------
new = png(80, 60, 1)
status, added = s.upload("new photo.png", new, {"metadata": '{"album": "trip", "n": 3}', "tags": "beach, sun"})
nid = added.get("id")
check(status == 201 and added["status"] == "added" and added["record"]["metadata"] ==
      {"album": "trip", "n": 3, "name": "new photo.png"} and added["record"]["tags"] == ["beach", "sun"],
      f"upload (multipart) with metadata and tags: 201 added {added}")
status, again = s.upload("copy.png", new)
check(status == 200 and again["status"] == "unchanged" and again["id"] == nid and
      again["record"]["metadata"]["name"] == "new photo.png", "the same bytes again: 200 unchanged, same id")
status, changed = s.json("POST", "/v1/images", {"image": base64.b64encode(new).decode(), "metadata": {"album": "home"}})
check(status == 200 and changed["status"] == "updated" and changed["id"] == nid and
      changed["record"]["metadata"] == {"album": "home"}, "JSON upload of the same bytes with new metadata: updated")
status, second = s.json("POST", "/v1/images", {"image": base64.b64encode(png(64, 64, 2)).decode(), "name": "b.png",
                                               "tags": ["x"]})
check(status == 201 and second["status"] == "added" and second["id"] != nid, "JSON upload of a new image: 201")
status, headers, payload = s.call("GET", f"/v1/images/{nid}/file")
check(status == 200 and payload == new and headers["Content-Type"] == "image/png", "an upload's file is served back")
status, found = s.upload("q.png", new, path="/v1/search/image")
check(found["result"][0]["id"] == nid and found["result"][0]["score"] > 0.999, "an upload is searchable at once")
status, headers, thumb = s.call("GET", f"/v1/images/{nid}/thumbnail")
check(status == 200 and Image.open(io.BytesIO(thumb)).size == (80, 60), "an upload has a thumbnail (not enlarged)")

status, patched = s.json("PATCH", f"/v1/images/{nid}", {"metadata": {"rating": 5, "album": None}, "tags": ["t"]})
check(status == 200 and patched["metadata"] == {"rating": 5} and patched["tags"] == ["t"],
      "PATCH merges metadata (null removes a key) and replaces tags")
status, patched = s.json("PATCH", f"/v1/images/{nid}", {"metadata": {"ok": True, "people": ["a", "b"]}})
check(status == 200 and patched["metadata"] == {"rating": 5, "ok": True, "people": ["a", "b"]} and
      patched["tags"] == ["t"], "PATCH without tags keeps them")
status, found = s.json("POST", "/v1/search", {"id": nid, "filter": "rating>=5", "limit": 5})
check([h["id"] for h in found["result"]] == [nid], "patched metadata is searchable by filter")

status, gone = s.json("DELETE", f"/v1/images/{second['id']}")
check(status == 200 and gone == {"id": second["id"], "deleted": True}, "DELETE")
status, err = s.json("GET", f"/v1/images/{second['id']}")
check(status == 404, "a deleted image is gone")
status, err = s.json("DELETE", f"/v1/images/{second['id']}")
check(status == 404 and str(second["id"]) in err["error"]["message"], "DELETE again: 404 naming the id")

# A resized copy of an indexed photo, uploaded, is its duplicate.
jpg = images / "ukbench01380.jpg"
orig = Image.open(jpg)
small = io.BytesIO()
orig.resize((orig.width // 2, orig.height // 2)).save(small, format="JPEG", quality=90)
status, copy = s.upload("small copy.jpg", small.getvalue())
check(status == 201, "upload a resized copy")
status, dups = s.json("POST", "/v1/duplicates", {"threshold": 0.95})
group = next((g for g in dups["groups"] if copy["id"] in [m["id"] for m in g["images"]]), None)
check(group is not None and len(group["images"]) == 2 and
      [m for m in group["images"] if m["keeper"]][0]["record"]["source"].endswith("ukbench01380.jpg") and
      group["keeper"] != copy["id"], "duplicates: the copy groups with its original, which is the keeper")
check(all(m["matched_by"] in ("identical", "similar", "verified") for g in dups["groups"] for m in g["images"]),
      "duplicates say how each member matched")
# A 10% crop: too far for the vectors, found by verifying near pairs on their pixels.
cropped = io.BytesIO()
orig.crop((0, 0, orig.width * 9 // 10, orig.height * 9 // 10)).convert("RGB").save(cropped, format="JPEG", quality=90)
status, crop = s.upload("cropped copy.jpg", cropped.getvalue())
check(status == 201, "upload a cropped copy")
def group_of(found, member):
    return next((g for g in found["groups"] if member in [m["id"] for m in g["images"]]), None)
status, plain = s.json("POST", "/v1/duplicates", {"threshold": 0.95, "verify": False})
check(status == 200 and not plain["verified"] and group_of(plain, crop["id"]) is None,
      "duplicates by vectors alone miss the crop")
status, verified = s.json("POST", "/v1/duplicates", {"threshold": 0.95})
if verified["verified"]:
    g = group_of(verified, crop["id"])
    check(g is not None and g["keeper"] == group["keeper"] and
          [m["matched_by"] for m in g["images"] if m["id"] == crop["id"]] == ["verified"],
          f"duplicates verified on pixels: the crop joins its original: {verified}")
s.json("DELETE", f"/v1/images/{crop['id']}")

# --- errors ----------------------------------------------------------------------------------
errors = [
    ("POST", "/v1/search", None, b"{not json", 400, "bad_json"),
    ("POST", "/v1/search", [1, 2], None, 400, "JSON object"),
    ("POST", "/v1/search", {"limit": 3}, None, 400, "exactly one"),
    ("POST", "/v1/search", {"text": "a", "id": 1}, None, 400, "exactly one"),
    ("POST", "/v1/search", {"id": gid, "limit": 0}, None, 400, "\"limit\""),
    ("POST", "/v1/search", {"id": gid, "limit": -1}, None, 400, "\"limit\""),
    ("POST", "/v1/search", {"id": gid, "limit": "3"}, None, 400, "\"limit\""),
    ("POST", "/v1/duplicates", {"verify": "yes"}, None, 400, "\"verify\""),
    ("POST", "/v1/search", {"id": gid, "score_threshold": 2}, None, 400, "score_threshold"),
    ("POST", "/v1/search", {"vector": [1, 2]}, None, 400, "448"),
    ("POST", "/v1/search", {"vector": ["a"]}, None, 400, "numbers"),
    ("POST", "/v1/search", {"id": gid, "filter": "format!="}, None, 400, "format!="),
    ("POST", "/v1/search", {"text": "a dog"}, None, 400, "no text model"),
    ("POST", "/v1/search", {"image": "R0lGOD*"}, None, 400, "invalid character"),
    ("POST", "/v1/search", {"image": base64.b64encode(b"%PDF-1.4 not an image").decode()}, None, 415, "PDF"),
    ("POST", "/v1/search", {"id": 999999}, None, 404, "999999"),
    ("POST", "/v1/search", {"id": -3}, None, 400, "\"id\""),
    ("GET", "/v1/images/999999", None, None, 404, "999999"),
    ("GET", "/v1/images/999999/file", None, None, 404, "999999"),
    ("GET", "/v1/images/999999/thumbnail", None, None, 404, "999999"),
    ("GET", f"/v1/images/{gid}/thumbnail?size=5", None, None, 400, "16 to 1024"),
    ("GET", f"/v1/images/{gid}/thumbnail?size=abc", None, None, 400, "16 to 1024"),
    ("GET", "/v1/images/abc", None, None, 400, "abc"),
    ("GET", "/v1/images/99999999999999999999999", None, None, 400, "id"),
    ("GET", "/v1/images/..%2F..%2Fetc%2Fpasswd/file", None, None, 404, "no such endpoint"),
    ("GET", "/v1/images/%2E%2E/file", None, None, 400, "not an image id"),
    ("GET", "/v1/nothing", None, None, 404, "no such endpoint"),
    ("GET", "/v1/images/" + "1" * 9000, None, None, 414, "longer"),
    ("PATCH", f"/v1/images/{nid}", {}, None, 400, "give \"metadata\""),
    ("PATCH", f"/v1/images/{nid}", {"metadata": {"x": {"nested": 1}}}, None, 400, "metadata \"x\""),
    ("PATCH", f"/v1/images/{nid}", {"tags": "a"}, None, 400, "\"tags\""),
    ("PATCH", "/v1/images/999999", {"tags": []}, None, 404, "999999"),
    ("POST", "/v1/images", {"name": "x"}, None, 400, "multipart"),
    ("POST", "/v1/images", {"image": ""}, None, 400, "empty"),
    ("POST", "/v1/images", {"image": base64.b64encode(b"hello, world").decode(), "name": "notes.txt"}, None, 415,
     "notes.txt"),
    ("POST", "/v1/images", {"image": base64.b64encode(new).decode(), "metadata": [1]}, None, 400, "metadata"),
    ("POST", "/v1/duplicates", {"threshold": "high"}, None, 400, "threshold"),
    ("POST", "/v1/search", None, b"x" * (33 << 20), 413, "larger"),
]
for method, path, body, raw, want, text in errors:
    status, err = s.json(method, path, body, raw=raw)
    message = err.get("error", {}).get("message", "")
    check(status == want and text in message + err.get("error", {}).get("code", ""),
          f"{method} {path} {str(body if body is not None else (raw or b'')[:20])[:60]} -> {want}: {message[:90]}")

kept_files = sorted(p.name for p in (db / "files").iterdir())
for broken in BROKEN:
    data = (images / broken).read_bytes()
    status, err = s.json("POST", "/v1/search", {"image": base64.b64encode(data).decode()})
    check(status in (400, 415) and err["error"]["message"].startswith("base64 image: "),
          f"searching by broken {broken}: {status}")
    status, err = s.upload(broken, data)
    check(status in (400, 415) and broken in err["error"]["message"],
          f"uploading broken {broken}: {status} {err['error']['message'][:80]}")
big_pixels = io.BytesIO()
Image.new("RGB", (9000, 6000)).save(big_pixels, format="PNG")
status, err = s.upload("huge.png", big_pixels.getvalue())
check(status == 413 and err["error"]["code"] == "too_large" and "pixels" in err["error"]["message"], f"an image over --max-megapixels: {err['error']['message'][:90]}")
check(sorted(p.name for p in (db / "files").iterdir()) == kept_files,
      "refused uploads (broken, too many pixels) leave no file in files/")
status, health = s.json("GET", "/v1/health")
status, stats = s.json("GET", "/v1/stats")
check(status == 200 and stats["count"] == GOOD + 2,
      f"the server is still up after every error, with {GOOD + 2} images ({stats['count']})")

code, out, err = s.stop()
check(code == 0 and "stopped; saved" in out, f"SIGINT stops the server and saves (exit {code})")
check(not list(db.glob("log-*")), "the stop's save leaves no log behind")

# --- read-only, API key, exposure, CORS --------------------------------------------------------
s = start("--db", db, "--read-only")
status, stats = s.json("GET", "/v1/stats")
check(stats["count"] == GOOD + 2 and stats["writes"] == "disabled", "a restart finds the uploads (read-only now)")
status, err = s.upload("n.png", png(20, 20, 9))
check(status == 403 and err["error"]["code"] == "read_only", "--read-only refuses uploads")
status, err = s.json("DELETE", f"/v1/images/{nid}")
check(status == 403, "--read-only refuses deletes")
status, headers, _ = s.call("GET", "/v1/health")
check("Access-Control-Allow-Origin" not in headers, "no CORS headers unless asked")
s.stop()

env = dict(os.environ, IMGVEC_API_KEY="s3cret-key")
s = start("--db", db, "--cors", "http://example.test", env=env)
check("writes need the key" in s.first_line, "IMGVEC_API_KEY is taken from the environment")
status, err = s.upload("k.png", png(20, 20, 10))
check(status == 401 and err["error"]["code"] == "unauthorized", "a write without the key: 401")
status, err = s.upload("k.png", png(20, 20, 10), headers={"Authorization": "Bearer wrong"})
check(status == 403 and err["error"]["code"] == "forbidden", "a wrong key: 403")
status, ok = s.upload("k.png", png(20, 20, 10), headers={"X-API-Key": "s3cret-key"})
check(status == 201, "the right key (X-API-Key): 201")
status, ok = s.json("DELETE", f"/v1/images/{ok['id']}", headers={"Authorization": "Bearer s3cret-key"})
check(status == 200, "the right key (Bearer): delete")
status, found = s.json("POST", "/v1/search", {"id": gid})
check(status == 200, "reads need no key")
status, headers, _ = s.call("OPTIONS", "/v1/search", headers={"Origin": "http://example.test",
                                                             "Access-Control-Request-Method": "POST"})
check(status == 204 and headers["Access-Control-Allow-Origin"] == "http://example.test" and
      "POST" in headers["Access-Control-Allow-Methods"], "--cors answers a preflight")
status, headers, _ = s.call("GET", "/v1/health", headers={"Origin": "http://example.test"})
check(headers["Access-Control-Allow-Origin"] == "http://example.test", "--cors marks answers")
status, err = s.json("POST", "/v1/search", {"id": gid}, headers={"Origin": "http://other.test"})
check(status == 403 and err["error"]["code"] == "cross_origin", "an origin --cors does not name is refused")
s.stop()

r = subprocess.run([BIN, "serve", "--db", str(db), "--host", "0.0.0.0", "--port", "0"], capture_output=True,
                   text=True, timeout=30)
check(r.returncode == 2 and "API key" in r.stderr and "--read-only" in r.stderr,
      f"writes on a non-loopback address without a key are refused: {r.stderr.strip()[:100]}")
r = subprocess.run([BIN, "serve", "--db", str(scratch / "missing"), "--port", "0"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode != 0 and "missing" in r.stderr, f"a mistyped --db: {r.stderr.strip()[:100]}")

# --- the library: listing, facets, views, "not duplicates" --------------------------------------
s = start("--db", db)
status, listing = s.json("GET", "/v1/images?limit=3")
dates = [h["record"]["photo"].get("taken", "") for h in listing["result"]]
check(status == 200 and len(listing["result"]) == 3 and listing["total"] >= 3 and dates == sorted(dates, reverse=True)
      and all(h["view"].endswith("/view") for h in listing["result"]), f"GET /v1/images: newest first, paged ({dates})")
status, page2 = s.json("GET", "/v1/images?limit=3&offset=3")
check(not {h["id"] for h in page2["result"]} & {h["id"] for h in listing["result"]}, "the next page holds other images")
for bad in ("limit=abc", "limit=0", "offset=-1", "sort=best", "filter=taken>=june", "top_k=3"):
    status, err = s.json("GET", f"/v1/images?{bad}")
    check(status == 400 and err["error"]["message"], f"GET /v1/images?{bad} is a 400 naming it: {err['error']['message'][:80]}")
status, facets = s.json("GET", "/v1/facets")
check(status == 200 and facets["count"] == listing["total"] and facets["colours"], f"GET /v1/facets: {facets['count']}")
tiff = next((h for h in s.json("GET", "/v1/images?limit=100")[1]["result"] if h["record"]["format"] == "tiff"), None)
if tiff:
    status, headers, body = s.call("GET", tiff["view"])
    check(status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8",
          "a TIFF's view is a JPEG a browser shows")
jpeg = next(h for h in listing["result"] if h["record"]["format"] == "jpeg") if any(
    h["record"]["format"] == "jpeg" for h in listing["result"]) else None
if jpeg:
    status, headers, body = s.call("GET", jpeg["view"])
    check(status == 200 and headers["Content-Type"] == "image/jpeg" and len(body) == jpeg["record"]["file_size"],
          "a JPEG's view is its own file")
two = [h["id"] for h in listing["result"][:2]]
status, err = s.json("POST", "/v1/duplicates/dismiss", {"ids": two}, token=False)
check(status == 401, "not duplicates is a write: it needs the key")
status, err = s.json("POST", "/v1/duplicates/dismiss", {"ids": two[:1]})
check(status == 400 and "2 to 1000" in err["error"]["message"], "one id is not a pair")
status, err = s.json("POST", "/v1/duplicates/dismiss", {"ids": [two[0], 987654321]})
check(status == 404, "an unknown id is a 404")
status, ok = s.json("POST", "/v1/duplicates/dismiss", {"ids": two})
status, rec = s.json("GET", f"/v1/images/{two[0]}")
check(ok["not_duplicates"] and rec["metadata"]["not_duplicates"] == [str(two[1])], "a dismissed pair is remembered")
s.stop()

# --- page ------------------------------------------------------------------------------------
s = start("--db", db)
status, headers, page = s.call("GET", "/")
check(status == 200 and headers["Content-Type"].startswith("text/html") and b"<html" in page and
      "default-src 'self'" in headers["Content-Security-Policy"], "the page at /, with a strict CSP")
for asset, ctype in (("/app.js", "text/javascript"), ("/app.css", "text/css")):
    status, headers, body = s.call("GET", asset)
    check(status == 200 and headers["Content-Type"].startswith(ctype) and len(body) > 100, f"{asset} is served")
s.stop()

# --- text search, with the cache ---------------------------------------------------------------
if bundle:
    clip_db = scratch / "clip"
    r = subprocess.run([BIN, "index", str(images), "--db", str(clip_db), "--model", bundle], capture_output=True,
                       text=True)
    check(r.returncode == 3, "index with the tiny CLIP bundle")
    s = start("--db", clip_db)
    status, first = s.json("POST", "/v1/search", {"text": "a photo of a dog", "limit": 3})
    status, again = s.json("POST", "/v1/search", {"text": "a photo of a dog", "limit": 3})
    check(status == 200 and len(first["result"]) == 3 and
          [h["id"] for h in first["result"]] == [h["id"] for h in again["result"]], "text search")
    status, stats = s.json("GET", "/v1/stats")
    check(stats["text_search"] and stats["text_cache"]["hits"] == 1 and stats["text_cache"]["misses"] == 1,
          f"a repeated text query is served from the cache: {stats['text_cache']}")
    s.stop()
    # The cache is the database's: written when the server exits, read by the next process, and
    # the CLI's one-shot search of a cached text loads no model at all.
    check((clip_db / "text-cache.imgvtext").is_file(), "the server wrote the text cache when it stopped")
    r = subprocess.run([BIN, "search", "--db", str(clip_db), "--text", "a photo of a dog", "-k", "3", "--json"],
                       capture_output=True, text=True, env={**os.environ, "LD_DEBUG": "files"})
    loaded_clip = "imgvec_clip" in r.stderr or "libtorch" in r.stderr
    hits = json.loads(r.stdout) if r.returncode == 0 else []
    check(r.returncode == 0 and not loaded_clip and [h["id"] for h in hits] == [h["id"] for h in first["result"]],
          f"imgvec search --text of a cached text answers as the server did without loading the model "
          f"(rc {r.returncode}, model loaded: {loaded_clip})")
    s = start("--db", clip_db)
    status, after = s.json("POST", "/v1/search", {"text": "a photo of a dog", "limit": 3})
    status, stats = s.json("GET", "/v1/stats")
    check(stats["text_cache"]["hits"] == 1 and stats["text_cache"]["misses"] == 0,
          f"a restarted server finds the text in the cache: {stats['text_cache']}")
    s.stop()
shutil.rmtree(scratch)
