"""MIM-JEPA: masked image modeling with a joint-embedding predictive architecture.

Predict the *latent* features of masked patches, not their pixels (arXiv 2502.18056):
a context encoder (SCOTT with the sparse tokenizer) sees a masked view, a predictor fills in the
masked slots, and an EMA copy of the encoder (the target) provides layer-normed latents of the
full second view. Only the masked patches are scored.
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.selfsup.base import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from ...evaluation.diagnostics import effective_rank, feature_std
from ...registry import MODELS
from ..utils.ema import LinearMomentumEMA


@MODELS.register_module()
class MIMJEPA(BaseSelfSupervisor):
    """Args:
        backbone: the context encoder, a SCOTT backbone with ``out_type='raw'``.
        neck: the predictor (``JEPAPredictor``).
        head: the latent loss (``LatentPredictionHead``).
        base_momentum, end_momentum: EMA momentum of the target, linear over training.
        context: 'mask_token' (the paper's): the context encoder runs the whole grid with the
            learned mask embedding in masked slots. 'visible': it runs the visible tokens only
            (I-JEPA / MAE style, ~(1 - mask ratio) of the encoder's cost); the mask embedding
            then fills the masked slots of its output, so the predictor sees the same grid.
        target_blocks: how many of the EMA encoder's last blocks make the target. 1 (the
            paper's): the last block, layer-normed. K > 1: the mean of the last K blocks, each
            layer-normed, layer-normed again (data2vec, Baevski et al. 2022, averages the top
            blocks so the target keeps more than the last block's view of the image).
        regularizer: optional, e.g. ``dict(type='VarianceCovarianceRegularizer')``: extra loss
            terms on the context encoder's outputs at the visible patches (not the paper's;
            None = the paper's loss only). MMEngine optimises the sum of every ``loss*`` term;
            its log keeps ``loss`` = the latent loss, beside ``loss_variance`` and friends.
    """

    CONTEXTS = ('mask_token', 'visible')

    def __init__(self, backbone: dict, neck: dict, head: dict, base_momentum: float = 0.996,
                 end_momentum: float = 1.0, context: str = 'mask_token', target_blocks: int = 1,
                 regularizer: Optional[dict] = None, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone=backbone, neck=neck, head=head,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if getattr(self.backbone, 'out_type', 'raw') != 'raw':
            raise ValueError("MIMJEPA: the backbone must return tokens: set "
                             "model.backbone.out_type='raw'.")
        if context not in self.CONTEXTS:
            raise ValueError(f'MIMJEPA: model.context={context!r} is not one of '
                             f'{self.CONTEXTS}.')
        num_layers = self.backbone.num_layers
        if not 1 <= target_blocks <= num_layers:
            raise ValueError(f'MIMJEPA: model.target_blocks={target_blocks} must be between 1 '
                             f'and the backbone\'s {num_layers} layers.')
        self.context = context
        self.regularizer = MODELS.build(regularizer) if regularizer is not None else None
        self.target_encoder = LinearMomentumEMA(self.backbone, base_momentum, end_momentum)
        # the EMA copy returns its last `target_blocks` blocks; the context encoder is unchanged
        self.target_encoder.module.out_indices = list(range(num_layers - target_blocks,
                                                            num_layers))

    def train(self, mode: bool = True):
        super().train(mode)
        self.target_encoder.eval()  # targets come without dropout or stochastic depth
        return self

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        context_view, target_view = inputs[0], inputs[1]
        mask = torch.stack([sample.mask for sample in data_samples]).bool()  # (B, h, w), 1=masked
        if not bool(mask.flatten(1).any(1).all()):
            raise ValueError('MIMJEPA: an image of this batch has no masked patch, so there is '
                             'nothing to predict and its loss is 0: the mask generator of the '
                             'train pipeline must mask at least one patch (mask_ratio > 0).')

        # 1. Targets: the EMA encoder on the full second view, layer-normed, no gradient.
        self.target_encoder.update_parameters(self.backbone)
        targets = self.target_latents(target_view)

        # 2. Context: the online encoder sees only the visible patches of the first view;
        # 3. the predictor guesses the latents of every slot; only the masked ones are scored.
        context = self.context_latents(context_view, mask)
        predictions = self.neck(context, mask.shape[-2:])
        losses = dict(loss=self.head.loss(predictions, targets, mask.flatten(1)))
        if self.regularizer is not None:  # on the encoder's outputs at the visible patches
            losses.update(self.regularizer.loss_on(context, ~mask.flatten(1)))

        pooled = targets.mean(dim=1)  # collapse diagnostics on per-image target features
        return dict(**losses,
                    target_std=feature_std(pooled),
                    target_rank=effective_rank(pooled),
                    momentum=torch.tensor(self.target_encoder.last_momentum))

    @torch.no_grad()
    def target_latents(self, target_view: torch.Tensor) -> torch.Tensor:
        """(B, N, D) layer-normed latents of the EMA target; the EMA is not updated here."""
        blocks = self.target_encoder.module(target_view)
        normed = [F.layer_norm(b, b.shape[-1:]) for b in blocks]
        if len(normed) == 1:
            return normed[0]
        mean = torch.stack(normed).mean(0)
        return F.layer_norm(mean, mean.shape[-1:])

    def predict_latents(self, context_view: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, N, D) predicted latents from the visible patches of ``context_view``.

        mask: (B, h, w) bool, 1 = masked.
        """
        return self.neck(self.context_latents(context_view, mask), mask.shape[-2:])

    def context_latents(self, context_view: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, N, D): the context encoder's outputs, in grid order; at the masked slots what
        the predictor starts from (``context='visible'``: the mask embedding)."""
        if self.context == 'mask_token':
            return self.backbone(context_view, mask)[-1]
        return self.visible_context(context_view, mask)

    def visible_context(self, context_view: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, N, D): the encoder's visible-only outputs in their grid slots, the mask embedding
        in the masked ones."""
        outs, index, padding = self.backbone.forward_visible(context_view, mask)
        tokens = outs[-1]
        B, D = tokens.shape[0], tokens.shape[-1]
        fill = self.backbone.mask_token.to(tokens.dtype).expand(B, mask[0].numel(), D)
        if padding is not None:  # a pad's index is a masked slot: write the mask embedding there
            tokens = torch.where(padding[..., None], fill[:, :tokens.shape[1]], tokens)
        return fill.scatter(1, index[..., None].expand(-1, -1, D), tokens)
