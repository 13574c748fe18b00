"""Cross-attention probe: one learned query attends over the frozen tokens.

The paper's cross-attentive probe (arXiv 2502.18056), the attentive pooler of I-JEPA / V-JEPA
evaluations: a learned query token reads the (layer-normed) tokens with multi-head
cross-attention, then one residual SwiGLU block refines it, and LayerNorm + Linear classify.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...registry import MODELS
from ..utils.transformer import SwiGLUFFN
from .token_heads import TokenClsHead


@MODELS.register_module()
class CrossAttentionPoolingHead(TokenClsHead):
    """Args:
        num_classes, in_channels: classes and token width D (divisible by ``num_heads``).
        num_heads: attention heads (4, as the authors).
        dropout: attention dropout and dropout after the output projection (0.2).
        **kwargs: ``ClsHead`` arguments (``loss``, ``topk``, ``init_cfg``).
    """

    def __init__(self, num_classes: int, in_channels: int, num_heads: int = 4,
                 dropout: float = 0.2, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        if in_channels % num_heads:
            raise ValueError(f'CrossAttentionPoolingHead: in_channels={in_channels} is not '
                             f'divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.dropout = dropout
        self.query = nn.Parameter(torch.zeros(1, 1, in_channels))
        self.kv_norm = nn.LayerNorm(in_channels)
        self.q = nn.Linear(in_channels, in_channels, bias=False)
        self.kv = nn.Linear(in_channels, 2 * in_channels, bias=False)
        self.out_proj = nn.Linear(in_channels, in_channels, bias=False)
        self.mid_norm = nn.LayerNorm(in_channels)
        self.ffn = SwiGLUFFN(in_channels)
        self.out_norm = nn.LayerNorm(in_channels)
        self.classifier = nn.Linear(in_channels, num_classes)

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is None:
            nn.init.trunc_normal_(self.query, std=0.02)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        B, N, D = tokens.shape
        heads = lambda x: x.view(B, x.shape[1], self.num_heads, -1).transpose(1, 2)  # noqa: E731
        query = self.query.expand(B, -1, -1)
        k, v = self.kv(self.kv_norm(tokens)).chunk(2, dim=-1)
        drop = self.dropout if self.training else 0.
        x = F.scaled_dot_product_attention(heads(self.q(query)), heads(k), heads(v), dropout_p=drop)
        x = F.dropout(self.out_proj(x.transpose(1, 2).reshape(B, 1, D)), drop, self.training)
        x = self.mid_norm(query + x)
        x = x + self.ffn(x)
        return self.out_norm(x).squeeze(1)
