#!/usr/bin/python3
"""Reference pixels and tensors from PIL + torchvision, for the C++ preprocessing parity test.

Run with Debian's /usr/bin/python3 (python3-pil, python3-torchvision). For each image it writes
<out>/<file name>.ref holding, little-endian:
  u32 width, u32 height, width*height*3 bytes: the image as decoded by PIL, with imgvec's decoding
      conventions (EXIF orientation applied, alpha composited on white with imgvec's rounding);
  for each size in RESIZES: u32 w, u32 h, w*h*3 bytes: PIL's BICUBIC resize of that image;
  for each (image_size) in PREPROCESS: u32 image_size, 3*s*s float32: open_clip's eval transform
      (Resize(s, BICUBIC), CenterCrop(s), ToTensor, Normalize(OpenAI CLIP mean/std)).
The sizes are fixed here and in tests/test_preprocess.cpp.
"""
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from torchvision import transforms
from torchvision.transforms import InterpolationMode

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
# Shrinking both sides, enlarging both, one side only (each pass alone), a thin strip.
RESIZES = [(97, 53), (301, 257), (224, 224), (0, 57), (33, 0), (640, 3)]
PREPROCESS = [224, 61]


def decode_like_imgvec(path):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    if im.mode == "I;16" or im.mode == "I":
        im = im.point(lambda v: v / 256).convert("L")  # 16-bit gray: keep the high byte
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint32)
        a = rgba[..., 3:]
        rgb = (rgba[..., :3] * a + 255 * (255 - a) + 127) // 255
        return Image.fromarray(rgb.astype(np.uint8), "RGB")
    return im.convert("RGB")


def clip_transform(size, mean=MEAN, std=STD):
    """open_clip's evaluation transform for CLIP, minus its RGB conversion (done when decoding)."""
    return transforms.Compose([
        transforms.Resize(size, interpolation=InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])


def main():
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sys.argv[2:]:
        im = decode_like_imgvec(path)
        w, h = im.size
        blob = [struct.pack("<II", w, h), im.tobytes()]
        for rw, rh in RESIZES:
            rw, rh = rw or w, rh or h
            blob += [struct.pack("<II", rw, rh), im.resize((rw, rh), Image.BICUBIC).tobytes()]
        for s in PREPROCESS:
            t = clip_transform(s)(im)
            blob += [struct.pack("<I", s), t.contiguous().numpy().astype("<f4").tobytes()]
        (out_dir / (Path(path).name + ".ref")).write_bytes(b"".join(blob))


if __name__ == "__main__":
    main()
