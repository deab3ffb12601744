"""FlatIndex and HnswIndex: numpy in and out, as Faiss users expect."""
import numpy as np
import pytest

import imgvec
from conftest import in_threads


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    return unit(rng.standard_normal((500, 32)).astype(np.float32)), unit(rng.standard_normal((20, 32)).astype(np.float32))


@pytest.mark.parametrize("make", [lambda: imgvec.FlatIndex(32), lambda: imgvec.HnswIndex(32, ef_search=200),
                                  lambda: imgvec.HnswIndex(32, ef_search=200, storage="float16"),
                                  lambda: imgvec.HnswIndex(32, ef_search=200, storage="sq8"),
                                  lambda: imgvec.HnswIndex(32, ef_search=200, storage="sq4")])
def test_search_matches_brute_force(make, data):
    x, q = data
    index = make()
    index.add(np.arange(1000, 1500), x)
    assert len(index) == index.ntotal == 500
    scores, ids = index.search(q, 10)
    assert scores.shape == ids.shape == (20, 10)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    expected = np.argsort(-(q @ x.T), axis=1)[:, :10] + 1000
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, expected)])
    assert recall >= (1.0 if isinstance(index, imgvec.FlatIndex) else 0.95)
    # float16, sq8 and sq4 score with half-precision copies of the vectors
    np.testing.assert_allclose(scores[:, 0], np.sort(q @ x.T, axis=1)[:, -1], atol=1e-3)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_conversions_shapes_and_padding(data):
    x, q = data
    index = imgvec.FlatIndex(32)
    index.add([1, 2, 3], x[:3].astype(np.float64))  # converted, not refused
    scores, ids = index.search(q[0], k=5)  # one vector as a 1-d array
    assert ids.shape == (1, 5)
    assert list(ids[0, 3:]) == [-1, -1] and np.all(np.isneginf(scores[0, 3:]))
    np.testing.assert_allclose(index.reconstruct(2), x[1], atol=1e-6)
    assert 2 in index and 9 not in index
    assert sorted(index.ids()) == [1, 2, 3]
    assert index.remove(2) and not index.remove(2)
    with pytest.raises(ValueError, match="32"):
        index.add([4], np.zeros((1, 16), np.float32))
    with pytest.raises(ValueError, match="ids"):
        index.add([4, 5], x[:1])
    with pytest.raises(ValueError):
        index.add([-1], x[:1])
    with pytest.raises(ValueError):
        index.search(q, k=0)
    with pytest.raises(imgvec.NotFoundError):
        index.reconstruct(77)
    with pytest.raises(ValueError):
        imgvec.FlatIndex(8, "hamming")


def test_filters_and_min_score(data):
    x, q = data
    index = imgvec.HnswIndex(32)
    index.add(np.arange(500), x)
    _, ids = index.search(q, 5, allow=np.arange(0, 500, 7))
    assert np.all(ids % 7 == 0)
    scores, ids = index.search(q, 50, min_score=0.3)
    assert np.all((scores >= 0.3) | (ids == -1))


@pytest.mark.parametrize("cls", [imgvec.FlatIndex, imgvec.HnswIndex])
def test_save_load_round_trip_and_corruption(cls, data, tmp_path):
    x, q = data
    index = cls(32)
    index.add(np.arange(500), x)
    path = str(tmp_path / "index.bin")
    index.save(path)
    loaded = cls.load(path)
    a, b = index.search(q, 5), loaded.search(q, 5)
    np.testing.assert_array_equal(a[1], b[1])
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0xFF
    open(path, "wb").write(bytes(raw))
    with pytest.raises(imgvec.CorruptFileError):
        cls.load(path)
    with pytest.raises(FileNotFoundError):
        cls.load(str(tmp_path / "missing.bin"))


def test_mapped_load_searches_the_file_and_reads_it_whole_when_changed(data, tmp_path):
    x, q = data
    index = imgvec.HnswIndex(32)
    index.add(np.arange(500), x)
    path = str(tmp_path / "index.bin")
    index.save(path)
    mapped = imgvec.HnswIndex.load(path, mapped=True)
    assert mapped.mapped and not imgvec.HnswIndex.load(path).mapped
    np.testing.assert_array_equal(mapped.search(q, 5)[1], index.search(q, 5)[1])
    mapped.add(np.array([900]), x[:1])
    assert not mapped.mapped and 900 in mapped.ids()
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0xFF  # a vector: the open does not read it, the first change does
    open(path, "wb").write(bytes(raw))
    damaged = imgvec.HnswIndex.load(path, mapped=True)
    with pytest.raises(imgvec.CorruptFileError, match="checksum"):
        damaged.remove(3)
    assert damaged.mapped
    with pytest.raises(imgvec.IncompatibleError):
        imgvec.FlatIndex(32).save(str(tmp_path / "flat.bin")) or imgvec.HnswIndex.load(str(tmp_path / "flat.bin"), mapped=True)


def test_concurrent_searches_agree(data):
    x, q = data
    index = imgvec.HnswIndex(32)
    index.add(np.arange(500), x)
    expected = index.search(q, 10)[1]

    def work():
        for _ in range(50):
            np.testing.assert_array_equal(index.search(q, 10)[1], expected)

    in_threads(work)


@pytest.mark.parametrize("storage", ["sq8", "sq4"])
def test_storage_names_rerank_and_save(data, tmp_path, storage):
    x, q = data
    index = imgvec.HnswIndex(32, storage=storage)
    index.add(np.arange(500), x)
    shallow = index.search(q, 10, ef=40, rerank=10)[1]
    deep = index.search(q, 10, ef=40)[1]
    assert shallow.shape == deep.shape == (20, 10) and np.all(shallow >= 0)
    index.save(str(tmp_path / f"{storage}.idx"))
    for again in (imgvec.HnswIndex.load(str(tmp_path / f"{storage}.idx")),
                  imgvec.HnswIndex.load(str(tmp_path / f"{storage}.idx"), mapped=True)):
        np.testing.assert_array_equal(again.search(q, 10)[1], index.search(q, 10)[1])
    with pytest.raises(ValueError, match="storage \"int4\": expected float32, float16, sq8 or sq4"):
        imgvec.HnswIndex(32, storage="int4")
    with pytest.raises(ValueError, match="disagree"):
        imgvec.HnswIndex(32, float16=True, storage=storage)
    db = imgvec.VectorDatabase(tmp_path / "db", storage=storage)
    assert db.get_stats()["storage"] == storage
