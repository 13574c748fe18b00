"""The SCOTT transformer: the authors' block, shared by the encoder and the JEPA predictor.

    x = x + DropPath(Attn(LN(x)));  x = LN(x);  x = x + DropPath(SwiGLU(x))

LayerNorms have no affine parameters; linear layers have no bias. The mid-block LayerNorm keeps
the residual stream normalised, which the authors found stable when training from scratch on small
data (arXiv 2502.18056).
"""
import math
from contextlib import nullcontext

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath

from .dropout import Dropout, dropout


def swiglu_hidden_dims(embed_dims: int, multiple: int = 128) -> int:
    """8/3 * D rounded to the nearest multiple of 128 (1024 for D=384), as in the authors' code."""
    return max(multiple, int(multiple * round(8 / 3 * embed_dims / multiple)))


class SwiGLUFFN(nn.Module):
    """SwiGLU feed-forward (Shazeer, 2020): silu(x W1) * (x W2), then W3. No bias, no dropout."""

    def __init__(self, embed_dims: int):
        super().__init__()
        hidden = swiglu_hidden_dims(embed_dims)
        self.w12 = nn.Linear(embed_dims, 2 * hidden, bias=False)
        self.out_proj = nn.Linear(hidden, embed_dims, bias=False)

    def forward(self, x):
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.out_proj(F.silu(x1) * x2)


HALF_PRECISION = (torch.bfloat16, torch.float16)


class Attention(nn.Module):
    """Multi-head self-attention without bias.

    Fused SDPA. Two exceptions, both on CPU:
    - training with attention dropout: the maths is written out. SDPA then falls back to its
      unfused maths anyway, with PyTorch's slow CPU dropout; written out, it uses the cheap mask
      of :mod:`.dropout`;
    - half-precision q, k, v (``--amp``) that autograd records: SDPA runs in fp32. Forward and
      backward of its bf16 CPU kernel took 1.9-4.4x as long as the fp32 one for the short
      sequences of the CPU recipes (14-79 tokens; ``python -m benchmarks.attention``), and fp32
      rounds less. Without autograd (the EMA target) the half-precision kernel stays.
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop_rate=0., proj_drop_rate=0.):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.attn_drop_rate = attn_drop_rate
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims, bias=False)
        self.out_proj = nn.Linear(embed_dims, embed_dims, bias=False)
        self.proj_drop = Dropout(proj_drop_rate)

    def forward(self, x, return_attention=False, padding=None):
        """padding: optional (B, N) bool, True = a pad token that no token may attend to."""
        B, N, C = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        if return_attention:  # (B, heads, N, N), for visualisation; no dropout
            return self.attention_map(q, k, padding)
        if self.training and self.attn_drop_rate > 0 and x.device.type == 'cpu':
            x = dropout(self.attention_map(q, k, padding), self.attn_drop_rate) @ v
        else:
            attend = None if padding is None else ~padding[:, None, None, :]
            dtype = q.dtype
            in_fp32 = dtype in HALF_PRECISION and q.requires_grad and x.device.type == 'cpu'
            if in_fp32:
                q, k, v = q.float(), k.float(), v.float()
            # autocast would cast SDPA's inputs back to its own dtype
            with torch.autocast('cpu', enabled=False) if in_fp32 else nullcontext():
                x = F.scaled_dot_product_attention(
                    q, k, v, attn_mask=attend,
                    dropout_p=self.attn_drop_rate if self.training else 0.)
            x = x.to(dtype)
        return self.proj_drop(self.out_proj(x.transpose(1, 2).reshape(B, N, C)))

    @staticmethod
    def attention_map(q, k, padding=None):
        """softmax(q k^T / sqrt(d)), the softmax in fp32 (as SDPA) under half-precision autocast."""
        scores = q * q.shape[-1] ** -0.5 @ k.transpose(-2, -1)
        if padding is not None:
            scores = scores.masked_fill(padding[:, None, None, :], float('-inf'))
        at_least_fp32 = torch.promote_types(scores.dtype, torch.float32)
        return scores.softmax(dim=-1, dtype=at_least_fp32).to(scores.dtype)


class TransformerBlock(nn.Module):

    def __init__(self, embed_dims, num_heads, drop_rate=0., attn_drop_rate=0., drop_path_rate=0.):
        super().__init__()
        self.attn = Attention(embed_dims, num_heads, attn_drop_rate, drop_rate)
        self.ffn = SwiGLUFFN(embed_dims)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    @staticmethod
    def norm(x):
        return F.layer_norm(x, x.shape[-1:])

    def forward(self, x, padding=None):
        x = x + self.drop_path(self.attn(self.norm(x), padding=padding))
        x = self.norm(x)
        return x + self.drop_path(self.ffn(x))


class TransformerStack(nn.Module):
    """``num_layers`` blocks with linearly increasing stochastic depth and the authors' init."""

    def __init__(self, embed_dims, num_layers, num_heads, drop_rate=0., attn_drop_rate=0.,
                 drop_path_rate=0.):
        super().__init__()
        rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dims, num_heads, drop_rate, attn_drop_rate, rate)
            for rate in rates)
        self.reset_parameters()

    def reset_parameters(self):
        """Trunc-normal(0.02) linears; each block's output projections scaled by 1/sqrt(2*layer)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
        with torch.no_grad():
            for layer, block in enumerate(self.blocks, start=1):
                block.attn.out_proj.weight.div_(math.sqrt(2.0 * layer))
                block.ffn.out_proj.weight.div_(math.sqrt(2.0 * layer))

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
