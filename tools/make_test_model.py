#!/usr/bin/python3
"""Builds an imgvec bundle of the CLIP ViT architecture with seeded random weights.

For tests and benchmarks, where no trained weights can be downloaded: the work per image and per
text is that of the real model, the embeddings mean nothing. Run with Debian's /usr/bin/python3
(python3-torch):

    tools/make_test_model.py --config tiny --vocab tests/data/bpe_simple_vocab_16e6.txt.gz -o tiny.pt
    tools/make_test_model.py --config ViT-B-32 --vocab ... -o vit-b-32-random.pt
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clip_bundle import ClipBundle, FORMAT_VERSION, TextTower, save_bundle, supports_truncation  # noqa: E402
from clip_model import CONFIGS, Clip  # noqa: E402

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    p.add_argument("--vocab", required=True, help="the CLIP BPE merges file (.txt.gz)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args()

    torch.manual_seed(args.seed)
    c = CONFIGS[args.config]
    with torch.no_grad():
        model = Clip(c).eval()
        text = TextTower(model.token_embedding, model.positional_embedding, model.transformer,
                         model.ln_final, model.text_projection, model.attn_mask, batch_first=True)
        bundle = ClipBundle(model.visual, text).eval()
    if not supports_truncation(text, c.context_length, c.vocab_size):
        sys.exit("internal error: the text tower's prefix output differs from the full one")
    config = {
        "format_version": FORMAT_VERSION,
        "name": f"{c.name} (random weights, seed {args.seed})",
        "embed_dim": c.embed_dim,
        "image_size": c.image_size,
        "mean": OPENAI_MEAN,
        "std": OPENAI_STD,
        "interpolation": "bicubic",
        "resize_mode": "shortest",
        "context_length": c.context_length,
        "vocab_size": c.vocab_size,
        "tokenizer": "clip_bpe",
        "text_truncation": True,
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    save_bundle(bundle, config, args.vocab, str(tmp))
    tmp.replace(out)


if __name__ == "__main__":
    main()
