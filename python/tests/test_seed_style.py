"""Python as users of the seed VectorDatabase class write it (issue 21, item 2): the names they
type, printing what they get, scripts that end without close(), PIL images and alpha, URLs,
colours, combined queries, labels, merged metadata, duplicate groups with paths."""
import functools
import http.server
import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import imgvec
from conftest import IMAGES

BUNDLE = os.environ.get("IMGVEC_TINY_BUNDLE")


def run_script(code, cwd):
    """Runs `code` in a fresh interpreter, as a user's script; returns its output."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd,
                       env=os.environ, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_seed_style_script_runs_unchanged_and_loses_nothing(tmp_path):
    # The names users of the seed class type, in the order they type them, and no close() at the end.
    out = run_script(f"""
        import imgvec
        db = imgvec.VectorDatabase("photos_db")
        for name in ["giphy.gif", "Iggy.256.ppm", "baboon.256.pgm", "ukbench01380.jpg", "ukbench09380.jpeg"]:
            image_id = db.add_image({str(IMAGES)!r} + "/" + name, metadata={{"album": "trip", "name": name}})
        results = db.search_by_image({str(IMAGES / "giphy.gif")!r}, k=3)
        print(results)
        for r in results:
            print(r.path, round(r.distance, 4), r.metadata["album"], r["score"] == r.score)
        db.update_metadata(results[0].id, {{"favourite": True}})
        print(db.get(results[0].id)["metadata"])
        groups = db.find_duplicates(threshold=0.99)
        print([g["paths"] for g in groups])
        db.export_metadata("photos.json")
        print(len(db), db.get_stats()["count"])
    """, tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("[SearchResult(id=") and "giphy.gif" in lines[0], lines[0]
    assert lines[1].endswith("giphy.gif 0.0 trip True"), lines[1]
    assert json.loads(lines[4].replace("'", '"').replace("True", "true")) == {
        "album": "trip", "name": "giphy.gif", "favourite": True}  # merged, not replaced
    assert lines[-1] == "5 5"
    records = json.loads((tmp_path / "photos.json").read_text())  # one JSON array, as the name says
    assert isinstance(records, list) and len(records) == 5
    # The script ended without close(): a second one finds every image and the metadata change.
    out = run_script("""
        import imgvec
        db = imgvec.VectorDatabase("photos_db")
        print(len(db), sorted(r["metadata"].get("favourite", False) for r in map(db.get, db.ids())))
    """, tmp_path)
    assert out.strip() == "5 [False, False, False, False, True]"


def test_a_database_dropped_without_close_saves_with_a_warning(tmp_path):
    db = imgvec.VectorDatabase(tmp_path / "db", durability="on_save")
    db.add_image(IMAGES / "giphy.gif")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del db
    assert any("was not closed" in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert len(imgvec.VectorDatabase(tmp_path / "db")) == 1


def test_every_type_has_a_repr(tmp_path):
    db = imgvec.VectorDatabase(str(tmp_path / "db"))
    db.add_image(str(IMAGES / "giphy.gif"))
    hit = db.search_by_image(str(IMAGES / "giphy.gif"), k=1)[0]
    shown = {
        "result": repr(hit), "results": repr([hit]), "db": repr(db), "encoder": repr(db.encoder),
        "flat": repr(imgvec.FlatIndex(4)), "hnsw": repr(imgvec.HnswIndex(8, "l2")),
        "query": repr(imgvec.Query("a dog", negative=[1])), "error": repr(imgvec.NotFoundError("x")),
    }
    assert shown["result"] == f"SearchResult(id={hit.id}, score=1.0000, path={str(IMAGES / 'giphy.gif')!r})"
    assert shown["flat"] == "<imgvec.FlatIndex 4-d cosine, 0 vectors>"
    assert shown["hnsw"] == "<imgvec.HnswIndex 8-d l2, 0 vectors>"
    assert "1 images" in shown["db"] and "descriptor" in shown["encoder"]
    assert shown["query"] == "Query(positive='a dog', negative=[1])"
    db.close()
    assert "closed" in repr(db)
    print(shown)  # what print() shows, which raised TypeError before


def test_the_constructor_opens_or_creates(tmp_path):
    with imgvec.VectorDatabase(tmp_path / "db") as db:  # pathlib, and a new folder: created
        db.add_image(IMAGES / "giphy.gif")
    with imgvec.VectorDatabase(tmp_path / "db") as db:  # there now: opened
        assert len(db) == 1
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("a user's file")
    with pytest.raises(ValueError, match="not empty"):
        imgvec.VectorDatabase(tmp_path / "taken")
    assert (tmp_path / "taken" / "mine.txt").read_text() == "a user's file"
    with pytest.raises(ValueError, match="encoder= or model="):
        imgvec.VectorDatabase(tmp_path / "other", imgvec.DescriptorEncoder(), model="x.pt")


def test_results_have_path_metadata_distance_and_a_dict_form(db, photos):
    hits = db.search_by_image(photos / "giphy.gif", k=2)
    top = hits[0]
    assert top.path == str(photos / "giphy.gif") and top.distance == pytest.approx(1 - top.score)
    assert top.metadata == {} and top.tags == []
    d = top.to_dict()
    assert set(d) == {"id", "score", "distance", "path", "record"} and d["record"]["id"] == top.id
    assert top["path"] == top.path and top["metadata"] == {}
    with pytest.raises(KeyError):
        top["nothing"]
    added = db.add_image_bytes((photos / "giphy.gif").read_bytes(), "upload.gif")
    from_memory = [h for h in db.search_by_image(photos / "giphy.gif", k=20) if h.id == added][0]
    assert from_memory.path is None  # no file: None, not ""


def test_metadata_updates_merge_unless_replaced(db):
    i = db.ids()[0]
    db.update_metadata(i, {"album": "trip", "stars": 3})
    db.update_metadata(i, {"stars": 5, "seen": True})
    assert db.get(i)["metadata"] == {"album": "trip", "stars": 5, "seen": True}
    db.update_metadata(i, {"seen": None})  # None removes a key
    assert db.get(i)["metadata"] == {"album": "trip", "stars": 5}
    db.update_metadata(i, {"only": 1}, replace=True)
    assert db.get(i)["metadata"] == {"only": 1}
    db.update_metadata(i, {}, tags=["best"])
    assert db.get(i)["metadata"] == {"only": 1} and db.get(i)["tags"] == ["best"]


def test_pil_images_and_alpha_arrays_are_searched_as_files_are(db, photos):
    from PIL import Image
    with Image.open(photos / "alpha_channel_image.png") as im:
        assert im.mode == "RGBA"
        by_pil = db.search_by_image(im, k=1)
        by_array = db.search_by_image(np.asarray(im), k=1)
    by_file = db.search_by_image(photos / "alpha_channel_image.png", k=1)
    assert by_pil[0].id == by_array[0].id == by_file[0].id
    assert by_pil[0].score == pytest.approx(by_file[0].score, abs=1e-5)  # alpha onto white, as for the file
    encoder = db.encoder
    clear = np.zeros((32, 32, 4), np.uint8)  # fully transparent: white
    white = np.full((32, 32, 3), 255, np.uint8)
    np.testing.assert_allclose(encoder.embed_image(clear), encoder.embed_image(white), atol=1e-6)
    gray_alpha = np.zeros((32, 32, 2), np.uint8)
    np.testing.assert_allclose(encoder.embed_image(gray_alpha), encoder.embed_image(white), atol=1e-6)
    for mode in ("P", "1", "CMYK", "I;16", "LA", "L"):
        assert len(db.search_by_image(Image.new(mode, (24, 24)), k=1)) == 1, mode
    with pytest.raises(ValueError, match="HxWx4"):
        db.search_by_image(np.zeros((8, 8, 5), np.uint8))


def test_colour_search_combined_queries_and_urls(db, photos):
    assert db.search_by_colour("#ffffff", k=3)
    assert db.search_by_colour(["white", (0, 0, 0)], k=3)
    with pytest.raises(ValueError, match="colour \"blu\""):
        db.search_by_colour("blu")
    gif = db.search_by_image(photos / "giphy.gif", k=1)[0].id
    # A stored id is left out; a path and a vector count as examples; weights in tuples.
    hits = db.search(imgvec.Query(positive=[gif, (Path(photos / "giphy.gif"), 0.5)],
                                  negative=db.get_vector(gif) * -1), k=3)
    assert hits and gif not in [h.id for h in hits]
    assert db.search(gif, k=2) and db.search([gif], negative=Path(photos / "Iggy.256.ppm"), k=2)
    with pytest.raises(ValueError):
        db.search(imgvec.Query(negative=[gif]))  # no positive example
    # URLs, from a server on this machine (allowed explicitly: private addresses are refused by default).
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(photos))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/giphy.gif"
        with pytest.raises(imgvec.Error, match="private"):
            db.add_image_url(url)
        i = db.add_image_url(url, {"from": "web"}, allow_private_urls=True)
        assert db.get(i)["metadata"]["url"] == url and db.get(i)["metadata"]["from"] == "web"
        top = db.search_by_image_url(url, k=1, allow_private_urls=True)[0]
        assert top.score == pytest.approx(1.0, abs=1e-5)
    finally:
        server.shutdown()


def test_duplicate_groups_list_their_paths(db, photos):
    import shutil
    shutil.copy(photos / "baboon.256.pgm", photos / "baboon-copy.pgm")
    db.index_directory(photos)
    groups = db.find_duplicates(verify=False)
    group = [g for g in groups if any(p.endswith("baboon-copy.pgm") for p in g["paths"])][0]
    assert sorted(Path(p).name for p in group["paths"]) == ["baboon-copy.pgm", "baboon.256.pgm"]
    keeper = [m for m in group["images"] if m["keeper"]][0]
    assert group["paths"][0] == keeper["record"]["source"]


def test_labels_need_clip_and_take_lists_and_dicts(db, tmp_path):
    with pytest.raises(imgvec.Error, match="text"):
        db.label_images()  # the built-in encoder has no text model
    if not BUNDLE:
        pytest.skip("no CLIP test bundle in this build (libtorch missing)")
    with imgvec.VectorDatabase(tmp_path / "clip", model=BUNDLE) as clip:
        clip.add_image(IMAGES / "giphy.gif")
        assert clip.label_images(["dog", "diagram"], top=1, min_score=0) == 1
        assert clip.get(clip.ids()[0])["labels"][0]["name"] in ("dog", "diagram")
        assert clip.label_images({"cat": "a photo of a cat"}, top=1, min_score=0) == 1
        assert clip.search_by_text("a cat", k=1, where="label=cat")


def test_dask_embeds_on_the_best_device_by_default():
    pytest.importorskip("distributed")
    import imgvec.dask
    for f in (imgvec.dask.embed_files, imgvec.dask.embed_shard):
        assert inspect.signature(f).parameters["device"].default == "auto"
