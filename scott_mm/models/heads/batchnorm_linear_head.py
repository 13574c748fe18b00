"""Linear probe head with MAE's feature normalisation: BatchNorm without affine, then Linear.

Frozen, layer-normed and averaged SCOTT tokens share a large common component and vary little
around it (demo encoder: norm ~11, per-channel std ~0.3), so a plain linear layer trained for a
probe's few hundred steps underfits badly. Standardising each channel first (He et al., MAE,
2022, sec. A.2) fixes that; at test time it is a fixed affine map, so the probe stays linear.
A training batch of one image (the last batch of a training set of 64k + 1 images, common with
one's own data) has no batch statistics; it is standardised with the running ones instead of
stopping the run.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import LinearClsHead

from ...registry import MODELS


@MODELS.register_module()
class BatchNormLinearClsHead(LinearClsHead):
    """``LinearClsHead`` on per-channel standardised features (BatchNorm1d, no affine)."""

    def __init__(self, num_classes: int, in_channels: int, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        self.norm = nn.BatchNorm1d(in_channels, affine=False, eps=1e-6)

    def pre_logits(self, feats) -> torch.Tensor:
        x = feats[-1]
        if x.dim() != 2:
            raise ValueError(f'BatchNormLinearClsHead expects pooled (B, {self.in_channels}) '
                             f"features, got {tuple(x.shape)}: set out_type='avg_featmap'")
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.norm.running_mean, self.norm.running_var,
                                training=False, eps=self.norm.eps)
        return self.norm(x)
