#!/usr/bin/python3
"""Damaged and mismatched bundles made from a good one, for the encoder's error tests.

    broken_bundles.py GOOD_BUNDLE OUT_DIR
"""
import json
import sys
from pathlib import Path

import torch


class Plain(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def main():
    good, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(Plain()), str(out / "no_config.pt"))
    extra = {"imgvec/config.json": "", "imgvec/vocab.txt.gz": ""}
    model = torch.jit.load(good, _extra_files=extra)
    config = json.loads(extra["imgvec/config.json"])
    variants = {
        "newer_format.pt": {"format_version": 2},
        "wrong_dim.pt": {"embed_dim": config["embed_dim"] + 1},
        "squash_resize.pt": {"resize_mode": "squash"},
        "no_mean.pt": {"mean": None},
    }
    for name, change in variants.items():
        c = dict(config)
        for k, v in change.items():
            if v is None:
                del c[k]
            else:
                c[k] = v
        torch.jit.save(model, str(out / name), _extra_files={
            "imgvec/config.json": json.dumps(c), "imgvec/vocab.txt.gz": extra["imgvec/vocab.txt.gz"]})
    torch.jit.save(model, str(out / "no_vocab.pt"), _extra_files={"imgvec/config.json": json.dumps(config)})


if __name__ == "__main__":
    main()
