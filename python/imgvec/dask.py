"""Embedding a large file list on a Dask cluster, then importing the result into one database.

    from distributed import Client
    import imgvec, imgvec.dask

    client = Client("scheduler:8786")                     # or distributed.LocalCluster()
    report = imgvec.dask.embed_files(paths, "shards/", client=client, bundle="vit-b-32.pt")
    with imgvec.VectorDatabase.create("photos.imgvec", imgvec.ClipEncoder("vit-b-32.pt")) as db:
        imgvec.dask.import_shards(db, "shards/")

Each task embeds a slice of the list on a worker with the encoder that worker loaded once, and
writes one shard: vectors (shard-NNNNN.npy), their ids (shard-NNNNN.ids.npy) and the records a
database would make (shard-NNNNN.jsonl). The workers must see the files at the same paths (a
shared file system) and have imgvec installed. import_shards gives the images new ids; the
records (file facts, content hash, photo facts, colours) are those index_directory makes.
"""

import json
import os

import numpy as np

import imgvec
from imgvec import _imgvec

_ENCODERS = {}  # per worker process: (bundle, device) -> encoder, loaded once


def _encoder(bundle, device):
    key = (bundle, device)
    if key not in _ENCODERS:
        _ENCODERS[key] = imgvec.ClipEncoder(bundle, device) if bundle else imgvec.DescriptorEncoder()
    return _ENCODERS[key]


def _write_atomically(path, write):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def embed_shard(paths, out_dir, shard, bundle=None, device="auto"):
    """Embeds `paths` and writes shard number `shard` into out_dir; returns (images, failures).
    Runs on a worker; also usable without Dask."""
    vectors, records, failures = _imgvec._embed_file_records(_encoder(bundle, device), list(paths))
    stem = os.path.join(out_dir, f"shard-{shard:05d}")
    ids = np.arange(1, len(records) + 1, dtype=np.uint64)
    # The records file last: a shard counts as written once its records are there.
    _write_atomically(stem + ".npy", lambda f: np.save(f, vectors))
    _write_atomically(stem + ".ids.npy", lambda f: np.save(f, ids))
    _write_atomically(stem + ".jsonl", lambda f: f.write("".join(r + "\n" for r in records).encode()))
    return len(records), failures


def embed_files(paths, out_dir, *, client=None, bundle=None, device="auto", files_per_task=256):
    """Spreads embedding of `paths` over a Dask cluster's workers, files_per_task files per task,
    and writes one shard per task into out_dir (created if missing; shards already there from an
    earlier run of the same list are kept, so a failed run can be resumed). client: a
    distributed.Client (default: the current one). bundle: a CLIP bundle path as the workers see
    it, or None for the built-in encoder. Returns {"shards", "images", "failures"}."""
    from distributed import default_client
    client = client or default_client()
    os.makedirs(out_dir, exist_ok=True)
    paths = [os.fspath(p) for p in paths]
    slices = [paths[i:i + files_per_task] for i in range(0, len(paths), files_per_task)]
    todo = [n for n in range(len(slices))
            if not os.path.exists(os.path.join(out_dir, f"shard-{n:05d}.jsonl"))]
    futures = client.map(embed_shard, [slices[n] for n in todo], [out_dir] * len(todo), todo,
                         [bundle] * len(todo), [device] * len(todo), pure=False)
    images, failures = 0, []
    for n, failed in client.gather(futures):
        images += n
        failures += failed
    return {"shards": len(slices), "images": images, "failures": failures}


def import_shards(db, out_dir, *, progress=None):
    """Imports every shard in out_dir into `db` (an imgvec.VectorDatabase made with the encoder the
    shards were embedded with), with new ids; images whose files db already holds are skipped.
    Returns {"imported", "skipped"}."""
    stems = sorted(f[:-len(".jsonl")] for f in os.listdir(out_dir) if f.startswith("shard-") and f.endswith(".jsonl"))
    imported = skipped = 0
    for i, stem in enumerate(stems):
        base = os.path.join(out_dir, stem)
        # The shards name the files the caller gave embed_files: their own, so their paths stand.
        r = db.import_vectors(base + ".npy", base + ".ids.npy", base + ".jsonl", new_ids=True, source_root="/")
        imported += r["imported"]
        skipped += r["skipped"]
        if progress:
            progress(i + 1, len(stems))
    return {"imported": imported, "skipped": skipped}
