"""Multi-head attentive pooling probe: H softmax poolings over H slices of projected tokens.

The paper's first attentive probe (arXiv 2502.18056): tokens are projected (Linear + LayerNorm)
and cut into H slices of D/H channels; each slice is averaged with its own softmax weights
(one score per token and head), the slices are concatenated back to D, and a small MLP
(SiLU, Linear, LayerNorm, SiLU, Linear) classifies. More capacity than one softmax pooling,
still no attention between tokens.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...registry import MODELS
from .token_heads import TokenClsHead


@MODELS.register_module()
class MultiHeadAttentivePoolingHead(TokenClsHead):
    """Args:
        num_classes, in_channels: classes and token width D (divisible by ``num_heads``).
        num_heads: pooling heads (4, as the authors).
        dropout: on tokens before scoring and projecting, and on the pooling weights (0.2).
        **kwargs: ``ClsHead`` arguments (``loss``, ``topk``, ``init_cfg``).
    """

    def __init__(self, num_classes: int, in_channels: int, num_heads: int = 4,
                 dropout: float = 0.2, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        if in_channels % num_heads:
            raise ValueError(f'MultiHeadAttentivePoolingHead: in_channels={in_channels} is not '
                             f'divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.dropout = dropout
        self.score = nn.Linear(in_channels, num_heads)
        self.project = nn.Sequential(nn.Linear(in_channels, in_channels), nn.LayerNorm(in_channels))
        self.classifier = nn.Sequential(
            nn.SiLU(), nn.Linear(in_channels, in_channels), nn.LayerNorm(in_channels),
            nn.SiLU(), nn.Linear(in_channels, num_classes))

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        B, N, D = tokens.shape
        weights = self.score(F.dropout(tokens, self.dropout, self.training)).softmax(dim=1)
        weights = F.dropout(weights, self.dropout, self.training)  # (B, N, H)
        values = self.project(F.dropout(tokens, self.dropout, self.training))
        values = values.view(B, N, self.num_heads, D // self.num_heads)  # (B, N, H, D/H)
        return torch.einsum('bnh,bnhc->bhc', weights, values).reshape(B, D)
