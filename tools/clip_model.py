"""The CLIP ViT architecture (Radford et al., 2021), written for imgvec's test and benchmark models.

Module and parameter names follow the published CLIP checkpoints (visual.conv1, transformer.
resblocks.N.attn.in_proj_weight, token_embedding, ...), so the shapes and the work per image are
those of the real models; the weights here are random and seeded.
"""
from collections import OrderedDict
import dataclasses
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn


@dataclass
class ClipConfig:
    name: str
    embed_dim: int
    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    text_width: int
    text_layers: int
    text_heads: int
    context_length: int = 77
    vocab_size: int = 49408
    # The MLP's activation: OpenAI's models were trained with QuickGELU; others use torch's GELU
    # ("gelu", or "gelu_tanh" for its tanh approximation).
    activation: str = "quick_gelu"


CONFIGS = {
    # The OpenAI ViT-B/32 shape: about 88M vision and 63M text parameters.
    "ViT-B-32": ClipConfig("ViT-B-32", 512, 224, 32, 768, 12, 12, 512, 12, 8),
    # Small enough to build and run in a second, large enough to tell images apart.
    "tiny": ClipConfig("tiny", 32, 224, 32, 64, 2, 2, 32, 2, 2),
}
# The tiny shape with torch's GELU, exact and tanh-approximated, as open_clip's non-OpenAI models.
CONFIGS["tiny-gelu"] = dataclasses.replace(CONFIGS["tiny"], name="tiny-gelu", activation="gelu")
CONFIGS["tiny-gelu-tanh"] = dataclasses.replace(CONFIGS["tiny"], name="tiny-gelu-tanh", activation="gelu_tanh")


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    """Multi-head self-attention with nn.MultiheadAttention's parameter names (so checkpoints
    load), written out so that every projection is a plain aten::linear that graph passes (the
    C++ encoder's oneDNN rewrite) can see; MultiheadAttention's fused inference path hides them."""

    heads: int
    scale: float

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (width // heads) ** -0.5
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        n, l, w = x.shape
        qkv = nn.functional.linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.view(n, l, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(qkv[0] * self.scale, qkv[1].transpose(-1, -2))  # [n, heads, l, l]
        if attn_mask is not None:
            scores = scores + attn_mask
        out = torch.matmul(scores.softmax(dim=-1), qkv[2])
        return self.out_proj(out.transpose(1, 2).reshape(n, l, w))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, activation: str):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)),
            ("gelu", {"quick_gelu": QuickGELU(), "gelu": nn.GELU(),
                      "gelu_tanh": nn.GELU(approximate="tanh")}[activation]),
            ("c_proj", nn.Linear(width * 4, width)),
        ]))

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, attn_mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """Batch-first: [N, L, width]."""

    def __init__(self, width: int, layers: int, heads: int, activation: str):
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.ModuleList(
            [ResidualAttentionBlock(width, heads, activation) for _ in range(layers)])

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, attn_mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, c: ClipConfig):
        super().__init__()
        grid = c.image_size // c.patch_size
        scale = c.vision_width ** -0.5
        self.conv1 = nn.Conv2d(3, c.vision_width, c.patch_size, c.patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(c.vision_width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, c.vision_width))
        self.ln_pre = nn.LayerNorm(c.vision_width)
        self.transformer = Transformer(c.vision_width, c.vision_layers, c.vision_heads, c.activation)
        self.ln_post = nn.LayerNorm(c.vision_width)
        self.proj = nn.Parameter(scale * torch.randn(c.vision_width, c.embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x).flatten(2).transpose(1, 2)  # [N, grid^2, width]
        cls = self.class_embedding.expand(x.shape[0], 1, x.shape[-1])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.proj


class Clip(nn.Module):
    def __init__(self, c: ClipConfig):
        super().__init__()
        self.config = c
        self.visual = VisionTransformer(c)
        self.transformer = Transformer(c.text_width, c.text_layers, c.text_heads, c.activation)
        self.token_embedding = nn.Embedding(c.vocab_size, c.text_width)
        self.positional_embedding = nn.Parameter(torch.empty(c.context_length, c.text_width))
        self.ln_final = nn.LayerNorm(c.text_width)
        self.text_projection = nn.Parameter(torch.empty(c.text_width, c.embed_dim))
        mask = torch.full((c.context_length, c.context_length), float("-inf")).triu_(1)
        self.register_buffer("attn_mask", mask)
        self._init_parameters()

    def _init_parameters(self):
        # CLIP's initialisation, so activations have the scale of a trained model's.
        c = self.config
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=c.text_width ** -0.5)
        for t in (self.transformer, self.visual.transformer):
            proj_std = t.width ** -0.5 * (2 * t.layers) ** -0.5
            for block in t.resblocks:
                nn.init.normal_(block.attn.in_proj_weight, std=t.width ** -0.5)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(block.mlp.c_fc.weight, std=(2 * t.width) ** -0.5)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
