"""VectorDatabase from Python: the names of the Python class it replaces, numpy, errors, threads."""
import json
import os
import shutil

import numpy as np
import pytest

import imgvec
from conftest import BROKEN, IMAGES, in_threads


def test_index_directory_and_search(db, photos):
    decodable = len([p for p in os.listdir(photos)]) - len(BROKEN)
    assert len(db) == decodable
    stats = db.get_stats()
    assert stats["count"] == decodable and stats["encoder"]["kind"] == "descriptor" and stats["dimension"] == 448
    hits = db.search_by_image(photos / "giphy.gif", k=3)
    assert len(hits) == 3 and hits[0].record["source"].endswith("giphy.gif") and hits[0].score > 0.999
    assert isinstance(hits[0], imgvec.SearchResult) and hits[0].id in db
    assert hits[0].record["width"] > 0 and "content_hash" in hits[0].record
    # The same image as encoded bytes and as pixels finds the same first result.
    by_bytes = db.search_by_image((photos / "giphy.gif").read_bytes(), k=1)
    assert by_bytes[0].id == hits[0].id
    from PIL import Image
    pixels = np.asarray(Image.open(photos / "Iggy.256.ppm").convert("RGB"))
    assert db.search_by_image(pixels, k=1)[0].record["source"].endswith("Iggy.256.ppm")
    assert db.search_by_image(pixels[:, :, 0].copy(), k=1)  # gray is accepted too
    vec = db.get_vector(hits[0].id)
    assert vec.shape == (448,) and abs(np.linalg.norm(vec) - 1) < 1e-5
    assert db.search_by_vector(vec, k=1)[0].id == hits[0].id
    assert all(h.score >= 0.9 for h in db.search_by_image(photos / "giphy.gif", k=10, min_score=0.9))
    page = db.search_by_image(photos / "giphy.gif", k=2, offset=1)
    assert [h.id for h in page] == [h.id for h in hits[1:3]]
    only_png = db.search_by_image(photos / "giphy.gif", k=20, where="format=png")
    assert only_png and all(h.record["format"] == "png" for h in only_png)
    assert db.search_by_image(photos / "giphy.gif", k=20, where=["format=png", "width>10000"]) == []
    # The same filter as an expression and as a Qdrant-shaped dict.
    either = db.search_by_image(photos / "giphy.gif", k=20, where="format=png or format=gif")
    as_dict = db.search_by_image(photos / "giphy.gif", k=20, where={
        "should": [{"key": "format", "match": {"value": "png"}}, {"key": "format", "match": {"value": "gif"}}]})
    assert [h.id for h in either] == [h.id for h in as_dict] and len(either) > len(only_png)
    assert db.search_by_vector(vec, k=1)[0].score == 1.0  # a stored vector against itself


def test_option_names_are_the_librarys(tmp_path):
    # The library reads the names, as for the CLI and the server: a wrong one is a ValueError
    # that quotes it and lists the right ones, and nothing is created.
    with pytest.raises(ValueError, match='index "hsnw": expected hnsw or flat'):
        imgvec.VectorDatabase.create(str(tmp_path / "db"), index="hsnw")
    with pytest.raises(ValueError, match='durability "always"'):
        imgvec.VectorDatabase.create(str(tmp_path / "db"), durability="always")
    assert not (tmp_path / "db").exists()
    with imgvec.VectorDatabase.create(str(tmp_path / "db"), index="flat") as db:
        with pytest.raises(ValueError, match='sort order "date"'):
            db.search_by_vector([1.0] * db.get_stats()["dimension"], sort="date")
        with pytest.raises(ValueError, match='format "xlsx": expected jsonl, json or csv'):
            db.export_metadata(str(tmp_path / "m.csv"), format="xlsx")
        with pytest.raises(ValueError, match=r"m\.xlsx: records are written as \.jsonl"):
            db.export_metadata(str(tmp_path / "m.xlsx"))
        assert not (tmp_path / "m.xlsx").exists()
        db.export_metadata(str(tmp_path / "m.csv"))
        assert (tmp_path / "m.csv").read_text().startswith("id,source,format,")
        db.export_metadata(str(tmp_path / "m.json"))
        assert json.loads((tmp_path / "m.json").read_text()) == []
        with pytest.raises(ValueError, match='format "faiss": expected qdrant, milvus or pgvector'):
            db.export_external(str(tmp_path / "out"), format="faiss")


def test_add_metadata_tags_and_get(tmp_path):
    with imgvec.VectorDatabase.create(str(tmp_path / "db"), imgvec.DescriptorEncoder(), index="flat") as db:
        i = db.add_image(str(IMAGES / "baboon.256.pgm"), {"album": "zoo", "year": 2021, "rating": 4.5, "ok": True,
                                                           "people": ["ann", "bob"]}, ["animal"])
        rec = db.get(i)
        assert rec["metadata"] == {"album": "zoo", "year": 2021, "rating": 4.5, "ok": True, "people": ["ann", "bob"]}
        assert rec["tags"] == ["animal"]
        assert db.get(i + 1000) is None and db.get(-1) is None
        j = db.add_image_bytes((IMAGES / "giphy.gif").read_bytes(), "upload.gif", {"from": "web"})
        assert db.get(j)["metadata"]["from"] == "web"
        assert [h.id for h in db.search_by_image(IMAGES / "baboon.256.pgm", k=1, where="album=zoo")] == [i]
        assert db.search_by_image(IMAGES / "baboon.256.pgm", k=5, where="tag=animal")[0].id == i
        db.update_metadata(i, {"album": "safari"}, tags=["wild"], replace=True)
        assert db.get(i)["metadata"] == {"album": "safari"} and db.get(i)["tags"] == ["wild"]
        assert db.remove(j) and not db.remove(j) and len(db) == 1
        assert db.ids() == [i]


def test_batch_progress_and_failures(tmp_path, photos):
    db = imgvec.VectorDatabase.create(str(tmp_path / "db"))
    paths = sorted(str(p) for p in photos.iterdir())
    calls = []
    results = db.add_images_batch(paths, progress=lambda done, total: calls.append((done, total)))
    assert len(results) == len(paths) and calls and calls[-1][0] == calls[-1][1] == len(paths)
    failed = {os.path.basename(r["source"]) for r in results if r["status"] == "failed"}
    assert failed == BROKEN
    assert all(r["error"] for r in results if r["status"] == "failed")
    assert all(r["status"] == "unchanged" for r in db.add_images_batch(paths[:3]))
    with pytest.raises(ValueError):
        db.add_images_batch(paths[:2], metadata=[{}])
    db.close()


def test_save_open_context_manager_and_close(tmp_path, photos):
    path = str(tmp_path / "db")
    with imgvec.VectorDatabase.create(path) as db:
        report = db.index_directory(photos)
        assert report["added"] == len(list(photos.iterdir())) - len(BROKEN)
        assert report["failed"] == len(BROKEN) and len(report["failures"]) == len(BROKEN)
    assert db.closed
    with pytest.raises(ValueError, match="closed"):
        len(db)
    mapped = imgvec.VectorDatabase.open(path, map_index=True)  # searches the index file in place
    some = next(iter(mapped.ids()))
    first = [r.id for r in mapped.search(some, k=3)]
    mapped.close()
    again = imgvec.VectorDatabase.open(path)  # the encoder comes from the database: built-in
    assert [r.id for r in again.search(some, k=3)] == first
    assert len(again) == report["added"]
    assert again.index_directory(photos)["unchanged"] == report["added"]  # running it twice changes nothing
    again.close()
    again.close()  # closing twice is fine
    assert imgvec.VectorDatabase.exists(path)


def test_errors_say_what_is_wrong(tmp_path, db):
    with pytest.raises(FileNotFoundError) as missing:
        db.add_image(str(tmp_path / "nope.jpg"))
    assert "nope.jpg" in str(missing.value) and isinstance(missing.value, imgvec.NotFoundError)
    with pytest.raises(imgvec.UnsupportedError):
        db.search_by_text("a dog")  # the built-in encoder has no text side
    with pytest.raises(TypeError):
        db.add_image(str(IMAGES / "giphy.gif"), {"bad": object()})
    with pytest.raises(ValueError) as bad_filter:
        db.search_by_image(IMAGES / "giphy.gif", where="width>")
    assert isinstance(bad_filter.value, imgvec.InvalidArgumentError)
    with pytest.raises(ValueError):
        db.search_by_image(IMAGES / "giphy.gif", k=0)
    with pytest.raises(ValueError):
        db.search_by_vector(np.zeros(3, np.float32))
    with pytest.raises(imgvec.Error):
        db.search_by_image(b"not an image")
    with pytest.raises(imgvec.Error):
        imgvec.VectorDatabase.create(db.directory)  # already a database
    with pytest.raises(FileNotFoundError):
        imgvec.VectorDatabase.open(str(tmp_path / "nothing-here"))


def test_progress_callback_errors_propagate(tmp_path, photos):
    db = imgvec.VectorDatabase.create(str(tmp_path / "db"))

    def boom(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        db.index_directory(photos, progress=boom)
    db.close()


def test_duplicates_and_exports(tmp_path, photos):
    shutil.copy(photos / "baboon.256.pgm", photos / "baboon-copy.pgm")
    with imgvec.VectorDatabase.create(str(tmp_path / "db")) as db:
        db.index_directory(photos)
        groups = db.find_duplicates(verify=False)
        exact = [g for g in groups if g["exact"]]
        assert len(exact) == 1 and len(exact[0]["images"]) == 2
        assert [m["matched_by"] for m in exact[0]["images"]] == ["identical"] * 2
        assert all(set(g) == {"keeper", "exact", "images", "paths"} for g in groups)
        assert all(set(m) == {"id", "score", "matched_by", "keeper", "record"} for g in groups for m in g["images"])
        assert all(sum(m["keeper"] for m in g["images"]) == 1 and
                   any(m["id"] == g["keeper"] and m["keeper"] for m in g["images"]) for g in groups)
        db.export_metadata(str(tmp_path / "records.jsonl"))
        lines = [json.loads(line) for line in open(tmp_path / "records.jsonl")]
        assert sorted(r["id"] for r in lines) == db.ids()
        db.export_vectors(str(tmp_path / "v.npy"), str(tmp_path / "ids.npy"))
        v, ids = np.load(tmp_path / "v.npy"), np.load(tmp_path / "ids.npy")
        assert v.shape == (len(db), 448) and sorted(ids.tolist()) == db.ids()
        np.testing.assert_array_equal(v[0], db.get_vector(int(ids[0])))


def test_threads_search_concurrently(db, photos):
    queries = [photos / n for n in ("giphy.gif", "Iggy.256.ppm", "baboon.256.pgm", "ukbench01380.jpg")]
    expected = [[h.id for h in db.search_by_image(q, k=5)] for q in queries]

    def work():
        for _ in range(10):
            for q, want in zip(queries, expected):
                assert [h.id for h in db.search_by_image(q, k=5)] == want

    in_threads(work)


def test_same_results_as_the_cli(tmp_path, photos):
    cli = os.environ.get("IMGVEC_CLI")
    if not cli:
        pytest.skip("IMGVEC_CLI is not set (ctest sets it)")
    import subprocess
    path = str(tmp_path / "db")
    with imgvec.VectorDatabase.create(path) as db:
        db.index_directory(photos)
    # The folder is locked while a process has it open: the CLI reads it after Python closed it.
    out = subprocess.run([cli, "search", "--db", path, "--image", str(photos / "Iggy.256.ppm"), "-k", "5", "--json"],
                         capture_output=True, text=True, check=True).stdout
    from_cli = [(h["id"], round(h["score"], 5)) for h in json.loads(out)]
    with imgvec.VectorDatabase.open(path) as db:
        from_python = [(h.id, round(h.score, 5)) for h in db.search_by_image(photos / "Iggy.256.ppm", k=5)]
    assert len(from_cli) == 5 and from_python == from_cli


def test_exports_for_other_databases(db, tmp_path):
    for fmt in ("qdrant", "milvus", "pgvector"):
        report = db.export_external(str(tmp_path / fmt), fmt, collection="photos")
        assert report["images"] == len(db) and "imgvec-export.json" in report["files"]
        manifest = json.loads((tmp_path / fmt / "imgvec-export.json").read_text())
        assert manifest["format"] == fmt and manifest["collection"] == "photos"
    points = json.loads((tmp_path / "qdrant" / "points-00000.json").read_text())["points"]
    first = points[0]
    np.testing.assert_array_equal(np.array(first["vector"], np.float32), db.get_vector(first["id"]))
    assert first["payload"] == db.get(first["id"])
    with pytest.raises(ValueError):
        db.export_external(str(tmp_path / "x"), "faiss")
    with pytest.raises(imgvec.Error):
        db.export_external(str(tmp_path / "qdrant"), "qdrant")  # exists: never written over


def test_export_import_round_trip(db, tmp_path):
    db.export_external(str(tmp_path / "x"), "milvus")
    with imgvec.VectorDatabase.create(str(tmp_path / "copy"), index="flat") as copy:
        report = copy.import_export(str(tmp_path / "x"), source_root="/")
        assert report == {"format": "milvus", "imported": len(db), "skipped": 0}
        assert copy.ids() == db.ids()
        for i in db.ids():
            assert copy.get(i) == db.get(i)
            assert copy.get_vector(i).tobytes() == db.get_vector(i).tobytes()
        with pytest.raises(ValueError, match="already in this database"):
            copy.import_export(str(tmp_path / "x"))
    db.export_vectors(str(tmp_path / "v.npy"), str(tmp_path / "ids.npy"))
    db.export_metadata(str(tmp_path / "r.jsonl"))
    with imgvec.VectorDatabase.create(str(tmp_path / "copy2")) as copy:
        assert copy.import_vectors(str(tmp_path / "v.npy"), str(tmp_path / "ids.npy"), str(tmp_path / "r.jsonl"))["imported"] == len(db)
