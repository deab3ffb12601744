"""The imgvec model bundle: one TorchScript file that the C++ ClipEncoder loads.

Shared by make_test_model.py and export_openclip.py, so a test bundle and an exported one have the
same shape. A bundle is a scripted module with two methods,
    encode_image(float32[N, 3, S, S]) -> float32[N, D]   (preprocessed pixels; not normalized)
    encode_text(int64[N, L]) -> float32[N, D]            (token ids, L <= context_length)
and two extra files stored inside the zip:
    imgvec/config.json    what the C++ side needs to feed it (see CONFIG_KEYS)
    imgvec/vocab.txt.gz   the BPE merges file its tokenizer uses
"""
import gzip
import json
from typing import Optional

import torch
from torch import nn

FORMAT_VERSION = 1
CONFIG_FILE = "imgvec/config.json"
VOCAB_FILE = "imgvec/vocab.txt.gz"
CONFIG_KEYS = (
    "format_version", "name", "embed_dim", "image_size", "mean", "std", "interpolation",
    "resize_mode", "context_length", "vocab_size", "tokenizer", "text_truncation",
)


class TextTower(nn.Module):
    """CLIP's text encoder, built from the modules of a CLIP model, that also accepts fewer than
    context_length tokens.

    With the causal mask, the output at the end token depends only on the tokens before it, so
    running on the first max(end position) + 1 tokens of a batch gives the same embedding as the
    full 77 for much less work. The positional embedding and the mask are sliced to the input's
    length; nothing else changes.
    """

    batch_first: bool

    def __init__(self, token_embedding: nn.Module, positional_embedding: torch.Tensor,
                 transformer: nn.Module, ln_final: nn.Module, text_projection: torch.Tensor,
                 attn_mask: torch.Tensor, batch_first: bool):
        super().__init__()
        self.token_embedding = token_embedding
        self.positional_embedding = nn.Parameter(positional_embedding.detach().clone(),
                                                 requires_grad=False)
        self.transformer = transformer
        self.ln_final = ln_final
        self.text_projection = nn.Parameter(text_projection.detach().clone(), requires_grad=False)
        self.register_buffer("attn_mask", attn_mask.detach().clone(), persistent=True)
        self.batch_first = batch_first

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        n = text.shape[1]
        x = self.token_embedding(text) + self.positional_embedding[:n]
        mask = self.attn_mask[:n, :n]
        if self.batch_first:
            x = self.transformer(x, attn_mask=mask)
        else:
            x = self.transformer(x.permute(1, 0, 2), attn_mask=mask).permute(1, 0, 2)
        x = self.ln_final(x)
        # The end token has the highest id, so argmax finds it.
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)]
        return x @ self.text_projection


class ClipBundle(nn.Module):
    def __init__(self, visual: nn.Module, text: nn.Module):
        super().__init__()
        self.visual = visual
        self.text = text

    @torch.jit.export
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.visual(pixels)

    @torch.jit.export
    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.text(tokens)

    def forward(self, pixels: torch.Tensor, tokens: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.encode_image(pixels)


def supports_truncation(text: nn.Module, context_length: int, vocab_size: int, seed: int = 0):
    """Checks on random token sequences that running `text` on a prefix ending at the last end
    token gives the embeddings of the full-length input, as TextTower promises."""
    g = torch.Generator().manual_seed(seed)
    n, eot = 4, vocab_size - 1
    tokens = torch.zeros(n, context_length, dtype=torch.long)
    ends = [3, 9, 5, 16]
    for i, end in enumerate(ends):
        tokens[i, 0] = vocab_size - 2
        tokens[i, 1:end] = torch.randint(1, vocab_size - 2, (end - 1,), generator=g)
        tokens[i, end] = eot
    with torch.no_grad():
        full = text(tokens)
        short = text(tokens[:, : max(ends) + 1])
    return bool(torch.allclose(full, short, rtol=1e-4, atol=1e-5))


def save_bundle(bundle: nn.Module, config: dict, vocab_path: str, out_path: str) -> None:
    """Scripts `bundle`, checks it against the eager module, and writes it with its config and
    vocabulary. Raises ValueError when the config is incomplete."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise ValueError(f"bundle config lacks {', '.join(missing)}")
    with open(vocab_path, "rb") as f:
        vocab = f.read()
    gzip.decompress(vocab)  # a corrupt vocabulary fails here, not in C++
    bundle = bundle.eval()
    scripted = torch.jit.script(bundle)
    g = torch.Generator().manual_seed(1)
    pixels = torch.randn(2, 3, config["image_size"], config["image_size"], generator=g)
    tokens = torch.zeros(2, config["context_length"], dtype=torch.long)
    tokens[:, 0], tokens[:, 5], tokens[:, 1:5] = config["vocab_size"] - 2, config["vocab_size"] - 1, 320
    with torch.no_grad():
        for name, x in (("encode_image", pixels), ("encode_text", tokens)):
            a, b = getattr(bundle, name)(x), getattr(scripted, name)(x)
            if a.shape != (2, config["embed_dim"]) or not torch.allclose(a, b, rtol=1e-4, atol=1e-5):
                raise RuntimeError(f"{name}: the scripted module disagrees with the eager one")
    torch.jit.save(scripted, out_path, _extra_files={
        CONFIG_FILE: json.dumps({k: config[k] for k in CONFIG_KEYS}, indent=1),
        VOCAB_FILE: vocab,
    })
