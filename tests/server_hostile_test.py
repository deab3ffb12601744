#!/usr/bin/python3
"""imgvec serve against what a hostile web page, a rebound DNS name and an abusive client send
(issue 19), on 127.0.0.1 only, bounded in count and time: cross-site forms and text/plain posts,
a foreign Host, a foreign Origin, requests other sites' pages make (Sec-Fetch-Site), writes
without the start's token, duplicate searches without it, and deeply nested JSON.

    server_hostile_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR
"""
import base64
import http.client
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from server_support import Servers, fresh_database  # noqa: E402

BIN, images, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
db = fresh_database(BIN, images, scratch)
servers = Servers(BIN)
check, start = servers.check, servers.start


def raw(server, method, path, body=b"", headers=None):
    """One request with exactly these headers (Host included when given): (status, json or bytes)."""
    host, port = server.base[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    h = dict(headers or {})
    conn.putrequest(method, path, skip_host="Host" in h, skip_accept_encoding=True)
    for k, v in h.items():
        conn.putheader(k, v)
    if body:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    try:
        return resp.status, json.loads(payload)
    except ValueError:
        return resp.status, payload


def form(fields, file_bytes):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.gif"\r\n'
                 f'Content-Type: image/gif\r\n\r\n'.encode() + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def count(server):
    return server.json("GET", "/v1/stats")[1]["count"]


gif = (images / "giphy.gif").read_bytes()
s = start("--db", db)
before = count(s)
port = s.base.rsplit(":", 1)[1]
gid = s.json("POST", "/v1/search", {"image": base64.b64encode(gif).decode(), "limit": 1})[1]["result"][0]["id"]

# --- another site's page: a form, a text/plain body, with and without the token -------------------
body, ctype = form({"name": "evil"}, gif)
status, err = raw(s, "POST", "/v1/images", body, {"Origin": "http://evil.example", "Content-Type": ctype})
check(status == 403 and err["error"]["code"] == "cross_origin" and "--cors" in err["error"]["message"],
      f"a cross-site multipart form upload is refused: {status}")
status, err = raw(s, "POST", "/v1/images", json.dumps({"image": "R0lGODlh"}).encode(),
                  {"Origin": "http://evil.example", "Content-Type": "text/plain"})
check(status == 403 and err["error"]["code"] == "cross_origin", "a cross-site text/plain JSON upload is refused")
status, err = raw(s, "POST", "/v1/search", json.dumps({"id": gid}).encode(),
                  {"Origin": "http://evil.example", "Content-Type": "text/plain"})
check(status == 403, "a cross-site search (a read of paths) is refused")
status, err = raw(s, "POST", "/v1/images", json.dumps({"image": "R0lGODlh"}).encode(),
                  {"Origin": f"http://localhost:{int(port) + 1}", "Content-Type": "application/json"})
check(status == 403, "a page on another port of this machine is another origin: refused")
status, err = raw(s, "POST", "/v1/search", json.dumps({"id": gid}).encode(),
                  {"Origin": "null", "Content-Type": "application/json"})
check(status == 403, "Origin: null (a sandboxed frame, a file:// page) is refused")
for site, mode in (("cross-site", "no-cors"), ("same-site", "cors"), ("cross-site", "no-cors")):
    status, err = raw(s, "GET", f"/v1/images/{gid}/file", headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode})
    check(status == 403 and err["error"]["code"] == "cross_origin",
          f"an <img> or fetch from another site's page (Sec-Fetch-Site: {site}) is refused")
status, payload = raw(s, "GET", f"/v1/images/{gid}/file", headers={"Sec-Fetch-Site": "cross-site",
                                                                     "Sec-Fetch-Mode": "navigate"})
check(status == 200 and payload == gif, "following a link to a file from elsewhere (a navigation) still works")
status, payload = raw(s, "GET", f"/v1/images/{gid}/file", headers={"Sec-Fetch-Site": "same-origin",
                                                                     "Origin": s.base})
check(status == 200 and payload == gif, "the server's own page (same origin) is served")
check(count(s) == before, "nothing was added by another site")

# --- requests built to crash or exhaust the server -------------------------------------------------
deep = b'{"colours": ' + b"[" * 70000 + b"]" * 70000 + b"}"
status, err = raw(s, "POST", "/v1/search", deep, {"Content-Type": "application/json"})
check(status == 400 and "nested deeper than 64" in err["error"]["message"],
      f"70,000 nested arrays in a search (140 KB, no key needed) are refused: {status}")
deep = b'{"metadata": {"x": ' + b'{"a":' * 200000 + b"1" + b"}" * 200000 + b"}}"
status, err = raw(s, "PATCH", f"/v1/images/{gid}", deep, {"Content-Type": "application/json", "X-API-Key": s.token})
check(status == 400 and "nested" in err["error"]["message"], f"metadata nested 200,000 deep in a PATCH: {status}")
body, ctype = form({"metadata": "[" * 100000}, gif)
status, err = raw(s, "POST", "/v1/images", body, {"Content-Type": ctype, "X-API-Key": s.token})
check(status == 400 and "nested" in err["error"]["message"], "a nested form field is refused")
shallow = json.dumps({"id": gid, "filter": "[" * 5000 + "x"}).encode()  # brackets in strings are text
status, err = raw(s, "POST", "/v1/search", shallow, {"Content-Type": "application/json"})
check(status == 400 and "nested" not in err["error"]["message"], "brackets inside a string are not nesting")
status, err = s.json("POST", "/v1/search", {"id": gid, "filter": "source=" + "*?" * 20 + "x"})
check(status == 400 and "wildcards" in err["error"]["message"], f"a filter with 40 wildcards is refused: {status}")
status, found = s.json("POST", "/v1/search", {"id": gid, "filter": "source=" + "*?" * 8 + "*.gif", "limit": 50})
check(status == 200 and found["result"] and all(h["record"]["source"].endswith(".gif") for h in found["result"]),
      "8 *? pairs (32 million steps per path for the old matcher) match at once")
check(s.json("GET", "/v1/health")[0] == 200, "the server is still up")

# --- DNS rebinding: a foreign name in Host --------------------------------------------------------
for method, path, payload in (("GET", "/", b""), ("GET", f"/v1/images/{gid}/file", b""),
                              ("POST", "/v1/search", json.dumps({"id": gid}).encode()),
                              ("DELETE", f"/v1/images/{gid}", b"")):
    headers = {"Host": f"rebind.example:{port}", "Content-Type": "application/json"}
    if s.token:
        headers["X-API-Key"] = s.token  # even a leaked token does not help a rebound name
    status, err = raw(s, method, path, payload, headers)
    check(status == 403 and err["error"]["code"] == "host_not_allowed" and "--allowed-host" in err["error"]["message"],
          f"{method} {path} with Host rebind.example is refused")
for host in (f"localhost:{port}", f"127.0.0.1:{port}", "127.0.0.1", f"LOCALHOST:{port}"):
    status, _ = raw(s, "GET", "/v1/health", headers={"Host": host})
    check(status == 200, f"Host {host} is this server")
for host in ("", "a b", "evil.example@127.0.0.1", "[::1", "localhost:80x"):
    status, _ = raw(s, "GET", "/v1/health", headers={"Host": host})
    check(status in (400, 403), f"a malformed Host {host!r} is refused ({status})")
check(count(s) == before, "nothing was deleted through a rebound name")

# --- the start's token ------------------------------------------------------------------------------
status, err = s.upload("t.gif", gif, token=False)
check(status == 401 and "token" in err["error"]["message"] and "X-API-Key" in err["error"]["message"],
      f"a write without the token: 401 saying how to send it: {err['error']['message'][:100]}")
status, err = s.upload("t.gif", gif, headers={"X-API-Key": "0" * 32})
check(status == 403 and err["error"]["code"] == "forbidden", "a wrong token: 403")
status, err = s.json("POST", "/v1/duplicates", {}, token=False)
check(status == 401, "a duplicate search without the token: 401")
status, err = s.json("DELETE", f"/v1/images/{gid}", token=False)
check(status == 401, "a delete without the token: 401")
status, headers, page = s.call("GET", "/")
check(status == 200 and f'content="{s.token}"'.encode() in page and headers["Cache-Control"] == "no-store",
      "the server's own page carries the token and is not cached")
status, found = s.json("POST", "/v1/duplicates", {"verify": False})
check(status == 200, "with the token, duplicates are found")
old_token = s.token
s.stop()

s = start("--db", db)
check(s.token != old_token, "a new start makes a new token")
status, err = s.upload("t.gif", gif, headers={"X-API-Key": old_token})
check(status == 403, "the last start's token no longer works")
s.stop()

s = start("--db", db, "--allowed-host", "photos.lan", "--open-reads")
status, _ = raw(s, "GET", "/v1/health", headers={"Host": "photos.lan:8080"})
check(status == 200, "--allowed-host adds a name")
status, _ = raw(s, "GET", "/v1/health", headers={"Host": "other.lan"})
check(status == 403, "and only that name")
status, found = s.json("POST", "/v1/duplicates", {"verify": False}, token=False)
check(status == 200, "--open-reads: duplicates without the token")
s.stop()

s = start("--db", db, "--read-only")
check(s.token is None and "read-only" in s.first_line, "a read-only server makes no token")
status, found = s.json("POST", "/v1/duplicates", {"verify": False})
check(status == 200, "and a read-only server without a key finds duplicates for anyone")
s.stop()

# --- many image examples: decoded one at a time, within a pixel budget per request ---------------
s = start("--db", db, "--read-only", "--max-megapixels", 1)
example = {"image": base64.b64encode(gif).decode()}  # 314 x 400: 0.126 MP
status, answer = s.json("POST", "/v1/search", {"positive": [example] * 30})
check(status == 200 and answer["result"], f"30 examples within 4 x --max-megapixels are searched ({status})")
status, answer = s.json("POST", "/v1/search", {"positive": [example] * 40})
check(status == 413 and "pixels together" in answer["error"]["message"],
      f"40 of them (5 MP) are over the request's pixel budget: {status} {answer}")
s.stop()

# --- a write-ahead log damaged in the middle -------------------------------------------------------
logged = scratch / "logged"
shutil.copytree(db, logged)
s = start("--db", logged, "--save-every", 100000, "--save-interval", 3600)
for seed in range(4):
    img = gif[:-1] + bytes([seed]) + gif[-1:]  # the same picture, other bytes: four new files
    status, _ = s.json("POST", "/v1/images", {"image": base64.b64encode(img).decode(), "name": f"l{seed}.gif"})
    check(status in (200, 201), f"a logged upload ({status})")
s.proc.kill()
s.proc.wait()
logs = sorted(logged.glob("log-*.imgvlog"))
check(len(logs) == 1, f"the uploads are in one log ({[p.name for p in logs]})")
data = bytearray(logs[0].read_bytes())
data[len(data) // 3] ^= 0x5A
logs[0].write_bytes(bytes(data))
r = subprocess.run([BIN, "stats", "--db", str(logged)], capture_output=True, text=True, timeout=60)
check(r.returncode != 0 and logs[0].name in r.stderr and "imgvec repair" in r.stderr,
      f"stats refuses a log damaged in the middle, naming it and the way out: {r.stderr.strip()[:160]}")
r = subprocess.run([BIN, "serve", "--db", str(logged), "--port", "0"], capture_output=True, text=True, timeout=60)
check(r.returncode != 0 and logs[0].name in r.stderr, "serve refuses it too")
r = subprocess.run([BIN, "repair", "--db", str(logged)], capture_output=True, text=True, timeout=60)
check(r.returncode == 0 and "dropped" in r.stdout and not list(logged.glob("log-*")),
      f"imgvec repair keeps what precedes the damage and saves: {r.stdout.strip()}")
r = subprocess.run([BIN, "stats", "--db", str(logged), "--json"], capture_output=True, text=True, timeout=60)
check(r.returncode == 0 and before <= json.loads(r.stdout)["count"] < before + 4,
      f"the repaired database opens with the uploads before the damage ({json.loads(r.stdout)['count']})")

servers.kill_all()
shutil.rmtree(scratch)
