#!/usr/bin/env python3
"""Exports an open_clip model to an imgvec bundle (see clip_bundle.py for the format).

Needs torch and open_clip_torch, and downloads the weights, so run it where those are available:

    pip install open_clip_torch
    python tools/export_openclip.py ViT-B-32 laion2b_s34b_b79k -o vit-b-32-laion2b.pt
    python tools/export_openclip.py ViT-B-32 openai -o vit-b-32-openai.pt

imgvec reproduces open_clip's default transform (shorter side resized with bicubic, center crop,
normalize) and CLIP's BPE tokenizer; models that need anything else (another tokenizer, a
different resize mode) are refused with the reason, rather than exported to give wrong results.
Every check runs here, against the model itself, before the bundle is written.
"""
import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clip_bundle import ClipBundle, FORMAT_VERSION, TextTower, save_bundle, supports_truncation  # noqa: E402

PROBE_TEXTS = ["a photo of a cat", "A Diagram, drawn by hand: 3 boxes & 2 arrows!",
               "Ünïcödé   spacing\tand CAPITALS", "an empty room"]


def fail(message):
    sys.exit(f"export_openclip: {message}")


class FullLengthText(nn.Module):
    """Fallback for text towers TextTower cannot rebuild: always context_length tokens."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(text)


def preprocess_config(preprocess):
    """Reads image size, mean and std from open_clip's own transform, and refuses transforms
    imgvec does not reproduce."""
    from torchvision import transforms as T
    steps = list(preprocess.transforms)
    kinds = [type(s).__name__ for s in steps]
    resize = next((s for s in steps if isinstance(s, T.Resize)), None)
    crop = next((s for s in steps if isinstance(s, T.CenterCrop)), None)
    norm = next((s for s in steps if isinstance(s, T.Normalize)), None)
    if resize is None or crop is None or norm is None:
        fail(f"the model's transform is {kinds}; imgvec implements Resize + CenterCrop + Normalize")
    size = resize.size if isinstance(resize.size, int) else resize.size[0]
    if not isinstance(resize.size, int) and len(resize.size) != 1:
        fail(f"the transform resizes to {resize.size}, not the shorter side to one size")
    if resize.interpolation != T.InterpolationMode.BICUBIC:
        fail(f"the transform resizes with {resize.interpolation}; imgvec implements bicubic")
    crop_size = crop.size[0] if isinstance(crop.size, (tuple, list)) else crop.size
    if crop_size != size:
        fail(f"the transform resizes to {size} but crops {crop.size}")
    return int(size), [float(v) for v in norm.mean], [float(v) for v in norm.std]


def check_tokenizer(open_clip, model_name):
    tokenizer = open_clip.get_tokenizer(model_name)
    reference = open_clip.tokenizer.SimpleTokenizer()
    if not isinstance(tokenizer, open_clip.tokenizer.SimpleTokenizer):
        fail(f"{model_name} uses {type(tokenizer).__name__}; imgvec implements CLIP's BPE tokenizer only")
    if not torch.equal(tokenizer(PROBE_TEXTS), reference(PROBE_TEXTS)):
        fail(f"{model_name}'s tokenizer cleans or splits text differently from CLIP's")
    return tokenizer, open_clip.tokenizer.default_bpe()


def text_tower(model, tokens):
    """TextTower over the model's own modules when it reproduces encode_text, else the fallback."""
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final",
              "text_projection", "attn_mask")
    plain = (all(isinstance(getattr(model, n, None), (nn.Module, torch.Tensor)) for n in needed)
             and isinstance(model.text_projection, torch.Tensor)
             and getattr(model, "text_pool_type", "argmax") == "argmax"
             and getattr(model, "ln_post_emb", None) is None)
    if plain:
        tower = TextTower(model.token_embedding, model.positional_embedding, model.transformer,
                          model.ln_final, model.text_projection, model.attn_mask,
                          batch_first=bool(getattr(model.transformer, "batch_first", False))).eval()
        with torch.no_grad():
            same = torch.allclose(tower(tokens), model.encode_text(tokens), rtol=1e-4, atol=1e-5)
        if same and supports_truncation(tower, tokens.shape[1], model.vocab_size):
            return tower, True
    print("export_openclip: the text tower is not CLIP's plain one; texts will always run at full "
          "context length", file=sys.stderr)
    return FullLengthText(model).eval(), False


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="open_clip model name, e.g. ViT-B-32")
    p.add_argument("pretrained", help="open_clip pretrained tag, e.g. laion2b_s34b_b79k or openai")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args()

    try:
        import open_clip
    except ImportError:
        fail("open_clip is not installed for this Python (" + sys.executable + "). Debian does not package it: "
             "pip install open_clip_torch (in a virtual environment with torch), then run this script with that "
             "environment's python")
    model, _, preprocess = open_clip.create_model_and_transforms(
        args.model, pretrained=args.pretrained, device="cpu", precision="fp32")
    model = model.eval()
    if not hasattr(model, "visual") or not hasattr(model, "encode_text"):
        fail(f"{args.model} is not a CLIP-style image/text model")
    image_size, mean, std = preprocess_config(preprocess)
    tokenizer, vocab_path = check_tokenizer(open_clip, args.model)
    tokens = tokenizer(PROBE_TEXTS)
    text, truncation = text_tower(model, tokens)

    bundle = ClipBundle(model.visual, text).eval()
    pixels = torch.randn(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        if not torch.allclose(bundle.encode_image(pixels), model.encode_image(pixels), rtol=1e-4, atol=1e-5):
            fail("model.visual does not reproduce model.encode_image")
        embed_dim = int(model.encode_image(pixels).shape[1])
    config = {
        "format_version": FORMAT_VERSION,
        "name": f"{args.model} {args.pretrained}",
        "embed_dim": embed_dim,
        "image_size": image_size,
        "mean": mean,
        "std": std,
        "interpolation": "bicubic",
        "resize_mode": "shortest",
        "context_length": int(tokens.shape[1]),
        "vocab_size": int(model.vocab_size),
        "tokenizer": "clip_bpe",
        "text_truncation": truncation,
    }
    out = Path(args.output)
    tmp = out.with_name(out.name + ".tmp")
    save_bundle(bundle, config, vocab_path, str(tmp))
    tmp.replace(out)
    print(f"wrote {out}: {config['name']}, {embed_dim}-d, images {image_size}px, "
          f"text truncation {'on' if truncation else 'off'}")


if __name__ == "__main__":
    main()
