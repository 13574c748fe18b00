"""Latent loss of MIM-JEPA: SmoothL1 between predicted and target latents on masked patches."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from ...registry import MODELS


@MODELS.register_module()
class LatentPredictionHead(BaseModule):
    """Mean over channels, then over each image's masked patches, then over the batch.

    Visible patches are excluded: predicting what the context already shows is trivial.
    """

    def __init__(self, beta: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.beta = beta

    def loss(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """pred, target: (B, N, D); mask: (B, N), 1 = masked (the patches to predict)."""
        per_patch = F.smooth_l1_loss(pred, target, reduction='none', beta=self.beta).mean(-1)
        mask = mask.to(per_patch.dtype)
        per_image = (per_patch * mask).sum(-1) / mask.sum(-1).clamp(min=1)
        return per_image.mean()
