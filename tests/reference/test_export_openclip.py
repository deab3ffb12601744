#!/usr/bin/python3
"""Runs tools/export_openclip.py against the stand-in open_clip (fake_open_clip/) and checks the
bundle: its config, its outputs against the model's own, the shortened text path, that models it
cannot reproduce are refused, and that the C++ encoder loads it and agrees with Python.

    test_export_openclip.py OUT_DIR IMGVEC_CLI IMAGE
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE / "fake_open_clip"))
sys.path.insert(0, str(HERE))
import open_clip  # noqa: E402  (the stand-in)
from pil_preprocess import clip_transform, decode_like_imgvec  # noqa: E402


def export(name, out):
    env = dict(os.environ, PYTHONPATH=str(HERE / "fake_open_clip"))
    return subprocess.run([sys.executable, str(ROOT / "tools" / "export_openclip.py"), name, "fake", "-o", str(out)],
                          capture_output=True, text=True, env=env)


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


def main():
    out_dir, imgvec, image = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle = out_dir / "exported.pt"
    # Without open_clip: a sentence saying what to install, not a traceback.
    bare = subprocess.run([sys.executable, str(ROOT / "tools" / "export_openclip.py"), "ViT-B-32", "openai", "-o",
                           str(out_dir / "none.pt")], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    check(bare.returncode != 0 and "open_clip is not installed" in bare.stderr and "Traceback" not in bare.stderr
          and not (out_dir / "none.pt").exists(), f"no open_clip: a clear message ({bare.stderr.strip()[-300:]})")
    r = export("Fake-ViT", bundle)
    check(r.returncode == 0, f"export succeeds ({r.stderr.strip()})")
    extra = {"imgvec/config.json": "", "imgvec/vocab.txt.gz": ""}
    m = torch.jit.load(str(bundle), _extra_files=extra)
    config = json.loads(extra["imgvec/config.json"])
    check(config["image_size"] == 224 and config["embed_dim"] == 32 and config["context_length"] == 77,
          f"config sizes {config}")
    check(config["text_truncation"] is True, "a sequence-first plain text tower is rebuilt for shortened texts")
    check(len(extra["imgvec/vocab.txt.gz"]) > 1000, "the vocabulary is inside")

    model, _, _ = open_clip.create_model_and_transforms("Fake-ViT")
    tokens = open_clip.get_tokenizer("Fake-ViT")(["a photo of a cat", "two dogs"])
    pixels = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        check(torch.allclose(m.encode_image(pixels), model.encode_image(pixels), atol=1e-5), "encode_image = the model's")
        check(torch.allclose(m.encode_text(tokens), model.encode_text(tokens), atol=1e-5), "encode_text = the model's")
        used = int(tokens.argmax(dim=-1).max()) + 1  # through the last end token
        check(torch.allclose(m.encode_text(tokens[:, :used]), model.encode_text(tokens), atol=1e-5),
              "shortened tokens give the full-context embedding")

    fallback = out_dir / "full_length.pt"
    r = export("PostEmb", fallback)
    check(r.returncode == 0 and "full context length" in r.stderr, "an unfamiliar text tower falls back")
    extra = {"imgvec/config.json": ""}
    f = torch.jit.load(str(fallback), _extra_files=extra)
    check(json.loads(extra["imgvec/config.json"])["text_truncation"] is False, "... and says texts run at full length")
    with torch.no_grad():
        check(torch.allclose(f.encode_text(tokens), model.encode_text(tokens), atol=1e-5), "... and encodes as the model")
    out = subprocess.run([imgvec, "embed", "--model", str(fallback), "--device", "cpu", "--text", "a cat"],
                         capture_output=True, text=True)
    check(out.returncode == 0 and len(json.loads(out.stdout)["embedding"]) == 32, "the C++ encoder runs it")

    r = export("HF", out_dir / "hf.pt")
    check(r.returncode != 0 and "CLIP's BPE tokenizer only" in r.stderr, f"another tokenizer is refused ({r.stderr.strip()})")
    r = export("Squash", out_dir / "squash.pt")
    check(r.returncode != 0 and "not the shorter side" in r.stderr, f"a squashing resize is refused ({r.stderr.strip()})")
    check(not (out_dir / "hf.pt").exists() and not (out_dir / "squash.pt").exists(), "refused exports write nothing")

    out = subprocess.run([imgvec, "embed", "--model", str(bundle), "--device", "cpu", "--image", image],
                         capture_output=True, text=True, check=True).stdout
    ours = torch.tensor(json.loads(out)["images"][0]["embedding"])
    with torch.no_grad():
        ref = m.encode_image(clip_transform(224)(decode_like_imgvec(image)).unsqueeze(0))[0]
    cos = float(torch.nn.functional.cosine_similarity(ours, ref, dim=0))
    check(cos >= 0.9999, f"the C++ encoder embeds like Python (cosine {cos:.7f})")


if __name__ == "__main__":
    main()
