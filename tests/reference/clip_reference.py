#!/usr/bin/python3
"""Reference embeddings from Python running an imgvec bundle, for the C++ encoder parity test.

    clip_reference.py BUNDLE OUT_DIR TOKENIZER_CASES.jsonl IMAGE...

Writes, as little-endian float32 rows of the bundle's embed_dim (raw model outputs):
  OUT_DIR/pixels.f32  encode_image on open_clip's transform of each image (the same tensors as
                      pil_preprocess.py computes), in the order given;
  OUT_DIR/texts.f32   encode_text on each case of the jsonl file: start token, its ids, end token,
                      zero padding to the full context length, as open_clip feeds the model.
"""
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pil_preprocess import clip_transform, decode_like_imgvec  # noqa: E402


def main():
    bundle_path, out_dir, cases_path, images = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
    extra = {"imgvec/config.json": ""}
    model = torch.jit.load(bundle_path, _extra_files=extra).eval()
    config = json.loads(extra["imgvec/config.json"])
    ctx = config["context_length"]
    out_dir.mkdir(parents=True, exist_ok=True)
    transform = clip_transform(config["image_size"], config["mean"], config["std"])
    with torch.no_grad():
        pixels = torch.stack([transform(decode_like_imgvec(p)) for p in images])
        (out_dir / "pixels.f32").write_bytes(model.encode_image(pixels).numpy().astype("<f4").tobytes())
        rows = []
        for line in Path(cases_path).read_text(encoding="utf-8").splitlines():
            ids = [49406] + json.loads(line)["ids"][: ctx - 2] + [49407]
            rows.append(ids + [0] * (ctx - len(ids)))
        texts = model.encode_text(torch.tensor(rows, dtype=torch.long))
        (out_dir / "texts.f32").write_bytes(texts.numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
