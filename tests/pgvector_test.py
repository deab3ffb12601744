#!/usr/bin/env python3
"""The scale-out path to PostgreSQL for real (issue 21, item 6): a throwaway PostgreSQL 15 cluster
(on a Unix socket in a temporary folder, no TCP) with pgvector 0.8.6 built from third_party/, the
pgvector commands of docs/scale-out.md run as written, and the top 10 through pgvector's HNSW
index, with and without metadata filters translated to jsonb conditions, checked against
`imgvec search` on the same vectors.

    pgvector_test.py IMGVEC IMAGES SCALE_OUT_MD SCRATCH
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

BIN, IMAGES, DOC, SCRATCH = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
PG_BIN = Path("/usr/lib/postgresql/15/bin")
failures = 0


def check(condition, what):
    global failures
    print(("ok: " if condition else "FAILED: ") + what, flush=True)
    if not condition:
        failures += 1


def run(*args, cwd=None, env=None, user=None):
    cmd = [str(a) for a in args]
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r.stdout


sharedir = run(PG_BIN / "pg_config", "--sharedir").strip()
if not Path(sharedir, "extension", "vector--0.8.6.sql").exists():
    raise SystemExit(f"pgvector 0.8.6 is not installed in {sharedir}/extension: run scripts/setup-debian.sh, "
                     "which builds it from third_party/pgvector")

shutil.rmtree(SCRATCH, ignore_errors=True)
SCRATCH.mkdir(parents=True)
# initdb refuses to run as root: the cluster belongs to Debian's postgres user then.
# Its folder is under /tmp, which that user can reach (a checkout under /root it cannot).
owner = "postgres" if os.geteuid() == 0 else None
cluster = Path(tempfile.mkdtemp(prefix="imgvec-pg-"))
if owner:
    shutil.chown(cluster, owner, owner)
run(PG_BIN / "initdb", "-D", cluster / "data", "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
    user=owner)
run(PG_BIN / "pg_ctl", "-D", cluster / "data", "-l", cluster / "log", "-w", "-o",
    f"-k {cluster} -c listen_addresses='' -p 5499 -c fsync=off", "start", user=owner)
env = dict(os.environ, PGHOST=str(cluster), PGPORT="5499", PGUSER="postgres")


def sql(query, db="photos"):
    """Rows of a query, as lists of strings."""
    out = run(PG_BIN / "psql", "-d", db, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query,
              env=env)
    return [line.split("\t") for line in out.splitlines() if line]


try:
    # A database of the test images, then 3000 more images' vectors and records imported beside
    # them: clusters of nearby vectors, as photos of one scene, so a top 10 is not ties.
    work = SCRATCH / "work"
    work.mkdir()
    db = work / "photos.imgvec"
    subprocess.run([BIN, "index", IMAGES, "--db", db], capture_output=True, check=False)
    run(BIN, "export", "--db", db, "--metadata", work / "seed.jsonl", "--vectors", work / "seed.npy",
        "--ids", work / "seed-ids.npy")
    seed = [json.loads(line) for line in (work / "seed.jsonl").read_text().splitlines()]
    dim = np.load(work / "seed.npy").shape[1]
    rng = np.random.default_rng(21)
    centres = rng.standard_normal((60, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 60, 3000)] + 0.35 * rng.standard_normal((3000, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 4000, dtype=np.uint64)
    random.seed(21)
    with open(work / "more.jsonl", "w") as f:
        for i in ids:
            record = dict(random.choice(seed), id=int(i), source="")
            record["metadata"] = {"album": random.choice(["holiday", "work", "family"]), "stars": random.randint(1, 5)}
            record["tags"] = ["best"] if random.random() < 0.2 else []
            f.write(json.dumps(record) + "\n")
    np.save(work / "more.npy", vectors)
    np.save(work / "more-ids.npy", ids)
    run(BIN, "import", "--db", db, "--vectors", work / "more.npy", "--ids", work / "more-ids.npy",
        "--metadata", work / "more.jsonl")

    # docs/scale-out.md's pgvector commands, as written, with `imgvec` on the PATH.
    doc = DOC.read_text()
    section = doc[doc.index("## PostgreSQL + pgvector"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    tools = SCRATCH / "bin"
    tools.mkdir()
    (tools / "imgvec").symlink_to(Path(BIN).resolve())
    shell_env = dict(env, PATH=f"{tools}:{PG_BIN}:{os.environ['PATH']}")
    out = run("bash", "-euo", "pipefail", "-c", block, cwd=work, env=shell_env)
    check("(5 rows)" in out and out.count("(5 rows)") == 2,
          f"docs/scale-out.md's pgvector commands run as written against PostgreSQL 15 + pgvector 0.8.6:\n{out}")
    check(sql("SELECT count(*) FROM images") == [[str(3000 + len(seed))]], "every image is loaded")
    check(sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [["0.8.6"]], "pgvector 0.8.6")
    # 3000 rows are few enough that the planner would scan them all: the index is made the only
    # way, so that what is compared below is pgvector's HNSW search, not an exact scan.
    force_index = "SET enable_seqscan = off; SET hnsw.ef_search = 200; SET hnsw.iterative_scan = strict_order; "
    plan = "\n".join(r[0] for r in sql(force_index + "EXPLAIN SELECT id FROM images ORDER BY embedding <=> "
                                      "(SELECT embedding FROM images WHERE id = 1000) LIMIT 10"))
    check("Index Scan using images_embedding_idx" in plan, f"the query goes through the HNSW index load.sql built:\n{plan}")

    # The top 10 of each query, both ways: imgvec's `search --like ID` (the image itself left out)
    # and the same through pgvector's HNSW index. Ids must agree except among ties.
    filters = [
        ("", ""),
        ("album=holiday", "record->'metadata'->>'album' = 'holiday'"),
        ("stars>=4", "(record->'metadata'->>'stars')::numeric >= 4"),
        ("tag=best", "record->'tags' ? 'best'"),
        ("album=family and not tag=best", "record->'metadata'->>'album' = 'family' AND NOT record->'tags' ? 'best'"),
        ("album=work or stars=5", "(record->'metadata'->>'album' = 'work' OR (record->'metadata'->>'stars')::numeric = 5)"),
    ]
    for query in (1000, 1733, 2500, 3999):
        for where, condition in filters:
            args = ["search", "--db", db, "--like", str(query), "-k", "10", "--json"] + (["--where", where] if where else [])
            ours = [(h["id"], h["score"]) for h in json.loads(run(BIN, *args))]
            vector = sql(f"SELECT embedding FROM images WHERE id = {query}")[0][0]
            select = (f"SELECT id, 1 - (embedding <=> '{vector}') FROM images WHERE id <> {query} "
                      f"{'AND ' + condition if condition else ''} ORDER BY embedding <=> '{vector}' LIMIT 10")
            if query == 1000:
                plan = "\n".join(r[0] for r in sql(force_index + "EXPLAIN " + select))
                check("Index Scan using images_embedding_idx" in plan,
                      f"{where or 'unfiltered'}: the comparison goes through the HNSW index:\n{plan}")
            rows = sql(force_index + select)
            theirs = [(int(r[0]), float(r[1])) for r in rows]
            same_scores = len(ours) == len(theirs) == 10 and all(abs(a[1] - b[1]) < 1e-5 for a, b in zip(ours, theirs))
            # Ties aside: an id may trade places only with one of (nearly) the same score.
            tied = lambda hits, i: [h[0] for h in hits if abs(h[1] - hits[i][1]) < 1e-6]  # noqa: E731
            same_ids = all(ours[i][0] == theirs[i][0] or ours[i][0] in tied(theirs, i) for i in range(min(len(ours), len(theirs))))
            check(same_scores and same_ids, f"query {query} {where or '(no filter)'}: pgvector's HNSW top 10 is imgvec's"
                  + ("" if same_scores and same_ids else f"\n  imgvec  {ours}\n  pgvector {theirs}"))
finally:
    subprocess.run((["runuser", "-u", owner, "--"] if owner else []) +
                   [str(PG_BIN / "pg_ctl"), "-D", str(cluster / "data"), "-m", "immediate", "-w", "stop"],
                   capture_output=True, timeout=120)
    shutil.rmtree(cluster, ignore_errors=True)

sys.exit(1 if failures else 0)
