#!/usr/bin/python3
"""imgvec's CLIP encoder against the Python pipeline on the same bundle, in one run.

    bench/encoder_vs_python.py [--build build] [--rounds 3] [--model BUNDLE] [--json FILE]
                               [--neighbour-rounds N]

Each round runs the C++ benchmark (imgvec_bench_encoder) and then the same measurements in
Python: the bundle loaded with torch.jit.load, images opened with PIL and transformed with
torchvision as open_clip does, torch.inference_mode, the same thread count. Rounds alternate so
that drifts of the machine hit both sides; the table gives medians over rounds and the ratios.
Run it with nothing else busy: on a 2-core machine a second busy process halves every figure.

Then the neighbour rounds (issue 23): each measures both sides on the idle machine and again
beside one busy process (a spinning Python loop): imgvec with its default thread choice, Python
with the thread count of the rounds above and, where it differs, with torch's own default; none
with OMP_WAIT_POLICY set. The table gives each one's slowdown, busy over idle.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before any set_num_threads
sys.path.insert(0, str(ROOT / "tests" / "reference"))
from pil_preprocess import clip_transform  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from encoder_tables import NEIGHBOUR_KEYS, neighbour_table  # noqa: E402

IMAGES = ["ukbench01380.jpg", "ukbench09060.jpg", "ukbench00120_gray.jpg", "ukbench09380.jpeg",
          "alpha_channel_image.png", "giphy.gif", "Iggy.256.ppm", "baboon.256.pgm"]
QUERY_TOKENS = 9  # "a photo of a dog playing in the snow": start, 7 words, end


def per_call(fn, min_seconds=2.0):
    fn()
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / n


def python_round(bundle, threads, min_seconds, keys=None):
    """Python's figures, ms per image or text; `keys` limits the measures (None: all)."""
    if threads:
        torch.set_num_threads(threads)
    model = torch.jit.load(bundle).eval()
    extra = {"imgvec/config.json": ""}
    torch.jit.load(bundle, _extra_files=extra)
    config = json.loads(extra["imgvec/config.json"])
    size = config["image_size"]
    transform = clip_transform(size, config["mean"], config["std"])
    files = [str(ROOT / "tests" / "data" / "images" / f) for f in IMAGES] * 4
    out = {}
    wanted = (lambda key: keys is None or key in keys)
    with torch.inference_mode():
        for batch in (1, 8):
            x = torch.randn(batch, 3, size, size)
            if wanted(f"image_model/batch:{batch}"):
                out[f"image_model/batch:{batch}"] = per_call(lambda: model.encode_image(x), min_seconds) / batch * 1e3

        def end_to_end():
            for i in range(0, len(files), 8):
                pixels = torch.stack([transform(Image.open(f).convert("RGB")) for f in files[i:i + 8]])
                model.encode_image(pixels)
        if wanted("image_files/batch:8"):
            out["image_files/batch:8"] = per_call(end_to_end, 2 * min_seconds) / len(files) * 1e3
        tokens = torch.zeros(1, config["context_length"], dtype=torch.long)
        tokens[0, 0], tokens[0, 1:QUERY_TOKENS - 1], tokens[0, QUERY_TOKENS - 1] = 49406, 320, 49407
        if wanted("text/query"):
            out["text/query"] = per_call(lambda: model.encode_text(tokens), min_seconds) * 1e3
    return out


def cpu_has_bf16():
    """Whether this CPU computes bfloat16 natively (the encoder refuses bf16 elsewhere)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpp_round(binary, bundle, threads, min_seconds, precision="float32", extra=(), env=None):
    cmd = [str(binary), "--model", bundle, "--threads", str(threads), "--benchmark_format=json",
           f"--benchmark_min_time={min_seconds:g}", "--precision", precision, *extra]
    result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
    out = {}
    for b in result["benchmarks"]:
        name = b["name"].removeprefix("clip/").split("/real_time")[0]
        name = {"image_model/batch:1/1": "image_model/batch:1", "image_model/batch:8/8": "image_model/batch:8",
                "image_files/batch:8/8": "image_files/batch:8"}.get(name, name)
        out[name] = b.get("ms/image", b.get("ms/text"))
    return out, result["context"].get("imgvec.runtime", "")


def neighbour_rounds(args, build, bundle):
    """Both sides idle and beside one spinning process, in alternating rounds; prints the table and
    returns the medians (None when no rounds were asked for)."""
    rounds = args.rounds if args.neighbour_rounds is None else args.neighbour_rounds
    if rounds <= 0:
        return None
    # As users run them: neither side gets OMP_WAIT_POLICY from this environment.
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    binary = build / "bench" / "imgvec_bench_encoder"
    flt = "--benchmark_filter=" + "|".join(k.replace(":", ".") for k in NEIGHBOUR_KEYS)
    pythons = {"python": args.threads}
    if TORCH_DEFAULT_THREADS != args.threads:
        pythons["python_default_threads"] = TORCH_DEFAULT_THREADS
    runs = {(side, state): [] for side in ("imgvec", *pythons) for state in ("idle", "busy")}
    for r in range(rounds):
        for state in ("idle", "busy"):
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if state == "busy" else None
            try:
                if spinner:
                    time.sleep(0.5)  # running, and seen by imgvec's CPU-share window
                # threads 0: imgvec's own choice per call; Python: the fixed counts in `pythons`.
                runs["imgvec", state].append(cpp_round(binary, bundle, 0, args.min_seconds, extra=[flt], env=env)[0])
                for side, threads in pythons.items():
                    runs[side, state].append(json.loads(subprocess.run(
                        [sys.executable, __file__, "--python-only", "--model", bundle, "--threads", str(threads),
                         "--min-seconds", str(args.min_seconds), "--keys", ",".join(NEIGHBOUR_KEYS)],
                        check=True, capture_output=True, text=True, env=env).stdout))
            finally:
                if spinner:
                    spinner.kill()
                    spinner.wait()
            print(f"neighbour round {r + 1}, {state}: " +
                  "; ".join(f"{side} {runs[side, state][-1]}" for side in ("imgvec", *pythons)), file=sys.stderr)
    out = {f"{side}_{state}": {k: statistics.median(row[k] for row in rows) for k in NEIGHBOUR_KEYS}
           for (side, state), rows in runs.items()}
    out.update(rounds=rounds, python_threads=pythons)
    print(f"\nBeside one busy process (a spinning loop), medians of {rounds} rounds; imgvec with its default "
          f"threads, Python with {args.threads} (the rounds above) and torch's default ({TORCH_DEFAULT_THREADS}):\n")
    print(neighbour_table(out))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--model", default=None)
    p.add_argument("--min-seconds", type=float, default=2.0,
                   help="time each measure for at least this long (the report's quick mode uses 0.2)")
    p.add_argument("--json", help="also write the medians here (bench/report.py reads them)")
    p.add_argument("--neighbour-rounds", type=int, default=None,
                   help="rounds beside a busy process (default: --rounds; 0 skips them)")
    p.add_argument("--python-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--keys", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.python_only:  # one Python round in a fresh process (tuned malloc, neighbour rounds)
        keys = args.keys.split(",") if args.keys else None
        print(json.dumps(python_round(args.model, args.threads, args.min_seconds, keys)))
        return
    build = Path(args.build)
    bundle = args.model or str(build / "bench" / "models" / "vit-b-32-random.pt")
    if not Path(bundle).exists():
        sys.exit(f"{bundle} is missing: cmake --build {build} --target imgvec_bench_model")
    cpp, py, tuned, bf16, runtime = [], [], [], [], ""
    with_bf16 = cpu_has_bf16()
    # glibc returns freed blocks over its mmap threshold to the kernel, so every model call
    # page-faults its activations in again; Python users can avoid that with these variables.
    tuned_env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(1 << 30), MALLOC_TRIM_THRESHOLD_=str(1 << 31))
    for r in range(args.rounds):
        c, runtime = cpp_round(build / "bench" / "imgvec_bench_encoder", bundle, args.threads,
                               args.min_seconds)
        cpp.append(c)
        if with_bf16:
            bf16.append(cpp_round(build / "bench" / "imgvec_bench_encoder", bundle, args.threads, args.min_seconds,
                                  "bf16")[0])
        py.append(python_round(bundle, args.threads, args.min_seconds))
        tuned.append(json.loads(subprocess.run(
            [sys.executable, __file__, "--python-only", "--model", bundle, "--threads", str(args.threads),
             "--min-seconds", str(args.min_seconds)],
            check=True, capture_output=True, text=True, env=tuned_env).stdout))
        print(f"round {r + 1}: C++ {c}\n         Python {py[-1]}\n         Python, malloc tuned {tuned[-1]}",
              file=sys.stderr)

    def med(rows, key):
        return statistics.median(row[key] for row in rows)
    rows = [("image, model only, batch 1", "image_model/batch:1", "ms/image"),
            ("image, model only, batch 8", "image_model/batch:8", "ms/image"),
            ("image files end to end (decode, preprocess, model; batch 8)", "image_files/batch:8", "ms/image"),
            (f"text query ({QUERY_TOKENS} tokens; Python runs the 77-token context as open_clip does)",
             "text/query", "ms/text")]
    print(f"Bundle: {bundle}; {args.threads} threads; C++ runtime: {runtime}; "
          f"medians of {args.rounds} alternating rounds.\n")
    print("| measure | imgvec C++ | Python (PIL + torch, same bundle) | speed-up | Python, malloc tuned | speed-up |")
    print("|---|---|---|---|---|---|")
    for label, key, unit in rows:
        c, p_, t = med(cpp, key), med(py, key), med(tuned, key)
        print(f"| {label} | {c:.1f} {unit} | {p_:.1f} {unit} | {p_ / c:.2f}x | {t:.1f} {unit} | {t / c:.2f}x |")
    c, p_, t = med(cpp, "text/full_context"), med(py, "text/query"), med(tuned, "text/query")
    print(f"| text, full 77-token context | {c:.1f} ms/text | {p_:.1f} ms/text | {p_ / c:.2f}x | "
          f"{t:.1f} ms/text | {t / c:.2f}x |")
    print(f"| decode + preprocess only (C++) | {med(cpp, 'decode_preprocess'):.2f} ms/image | | | | |")
    if bf16:
        print("\n| measure | imgvec float32 | imgvec bf16 | bf16 speed-up |\n|---|---|---|---|")
        for label, key, unit in rows:
            print(f"| {label} | {med(cpp, key):.1f} {unit} | {med(bf16, key):.1f} {unit} | "
                  f"{med(cpp, key) / med(bf16, key):.2f}x |")
    neighbour = neighbour_rounds(args, build, bundle)
    if args.json:
        keys = sorted(cpp[0])
        Path(args.json).write_text(json.dumps({
            "bundle": bundle, "threads": args.threads, "rounds": args.rounds, "runtime": runtime,
            "imgvec": {k: med(cpp, k) for k in keys},
            "imgvec_bf16": {k: med(bf16, k) for k in keys} if bf16 else None,
            "python": {k: med(py, k) for k in sorted(py[0])},
            "python_malloc_tuned": {k: med(tuned, k) for k in sorted(tuned[0])},
            "neighbour": neighbour}, indent=1))


if __name__ == "__main__":
    main()
