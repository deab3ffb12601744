"""A stand-in for the open_clip package, so the tests can run tools/export_openclip.py where open_clip
and its weights cannot be installed. It mimics the parts the exporter touches: the model class's
attributes (a sequence-first text transformer, as open_clip had before 2.23, a non-persistent
causal mask, encode_image/encode_text at full context), create_model_and_transforms with
torchvision's transform, get_tokenizer and tokenizer.SimpleTokenizer. Weights are random (tiny).
"""
import sys
from pathlib import Path
from typing import Optional

import torch
from torch import nn
from torchvision import transforms as T

from . import tokenizer  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tools"))
from clip_model import CONFIGS, Clip  # noqa: E402

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


class SequenceFirstTransformer(nn.Module):
    batch_first: bool

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.batch_first = False

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.inner(x.permute(1, 0, 2), attn_mask).permute(1, 0, 2)


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(7)
        base = Clip(CONFIGS["tiny"])
        self.visual = base.visual
        self.transformer = SequenceFirstTransformer(base.transformer)
        self.token_embedding = base.token_embedding
        self.positional_embedding = base.positional_embedding
        self.ln_final = base.ln_final
        self.text_projection = base.text_projection
        self.register_buffer("attn_mask", base.attn_mask.clone(), persistent=False)
        self.vocab_size = base.config.vocab_size

    def encode_image(self, image: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        return self.visual(image)

    def encode_text(self, text: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2), attn_mask=self.attn_mask).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection


def _convert_to_rgb(image):
    return image.convert("RGB")


def create_model_and_transforms(name, pretrained=None, device="cpu", precision="fp32"):
    model = CLIP().eval()
    if name == "PostEmb":  # a text tower TextTower does not rebuild: the exporter must fall back
        model.ln_post_emb = nn.LayerNorm(model.positional_embedding.shape[1])
    if name == "Squash":
        resize = T.Resize((224, 224), interpolation=T.InterpolationMode.BICUBIC)
    else:
        resize = T.Resize(224, interpolation=T.InterpolationMode.BICUBIC)
    preprocess = T.Compose([resize, T.CenterCrop(224), _convert_to_rgb, T.ToTensor(), T.Normalize(MEAN, STD)])
    return model, preprocess, preprocess


def get_tokenizer(name):
    return tokenizer.HFTokenizer() if name == "HF" else tokenizer.SimpleTokenizer()
