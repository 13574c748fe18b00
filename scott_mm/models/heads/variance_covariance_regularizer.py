"""VICReg's variance and covariance terms, as an optional regulariser of MIM-JEPA's context encoder.

Why: at CPU budgets the pooled MIM-JEPA features share a large common direction (mean cosine
0.59 to their centre, against 0.11 for supervised training) and the class differences lie in
directions of low variance, which a cosine kNN cannot weigh (README, "Twice the steps,
measured"). VICReg (Bardes et al., ICLR 2022) keeps every channel spread out (a hinge on its std)
and the channels decorrelated; C-JEPA (Mo & Tong, NeurIPS 2024) adds both terms to I-JEPA. Here
they act on the layer-normed tokens the probes see: each such token has squared norm D, so a std
of 1 in every channel is only reachable with a zero mean, i.e. without a shared direction.
Measured on the bf16 CPU recipe (README, "Variance-covariance terms"): weights 0.5 / 0.02 raise
kNN but stall the linear probe over the full schedule (-7.8 on test); 0.05 / 0.002 raise both
on every seed (configs/scott_jepa_flowers_cpu_bf16_varcov.py, the current CPU recipe).
``over='images'`` spreads what the probes pool instead of single tokens: a token's spread can
come from its position alone, an image's mean cannot (one sample per image, as VICReg has).
On val (README, "Stronger weights, and the terms over images") neither 0.15 / 0.006 nor the weak
weights over images beat the weak weights over tokens.
Under DDP the statistics are those of the global batch, as VICReg gathers its embeddings: the
sums behind the mean and the covariance are all-reduced with autograd, so 2 x 8 images train
like 1 x 16 (tests/test_distributed.py).
``fade_from``: the weights hold until that fraction of training, then follow a half cosine to 0
at the end (the iteration and max_iters come from MessageHub, as the EMA momentum's do).
"""
import math
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModule

from ...registry import MODELS


def fade_factor(step: int, max_steps: int, fade_from: Optional[float]) -> float:
    """1 until ``fade_from * max_steps``, then a half cosine to 0 at ``max_steps``."""
    if fade_from is None:
        return 1.0
    progress = min(max(step / max(max_steps, 1), 0.0), 1.0)
    if progress <= fade_from:
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * (progress - fade_from) / (1 - fade_from)))


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over all processes, with a gradient (backward all-reduces too);
    the tensor itself outside torch.distributed."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist.nn.functional.all_reduce(tensor)
    return tensor


@MODELS.register_module()
class VarianceCovarianceRegularizer(BaseModule):
    """Args:
        var_weight: weight of the variance hinge, mean over channels of relu(std_target - std).
        cov_weight: weight of the covariance term, the squared off-diagonal covariances / D.
        std_target: the std every channel should reach (VICReg: 1).
        layer_norm: layer-norm (no affine) each token first, as the probes do.
        eps: added to the variance under the square root, so a dead channel has a gradient.
        over: what one sample is. 'tokens': every visible token of the batch. 'images': the
            mean of each image's visible tokens (layer-normed first if ``layer_norm``, as the
            probes pool them).
        fade_from: None (default): constant weights. A fraction in [0, 1): the weights hold
            until that fraction of max_iters, then fall along a half cosine to 0 at the end.
    """

    OVER = ('tokens', 'images')

    def __init__(self, var_weight: float = 1.0, cov_weight: float = 0.04,
                 std_target: float = 1.0, layer_norm: bool = True, eps: float = 1e-4,
                 over: str = 'tokens', fade_from: Optional[float] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if var_weight < 0 or cov_weight < 0 or var_weight + cov_weight == 0:
            raise ValueError('VarianceCovarianceRegularizer: var_weight and cov_weight must be '
                             f'>= 0 and not both 0 (got {var_weight}, {cov_weight}); leave '
                             'model.regularizer unset for no regulariser.')
        if over not in self.OVER:
            raise ValueError(f'VarianceCovarianceRegularizer: over={over!r} is not one of '
                             f'{self.OVER}.')
        if fade_from is not None and not 0 <= fade_from < 1:
            raise ValueError('VarianceCovarianceRegularizer: fade_from must be None or in '
                             f'[0, 1), a fraction of max_iters (got {fade_from}).')
        self.over = over
        self.fade_from = fade_from
        self.var_weight = var_weight
        self.cov_weight = cov_weight
        self.std_target = std_target
        self.layer_norm = layer_norm
        self.eps = eps

    def current_factor(self) -> float:
        """The fade factor at the Runner's current iteration; 1 outside a Runner."""
        hub = MessageHub.get_current_instance()
        max_steps = hub.get_info('max_iters', None)
        if self.fade_from is None or max_steps is None:
            return 1.0
        return fade_factor(hub.get_info('iter', 0), max_steps, self.fade_from)

    def loss_on(self, context: torch.Tensor, visible: torch.Tensor) -> dict:
        """The terms on an encoder's outputs. context: (B, N, D); visible: (B, N) bool, the
        patches the encoder saw. Samples are chosen by ``over``."""
        if self.over == 'tokens':
            return self.loss(context[visible])
        if context.shape[0] < 2:
            raise ValueError("VarianceCovarianceRegularizer(over='images') needs at least 2 "
                             'images per batch for a variance: raise train_dataloader.batch_size '
                             "or use over='tokens'.")
        with torch.autocast(context.device.type, enabled=False):
            x = context.float()
            if self.layer_norm:
                x = F.layer_norm(x, x.shape[-1:])
            weights = visible.to(x.dtype).unsqueeze(-1)
            return self.loss((x * weights).sum(1) / weights.sum(1).clamp(min=1))

    def loss(self, tokens: torch.Tensor) -> dict:
        """tokens: (M, D), M >= 2 samples over all processes (e.g. the tokens of the batch).
        Returns the terms, each already weighted and faded (their names contain 'loss', so
        MMEngine adds them up)."""
        with torch.autocast(tokens.device.type, enabled=False):  # statistics in fp32
            x = tokens.float()
            if self.layer_norm:
                x = F.layer_norm(x, x.shape[-1:])
            D = x.shape[1]
            count = sum_over_processes(x.new_tensor(float(x.shape[0])))
            x = x - sum_over_processes(x.sum(dim=0)) / count
            cov = sum_over_processes(x.T @ x) / (count - 1)
            variance = cov.diagonal()
            std = torch.sqrt(variance + self.eps)
            off_diagonal = cov.pow(2).sum() - variance.pow(2).sum()
            factor = self.current_factor()
            return dict(
                loss_variance=factor * self.var_weight * F.relu(self.std_target - std).mean(),
                loss_covariance=factor * self.cov_weight * off_diagonal / D)
