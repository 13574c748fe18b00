"""Shared plumbing of the attentive probe heads: they read tokens, not pooled vectors.

The paper's probes pool the frozen encoder's (layer-normed) patch tokens themselves, so the
backbone must return ``out_type='raw'`` tokens; a pooled input would make the pooling a no-op
without any error, hence the check.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead


class TokenClsHead(ClsHead):
    """A ``ClsHead`` whose ``pre_logits`` pools ``(B, N, D)`` tokens into ``(B, D)``.

    Subclasses define ``pool(tokens)`` and ``classifier``. Linear layers start as
    trunc-normal(0.02) with zero bias, as the authors' probes do.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 topk=(1, ), init_cfg: Optional[dict] = None, **kwargs):
        super().__init__(loss=loss, topk=topk, init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'{type(self).__name__}: num_classes={num_classes} must be positive')
        self.num_classes = num_classes
        self.in_channels = in_channels

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is None:
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def tokens(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} pools tokens of shape (B, N, {self.in_channels}); got '
                f'{tuple(x.shape)}. Set the backbone to out_type=\'raw\' (and final_norm=True, '
                'the LayerNorm on features of the paper) and in_channels to its embed_dims.')
        return x

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.pool(self.tokens(feats))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.classifier(self.pre_logits(feats))
