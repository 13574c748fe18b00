"""The authors' MIM-JEPA step (inescopresearch/scott), timed beside ours.

Nothing of theirs ships here: ``python -m benchmarks.pretrain_step --authors PATH`` imports it
from your own checkout of https://github.com/inescopresearch/scott. The step is the SSL part of
one iteration of their ``mimjepa_training`` loop (src/mimjepa.py): target encoder without grad and
layer norm, context encoder on the kept patches, predictor, the loss of their
``ReconstructionLoss``, backward, AdamW from their ``get_optimizer``, EMA update. Left out,
because they are not MIM-JEPA: their online linear classifier and gradient-norm logging. Their
loss is written out below (importing src/mimjepa.py needs wandb and tqdm, which scott_mm does
not install); it is negligible next to the encoders. SCOTT-S settings as in ``pretrain_step``.
"""
import copy
import sys
from pathlib import Path

import torch
import torch.nn.functional as F


def reconstruction_loss(predictions, targets, keep):
    """Their loss: SmoothL1 on the dropped (masked) patches, summed over channels / D, summed
    over patches / number of dropped patches (with their 1e-8 guards), mean over the batch."""
    dropped = (1 - keep)[..., None]
    per_element = F.smooth_l1_loss(predictions * dropped, targets * dropped, reduction='none')
    per_patch = (per_element.sum(-1) + 1e-8) / predictions.shape[-1]
    return (per_patch.sum(-1) / (dropped[..., 0].sum(-1) + 1e-8)).mean()


def build_authors_step(path: str, views, masked: torch.Tensor):
    """A closure running one step of the authors' code on ``views`` (two (B, 3, H, W) tensors);
    ``masked``: (B, h, w) bool, True = masked (their ``keep_masks`` are the complement)."""
    if not (Path(path) / 'src' / 'mimjepa.py').is_file():
        raise SystemExit(f'--authors {path}: no src/mimjepa.py there; pass the root of a '
                         'checkout of https://github.com/inescopresearch/scott.')
    sys.path.insert(0, str(path))  # their package is called ``src``
    try:
        from src.models import get_model
        from src.models.predictor import Predictor
        from src.optimizer import get_optimizer
    finally:
        sys.path.remove(str(path))

    img = views[0].shape[-1]
    # get_model(name, img_size, patch_size, embed_dim, in_channels, depth, num_heads, mlp_ratio,
    #           dropout, attention_dropout, stochastic_depth, registers, ffn), as their configs.
    context = get_model('scott', img, 16, 384, 3, 12, 4, 0, 0.2, 0.1, 0.1, 0, 'swiglu',
                        verbose=False).to(views[0].device)
    predictor = Predictor(embed_dim=384, num_patches=context.num_patches, num_register_tokens=0,
                          backbone_depth=12, depth=3, num_heads=4, mlp_ratio=0,
                          dropout_rate=0.2, attention_dropout=0.1, stochastic_depth_rate=0.1,
                          ffn_layer='swiglu').to(views[0].device)
    target = copy.deepcopy(context)
    optimizer = get_optimizer(torch.nn.ModuleList([context, predictor]), total_steps=1000,
                              lr_warmup_steps=100, lr_start=1e-6, lr_peak=5e-4, lr_final=1e-5,
                              lr_flat_pctg=0.72, wd_start=0.04, wd_final=0.4)
    keep = (~masked).flatten(1).int()
    momentum = 0.996

    def step():
        context.train()
        predictor.train()
        target.eval()
        with torch.no_grad():
            targets = target(views[1], masks=None)
            targets = F.layer_norm(targets, targets.shape[-1:])
        optimizer.zero_grad()
        loss = reconstruction_loss(predictor(context(views[0], keep)), targets, keep)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for online, averaged in zip(context.parameters(), target.parameters()):
                averaged.mul_(momentum).add_((1. - momentum) * online)
    return step
