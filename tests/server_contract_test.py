#!/usr/bin/python3
"""imgvec serve says what it did (issue 19, items 7 and 8): unknown fields are refused by name with
"did you mean", filter keys no image has come back as warnings, filters combine with and/or/not and
take Qdrant's JSON shape, distances come in the kind asked for, JSON bodies are read whatever the
Content-Type; and every curl command in docs/server.md runs as written. 127.0.0.1 only.

    server_contract_test.py IMGVEC_BINARY IMAGES_DIR DOCS_SERVER_MD SCRATCH_DIR [CLIP_BUNDLE]

With the tiny CLIP bundle (builds with libtorch) the database has a text model and the docs' text
searches must succeed; without one they must answer 400 no_text_model.
"""
import base64
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from server_support import Servers, fresh_database  # noqa: E402

BIN, images, server_md, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
bundle = sys.argv[5] if len(sys.argv) > 5 else None
db = fresh_database(BIN, images, scratch, *(["--model", bundle] if bundle else []))
servers = Servers(BIN)
check = servers.check
s = servers.start("--db", db)

status, stats = s.json("GET", "/v1/stats")
count = stats["count"]
ids = [h["id"] for h in s.json("POST", "/v1/search", {"vector": [1.0] * stats["dimension"], "limit": 100})[1]["result"]]
check(len(ids) == count >= 8, f"the test database holds the images ({count})")
first = ids[0]
status, _ = s.json("PATCH", f"/v1/images/{first}", {"metadata": {"album": "trip", "title": "cats and dogs (2)"}})
check(status == 200, "metadata for the filters")

# --- unknown fields: refused by name, with what was meant ------------------------------------------
for body, field, meant in [({"id": first, "top_k": 3}, "top_k", "limit"),
                           ({"id": first, "score_treshold": 0.5}, "score_treshold", "score_threshold"),
                           ({"id": first, "where": "width>1"}, "where", "filter"),
                           ({"id": first, "certainty": 0.9}, "certainty", "score_threshold"),
                           ({"id": first, "lmit": 3}, "lmit", "limit")]:
    status, answer = s.json("POST", "/v1/search", body)
    message = answer.get("error", {}).get("message", "")
    check(status == 400 and answer["error"]["code"] == "unknown_field" and f'"{field}"' in message
          and f'did you mean "{meant}"' in message, f"{field} -> 400 naming it and {meant}: {status} {message}")
status, answer = s.json("POST", "/v1/search", {"positive": [{"id": first, "wieght": 2}]})
check(status == 400 and '"wieght"' in answer["error"]["message"] and "weight" in answer["error"]["message"],
      f"a misspelt field inside an example is named: {answer}")
status, answer = s.json("POST", "/v1/duplicates", {"treshold": 0.9})
check(status == 400 and "did you mean \"threshold\"" in answer["error"]["message"], f"duplicates too: {answer}")
status, answer = s.json("PATCH", f"/v1/images/{first}", {"metadta": {"a": 1}})
check(status == 400 and '"metadta"' in answer["error"]["message"], f"and a change of an image: {answer}")
status, answer = s.upload("x.gif", (images / "giphy.gif").read_bytes(), {"limt": "3"}, path="/v1/search/image")
check(status == 400 and "did you mean \"limit\"" in answer["error"]["message"], f"and form fields: {answer}")

# --- filters: warnings, and/or/not, Qdrant's shape ----------------------------------------------
status, answer = s.json("POST", "/v1/search", {"id": first, "filter": "albun=trip"})
check(status == 200 and answer["result"] == [] and len(answer["warnings"]) == 1
      and 'did you mean "album"' in answer["warnings"][0], f"a key no image has is a warning: {answer}")
status, answer = s.json("POST", "/v1/search", {"id": first, "filter": "album=trip"})
check(status == 200 and answer["warnings"] == [] and [h["id"] for h in answer["result"]] == [first],
      f"a key some image has is no warning: {answer['warnings']}")


def found(filter_):
    status, answer = s.json("POST", "/v1/search", {"id": first, "limit": 100, "filter": filter_})
    check(status == 200, f"filter {filter_!r}: {status} {answer}")
    return sorted(h["id"] for h in answer["result"])


jpegs = found("format=jpeg")
pngs = found("format=png")
check(jpegs and pngs, "jpeg and png images to filter on")
check(found("format=jpeg or format=png") == sorted(jpegs + pngs), "or")
check(found("format=jpeg and not width>=100000") == jpegs, "and not")
check(found("not (format=jpeg or format=png)") == sorted(set(ids) - set(jpegs) - set(pngs)), "not ( ... or ... )")
check(found('title="cats and dogs (2)"') == [first], "a quoted value with and and parentheses")
check(found({"should": [{"key": "format", "match": {"value": "jpeg"}},
                        {"key": "format", "match": {"value": "png"}}]}) == sorted(jpegs + pngs),
      "Qdrant's should")
check(found({"must": [{"key": "format", "match": {"any": ["jpeg", "png"]}}],
             "must_not": [{"has_id": [first]}]}) == sorted(set(jpegs + pngs) - {first}), "must, any, must_not, has_id")
status, answer = s.json("POST", "/v1/search", {"id": first, "filter": "format=jpeg and"})
check(status == 400 and "expected a condition" in answer["error"]["message"], f"a broken filter is named: {answer}")
status, answer = s.json("POST", "/v1/search", {"id": first, "filter": {"must": [{"key": "format", "mach": {}}]}})
check(status == 400 and 'did you mean "match"' in answer["error"]["message"], f"so is a broken JSON filter: {answer}")
status, answer = s.json("POST", "/v1/search", {"id": first, "filter": "(" * 5000 + "width>1" + ")" * 5000})
check(status == 400 and "deeper than 32" in answer["error"]["message"], "deep parentheses are refused")

# The page's own filter examples (its placeholder and the help under the box) all work as written.
page = (Path(server_md).parent.parent / "web" / "index.html").read_text()
help_text = page[page.index('id="filter-help"'):page.index("</p>", page.index('id="filter-help"'))]
examples = [re.search(r'placeholder="e\.g\. ([^"]+)"', page).group(1).replace("&gt;", ">")]
codes = [c.replace("&lt;", "<").replace("&gt;", ">") for c in re.findall(r"<code>([^<]+)</code>", help_text)]
examples += [c for c in codes if re.match(r"[a-z_]+(=|>=|<=)", c)]
check(len(examples) >= 7, f"the page's filter examples: {examples}")
for example in examples:
    status, answer = s.json("POST", "/v1/search", {"id": first, "filter": example})
    check(status == 200, f"the page's filter example {example!r} works: {status} {answer.get('error')}")

# --- distances --------------------------------------------------------------------------------
status, answer = s.json("POST", "/v1/search", {"id": first, "limit": 100})
hits = answer["result"]
check(hits[0]["id"] == first and hits[0]["score"] == 1.0 and hits[0]["distance"] == 0.0,
      f"a search by a stored id scores exactly 1: {hits[0]['score']!r}")
check(answer["distance"] == "cosine" and all(abs(h["distance"] - (1 - h["score"])) < 1e-6 for h in hits),
      "cosine distance is 1 - score")
status, answer = s.json("POST", "/v1/search", {"id": first, "limit": 100, "distance": "l2"})
check(answer["distance"] == "l2" and all(abs(h["distance"] - math.sqrt(max(0, 2 - 2 * h["score"]))) < 1e-5
                                         for h in answer["result"]), "l2 distance between unit vectors")
cut = sorted(h["distance"] for h in answer["result"])[len(answer["result"]) // 2]
status, near = s.json("POST", "/v1/search", {"id": first, "limit": 100, "distance": "l2", "distance_threshold": cut})
kept = [h["distance"] for h in near["result"]]
check(near["result"] and all(d <= cut + 1e-5 for d in kept)
      and len(kept) == sum(1 for h in answer["result"] if h["distance"] <= cut - 1e-5) + sum(
          1 for h in answer["result"] if abs(h["distance"] - cut) < 1e-5),
      f"distance_threshold keeps exactly the hits within it ({len(kept)} at {cut})")
status, answer = s.json("POST", "/v1/search", {"id": first, "distance": "manhattan"})
check(status == 400 and '"l2"' in answer["error"]["message"], "an unknown distance is named")

# --- bodies read as JSON whatever the Content-Type; the base64 message ---------------------------
photo = (images / "ukbench09060.jpg").read_bytes()
body = json.dumps({"image": base64.b64encode(photo).decode(), "limit": 2}).encode()
check(len(body) > 100_000, "a real photo's body is far over cpp-httplib's 8 KB form limit")
for content_type in ["application/x-www-form-urlencoded", "text/plain", "application/json"]:
    status, headers, payload = s.call("POST", "/v1/search", raw=body, content_type=content_type)
    check(status == 200 and len(json.loads(payload)["result"]) == 2, f"a search as {content_type}: {status}")
status, answer = s.json("POST", "/v1/search", {"image": "===="})
check(status == 400 and "padding" in answer["error"]["message"], f"a base64 of padding only is named: {answer}")

# --- paths: uploads named by SHA-256, shown without the server's folder; files checked ------------
import hashlib  # noqa: E402
gif = (images / "giphy.gif").read_bytes()
png = gif[:-1] + b"\x00;"  # other bytes, the same picture: a new file
status, answer = s.json("POST", "/v1/images", {"image": base64.b64encode(png).decode(), "name": "p.gif"})
source = answer["record"]["source"]
check(status == 201 and source == f"$DB/files/{hashlib.sha256(png).hexdigest()}.gif",
      f"an upload's source is relative to the database and named by SHA-256: {source}")
check(str(db.resolve()) not in json.dumps(answer), "no answer names the server's database folder")
upload_id = answer["id"]
status, headers, payload = s.call("GET", f"/v1/images/{upload_id}/file")
check(status == 200 and payload == png, "the upload's file is served")
kept = db / "files" / source.split("/")[-1]
kept.write_bytes(png + b"more")
status, answer = s.json("GET", f"/v1/images/{upload_id}/file")
check(status == 409 and "changed since it was added" in answer["error"]["message"],
      f"a file changed behind the database's back is not served: {status} {answer}")
kept.write_bytes(png[:-2] + b"\x01;")  # the same size, other bytes
status, answer = s.json("GET", f"/v1/images/{upload_id}/file")
check(status == 409 and "no longer holds the bytes" in answer["error"]["message"], f"nor one of the same size: {answer}")
kept.write_bytes(png)

# --- every curl command of docs/server.md, as written ------------------------------------------
work = scratch / "docs"
work.mkdir()
shutil.copy(images / "ukbench09060.jpg", work / "photo.jpg")
shutil.copy(images / "ukbench01380.jpg", work / "beach.jpg")
port = s.base.rsplit(":", 1)[1]
target = ids[-1]
commands = [line.strip() for line in server_md.read_text().splitlines()
            if line.startswith("    curl ") or (line.startswith("    (") and "| curl " in line)]
check(len(commands) >= 15, f"docs/server.md has its curl commands ({len(commands)})")
env = dict(os.environ, TOKEN=s.token)
for command in commands:
    # The docs' server is localhost:8080 and image 42; ours listens elsewhere and has other ids.
    run = re.sub(r"(localhost|127\.0\.0\.1):8080", rf"127.0.0.1:{port}", command)
    run = run.replace("/images/42", f"/images/{target}").replace('"id": 42', f'"id": {target}')
    r = subprocess.run(["bash", "-c", run + " -w '\\n%{http_code}'"], capture_output=True, text=True,
                       cwd=work, env=env, timeout=60)
    out, _, code = r.stdout.rpartition("\n")
    expected = 400 if '"top_k"' in command or ('"text"' in command and not bundle) else None
    ok = r.returncode == 0 and (int(code) == expected if expected else 200 <= int(code) < 300)
    if expected and '"top_k"' not in command:
        ok = ok and json.loads(out)["error"]["code"] == "no_text_model"
    check(ok, f"docs/server.md: {command[:100]} -> exit {r.returncode}, HTTP {code}: {out[:200]}")
    if "albun" in command:
        check("did you mean" in json.loads(out)["warnings"][0], "the documented warning")
check((work / "t.jpg").read_bytes()[:2] == b"\xff\xd8", "the documented thumbnail is a JPEG")

servers.kill_all()
shutil.rmtree(scratch)
print("server contract: ok")
