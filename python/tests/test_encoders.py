"""The encoders from Python: arrays out, CLIP loaded only when asked for."""
import os
import subprocess
import sys

import numpy as np
import pytest

import imgvec
from conftest import IMAGES


def test_descriptor_encoder():
    enc = imgvec.DescriptorEncoder()
    assert enc.dimension == 448 and not enc.supports_text and enc.fingerprint["kind"] == "descriptor"
    v = enc.embed_images([str(IMAGES / "giphy.gif"), str(IMAGES / "Iggy.256.ppm")])
    assert v.shape == (2, 448) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    with pytest.raises(imgvec.UnsupportedError):
        enc.embed_texts(["a cat"])
    with pytest.raises(imgvec.Error) as broken:
        enc.embed_images([str(IMAGES / "ukbench09268_corrupt.jpg")])
    assert "ukbench09268_corrupt.jpg" in str(broken.value)
    with pytest.raises(TypeError):
        enc.embed_image(np.zeros((4, 4, 3), np.float32))


def test_import_does_not_load_libtorch():
    code = "import imgvec, sys; print(any('torch' in m for m in open('/proc/self/maps').read().split()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ).stdout
    assert out.strip() == "False"


def test_clip_encoder_and_text_search(tmp_path):
    bundle = os.environ.get("IMGVEC_TINY_BUNDLE")
    if not bundle:
        pytest.skip("no CLIP test bundle in this build (libtorch missing)")
    enc = imgvec.ClipEncoder(bundle)
    assert enc.supports_text and enc.fingerprint["kind"] == "clip"
    t = enc.embed_texts(["a photo of a dog", "a diagram"])
    assert t.shape == (2, enc.dimension)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1, atol=1e-5)
    with imgvec.VectorDatabase.create(str(tmp_path / "db"), enc) as db:
        db.add_images_batch([str(IMAGES / "giphy.gif"), str(IMAGES / "Iggy.256.ppm")])
        hits = db.search_by_text("a photo of a dog", k=2)
        assert len(hits) == 2 and hits[0].score >= hits[1].score
        np.testing.assert_allclose(hits[0].score, float(t[0] @ db.get_vector(hits[0].id)), atol=1e-4)
    with pytest.raises(imgvec.IncompatibleError):
        imgvec.VectorDatabase.open(str(tmp_path / "db"), imgvec.DescriptorEncoder())
    # The bundle is remembered with the database, as the CLI remembers it: open() needs no encoder.
    with imgvec.VectorDatabase.open(str(tmp_path / "db")) as again:
        assert again.encoder.fingerprint == enc.fingerprint and len(again) == 2


def test_clip_database_loads_its_model_only_to_embed(tmp_path):
    """open() without an encoder chooses the database's own; a process that only reads records,
    stats, exports and duplicates never maps libtorch (issue 20: every open loaded it)."""
    bundle = os.environ.get("IMGVEC_TINY_BUNDLE")
    if not bundle:
        pytest.skip("no CLIP test bundle in this build (libtorch missing)")
    db_path = str(tmp_path / "db")
    with imgvec.VectorDatabase.create(db_path, imgvec.ClipEncoder(bundle, "cpu")) as db:
        db.add_images_batch([str(IMAGES / "giphy.gif"), str(IMAGES / "Iggy.256.ppm")])
    code = f"""
import imgvec
def torch_mapped():
    return any("libtorch" in line for line in open("/proc/self/maps"))
with imgvec.VectorDatabase.open({db_path!r}) as db:
    stats = db.get_stats()
    db.find_duplicates(verify=False)
    db.export_metadata({str(tmp_path / "records.jsonl")!r})
    db.update_metadata(db.ids()[0], {{"album": "x"}})
    before = torch_mapped()
    hits = db.search_by_text("a photo of a dog", k=2)
    print(stats["encoder"]["kind"], before, torch_mapped(), len(hits))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["clip", "False", "True", "2"]


def test_metadata_is_checked_by_the_wire_reader(db):
    first = db.ids()[0]
    with pytest.raises(imgvec.InvalidArgumentError, match='"tags".*strings'):
        db.update_metadata(first, {"tags": ["a", 1]})
    with pytest.raises(TypeError, match='"when".*object'):
        db.update_metadata(first, {"when": object()})
    with pytest.raises(ValueError, match="64 bits"):
        db.update_metadata(first, {"big": 2**70})
    db.update_metadata(first, {"n": 3, "ok": True, "x": 1.5, "names": ["a", "b"]})
    assert db.get(first)["metadata"] == {"n": 3, "ok": True, "x": 1.5, "names": ["a", "b"]}


def cpu_has_bf16():
    flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "").split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def test_clip_precision_is_chosen_and_checked(tmp_path):
    """precision= reaches the encoder from ClipEncoder and from VectorDatabase(model=...); what the
    device cannot run is refused with the precision named; bf16 vectors are float32's to 0.999."""
    bundle = os.environ.get("IMGVEC_TINY_BUNDLE")
    if not bundle:
        pytest.skip("no CLIP test bundle in this build (libtorch missing)")
    with pytest.raises(imgvec.UnsupportedError, match='"fp16".*CUDA'):
        imgvec.ClipEncoder(bundle, "cpu", precision="fp16")
    with pytest.raises(imgvec.Error, match='"half"'):
        imgvec.ClipEncoder(bundle, device="cpu", precision="half")
    with pytest.raises(imgvec.UnsupportedError, match='"fp16"'):
        imgvec.VectorDatabase(str(tmp_path / "db"), model=bundle, device="cpu", precision="fp16")
    float32 = imgvec.ClipEncoder(bundle, "cpu")
    assert "float32" in float32.runtime
    if not cpu_has_bf16():
        with pytest.raises(imgvec.UnsupportedError, match="AVX-512 BF16"):
            imgvec.ClipEncoder(bundle, "cpu", precision="bf16")
        return
    bf16 = imgvec.ClipEncoder(bundle, "cpu", precision="bf16")
    assert "bf16" in bf16.runtime and bf16.fingerprint == float32.fingerprint
    texts = ["a photo of a dog", "a diagram of a bridge", "snow"]
    cos = np.sum(float32.embed_texts(texts) * bf16.embed_texts(texts), axis=1)
    assert cos.min() >= 0.999, cos
    # A database built in bf16 is searched in float32: the vectors are interchangeable.
    with imgvec.VectorDatabase(str(tmp_path / "db"), model=bundle, device="cpu", precision="bf16") as db:
        db.add_images_batch([str(IMAGES / "giphy.gif"), str(IMAGES / "Iggy.256.ppm")])
    with imgvec.VectorDatabase.open(str(tmp_path / "db"), device="cpu", precision="float32") as db:
        assert db.search_by_image(str(IMAGES / "giphy.gif"), k=1)[0].score >= 0.999
