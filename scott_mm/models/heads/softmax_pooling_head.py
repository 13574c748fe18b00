"""Simple softmax pooling probe: one score per token, softmax over tokens, weighted mean.

The cheapest of the paper's three attentive probes (arXiv 2502.18056): a linear layer scores
every token, the softmax of the scores weights the average, a linear layer classifies it.
Dropout hits the tokens before scoring and the pooling weights themselves during training.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...registry import MODELS
from .token_heads import TokenClsHead


@MODELS.register_module()
class SoftmaxPoolingHead(TokenClsHead):
    """Args:
        num_classes, in_channels: classes and token width D.
        dropout: on the tokens before scoring and on the pooling weights (0.2, as the authors).
        **kwargs: ``ClsHead`` arguments (``loss``, ``topk``, ``init_cfg``).
    """

    def __init__(self, num_classes: int, in_channels: int, dropout: float = 0.2, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        self.dropout = dropout
        self.score = nn.Linear(in_channels, 1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        scores = self.score(F.dropout(tokens, self.dropout, self.training)).squeeze(-1)
        weights = F.dropout(scores.softmax(dim=-1), self.dropout, self.training)  # (B, N)
        return torch.einsum('bn,bnd->bd', weights, tokens)
