#!/usr/bin/python3
"""Files to vectors: `imgvec index` against the Python DataLoader pipeline and the model alone, in one run.

    bench/index_throughput.py [--build build] [--model BUNDLE] [--device cuda|cpu] [--images 2000]
                              [--folder DIR] [--precisions float32,fp16] [--rounds 2] [--json FILE]

The same folder of JPEGs (made here, 0.3-0.5 MP, unless --folder names one) and the same bundle:
- model: the bundle's encode_image alone on random inputs, batch --batch, torch.inference_mode;
- python: PIL + torchvision as open_clip preprocesses, in a torch DataLoader with one worker per
  core but two, pinned memory, batches of --batch, copies to the device without blocking;
- imgvec: `imgvec index FOLDER --db NEW --model BUNDLE --device D --precision P --json`, timed
  from start to exit (model load included) and by its own report of the embedding (which also
  says how busy the model was).
Rounds alternate the three so drifts of the machine hit all; the table gives medians. On a CPU
(--device cpu) it runs the same with fewer images; the GPU figures need a GPU machine
(scripts/gpu-check.sh runs this there).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "reference"))


def make_image(args):
    """A photo-like JPEG: smooth colour fields, edges and noise (JPEG decoding costs depend on content)."""
    path, seed = args
    rng = np.random.default_rng(seed)
    w, h = [(640, 480), (720, 540), (800, 600), (816, 612), (600, 800)][seed % 5]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(0.002, 0.03, 2).tolist() + [rng.uniform(0, 6.3)]
        img[..., c] = 128 + 90 * np.sin(x * fx + ph) * np.cos(y * fy)
    for _ in range(12):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(10, 120)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[mask] = rng.integers(0, 255, 3)
    img += rng.normal(0, 12, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=90)


def make_folder(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(str(folder / f"img{i:05d}.jpg"), i) for i in range(count)]
    with Pool(os.cpu_count()) as pool:
        pool.map(make_image, jobs, chunksize=16)


def bundle_config(bundle):
    extra = {"imgvec/config.json": ""}
    torch.jit.load(bundle, map_location="cpu", _extra_files=extra)
    return json.loads(extra["imgvec/config.json"])


def torch_dtype(precision):
    return {"float32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def model_only(bundle, device, precision, batch, seconds):
    model = torch.jit.load(bundle, map_location=device).eval().to(torch_dtype(precision))
    size = bundle_config(bundle)["image_size"]
    x = torch.randn(batch, 3, size, size, device=device, dtype=torch_dtype(precision))
    with torch.inference_mode():
        for _ in range(3):
            model.encode_image(x)
        synchronize(device)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.encode_image(x).float().cpu()
            n += 1
        synchronize(device)
        return n * batch / (time.perf_counter() - start)


class Files(torch.utils.data.Dataset):
    def __init__(self, files, transform):
        self.files, self.transform = files, transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as im:
            return self.transform(im.convert("RGB"))


def pil_only_transform(size, mean, std):
    """open_clip's preprocessing with PIL alone, where torchvision is missing: bicubic resize of
    the shorter side, centre crop, normalize."""
    mean, std = np.array(mean, np.float32), np.array(std, np.float32)

    def transform(im):
        w, h = im.size
        scale = size / min(w, h)
        im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
        left, top = (im.size[0] - size) // 2, (im.size[1] - size) // 2
        arr = np.asarray(im.crop((left, top, left + size, top + size)), np.float32) / 255.0
        return torch.from_numpy(((arr - mean) / std).transpose(2, 0, 1).copy())
    return transform


def python_pipeline(bundle, device, precision, batch, files, workers):
    """(images/s of the pass over the files, images/s with the model's load and the loader's start)."""
    load_started = time.perf_counter()
    try:
        from pil_preprocess import clip_transform
    except ImportError:  # no torchvision
        clip_transform = pil_only_transform
    config = bundle_config(bundle)
    model = torch.jit.load(bundle, map_location=device).eval().to(torch_dtype(precision))
    transform = clip_transform(config["image_size"], config["mean"], config["std"])
    loader = torch.utils.data.DataLoader(Files(files, transform), batch_size=batch, num_workers=workers,
                                         pin_memory=device.startswith("cuda"))
    with torch.inference_mode():
        model.encode_image(torch.zeros(1, 3, config["image_size"], config["image_size"], device=device,
                                       dtype=torch_dtype(precision)))
        synchronize(device)
        start = time.perf_counter()
        n = 0
        for x in loader:
            out = model.encode_image(x.to(device, torch_dtype(precision), non_blocking=True))
            out = torch.nn.functional.normalize(out.float(), dim=-1).cpu()
            n += out.shape[0]
        end = time.perf_counter()
    assert n == len(files)
    return n / (end - start), n / (end - load_started)


def imgvec_index(binary, bundle, device, precision, folder, count):
    db = Path(tempfile.mkdtemp(prefix="imgvec-bench-db-"))
    shutil.rmtree(db)
    try:
        start = time.perf_counter()
        run = subprocess.run([binary, "index", str(folder), "--db", str(db), "--model", bundle, "--device", device,
                              "--precision", precision, "--json"], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if run.returncode != 0:
            raise RuntimeError(f"imgvec index failed ({run.returncode}): {run.stderr[-2000:]}")
        report = json.loads(run.stdout)
        e = report["embedding"]
        assert report["added"] == count and e["images"] == count, report
        return {"whole_command": count / elapsed, "embedding": count / e["seconds"],
                "model_busy": e["model_seconds"] / e["seconds"], "other_seconds": elapsed - e["seconds"]}
    finally:
        shutil.rmtree(db, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--model", default=None, help="default: the ViT-B/32 benchmark bundle the build makes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--images", type=int, default=None, help="default 2000 on CUDA, 200 on a CPU")
    p.add_argument("--folder", default=None, help="a folder of JPEGs to use instead of making one")
    p.add_argument("--precisions", default=None, help="default float32,fp16 on CUDA, float32 on a CPU")
    p.add_argument("--batch", type=int, default=None, help="the Python side's batch (default 64 on CUDA, 8 on a CPU)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--model-seconds", type=float, default=3.0)
    p.add_argument("--json", help="also write the medians here")
    a = p.parse_args()
    cuda = a.device.startswith("cuda")
    bundle = a.model or str(Path(a.build) / "bench" / "models" / "vit-b-32-random.pt")
    count = a.images or (2000 if cuda else 200)
    precisions = (a.precisions or ("float32,fp16" if cuda else "float32")).split(",")
    batch = a.batch or (64 if cuda else 8)
    workers = max(1, (os.cpu_count() or 2) - 2)
    binary = str(Path(a.build) / "imgvec")

    tmp = None
    if a.folder:
        folder = Path(a.folder)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="imgvec-bench-images-"))
        folder = tmp
        make_folder(folder, count)
    files = sorted(str(f) for f in folder.glob("*.jpg"))[:count]
    count = len(files)
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    print(f"{count} JPEGs in {folder}; bundle {bundle}; device {a.device}"
          + (f" ({torch.cuda.get_device_name(0)})" if cuda else "") + f"; CPU {cpu}, {os.cpu_count()} cores; "
          f"torch {torch.__version__}; Python pipeline: batch {batch}, {workers} DataLoader workers", flush=True)
    rows = {}
    try:
        for r in range(a.rounds):
            for precision in precisions:
                key = lambda what: f"{what}/{precision}"  # noqa: E731
                rows.setdefault(key("model"), []).append(model_only(bundle, a.device, precision, batch, a.model_seconds))
                files_rate, whole_rate = python_pipeline(bundle, a.device, precision, batch, files, workers)
                rows.setdefault(key("python"), []).append(files_rate)
                rows.setdefault(key("python_whole"), []).append(whole_rate)
                got = imgvec_index(binary, bundle, a.device, precision, folder, count)
                for k, v in got.items():
                    rows.setdefault(key(f"imgvec_{k}"), []).append(v)
                print(f"round {r + 1} {precision}: " + ", ".join(f"{k} {v[-1]:.3g}" for k, v in rows.items()
                                                                 if k.endswith(precision)), flush=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\nmedians of {a.rounds} rounds (images/s; model_busy a fraction):")
    for precision in precisions:
        m = {k.split("/")[0]: v for k, v in medians.items() if k.endswith("/" + precision)}
        print(f"  {precision}: model alone {m['model']:.0f}; Python DataLoader pipeline {m['python']:.0f} over the "
              f"files, {m['python_whole']:.0f} with its model load and workers' start (after `import torch`); "
              f"imgvec index {m['imgvec_embedding']:.0f} embedding (model busy {100 * m['imgvec_model_busy']:.0f}%), "
              f"{m['imgvec_whole_command']:.0f} whole command ({m['imgvec_other_seconds']:.1f} s outside the "
              f"embedding: start, model load, saving); imgvec / Python {m['imgvec_embedding'] / m['python']:.2f}x "
              f"embedding, {m['imgvec_whole_command'] / m['python_whole']:.2f}x whole; imgvec / model "
              f"{m['imgvec_embedding'] / m['model']:.0%}")
    if a.json:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                                text=True).stdout.strip() or "unknown (no git here)"
        Path(a.json).write_text(json.dumps({
            "device": a.device, "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "torch": f"PyTorch {torch.__version__}", "commit": commit, "cpu": cpu, "cores": os.cpu_count(),
            "images": count, "medians": medians, "rounds": rows}, indent=1))


if __name__ == "__main__":
    main()
