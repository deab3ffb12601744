"""Embedding on a Dask cluster (a LocalCluster of 2 worker processes): the imported result equals
embedding the same files in one process."""
import os

import numpy as np
import pytest

import imgvec
from conftest import BROKEN

distributed = pytest.importorskip("distributed", reason="python3-distributed (Dask) is not installed")
import imgvec.dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_cluster_embedding_equals_one_process(client, photos, tmp_path):
    paths = sorted(str(p) for p in photos.iterdir())
    report = imgvec.dask.embed_files(paths, str(tmp_path / "shards"), client=client, files_per_task=3)
    assert report["shards"] == 4 and report["images"] == len(paths) - len(BROKEN)
    assert sorted(os.path.basename(f["source"]) for f in report["failures"]) == sorted(BROKEN)
    # Each worker that took tasks loaded its encoder once, however many tasks it ran.
    loaded = client.run(lambda: len(imgvec.dask._ENCODERS))
    assert len(loaded) == 2 and all(n <= 1 for n in loaded.values()) and sum(loaded.values()) >= 1
    with imgvec.VectorDatabase.create(str(tmp_path / "cluster")) as cluster_db, \
            imgvec.VectorDatabase.create(str(tmp_path / "local")) as local_db:
        imported = imgvec.dask.import_shards(cluster_db, str(tmp_path / "shards"))
        assert imported == {"imported": len(paths) - len(BROKEN), "skipped": 0}
        local_db.add_images_batch(paths)
        by_source = {local_db.get(i)["source"]: i for i in local_db.ids()}
        assert len(cluster_db) == len(local_db)
        for i in cluster_db.ids():
            rec = cluster_db.get(i)
            j = by_source[rec["source"]]
            assert cluster_db.get_vector(i).tobytes() == local_db.get_vector(j).tobytes(), rec["source"]
            other = local_db.get(j)
            for volatile in ("id", "added_ms"):
                rec.pop(volatile), other.pop(volatile)
            assert rec == other
        # Importing the shards again adds nothing: the files are already there.
        assert imgvec.dask.import_shards(cluster_db, str(tmp_path / "shards"))["imported"] == 0
    # A second run with the shards in place does no work.
    again = imgvec.dask.embed_files(paths, str(tmp_path / "shards"), client=client, files_per_task=3)
    assert again["images"] == 0 and again["shards"] == 4


def test_embed_shard_without_a_cluster(tmp_path, photos):
    n, failures = imgvec.dask.embed_shard([str(photos / "giphy.gif"), str(photos / "missing.jpg")], str(tmp_path), 7)
    assert n == 1 and len(failures) == 1 and "missing.jpg" in failures[0]["error"]
    v = np.load(tmp_path / "shard-00007.npy")
    assert v.shape == (1, 448) and v.dtype == np.float32
