"""Collapse diagnostics for joint-embedding training.

A JEPA can silently collapse (every image -> the same latent) and still show a falling loss,
which users of small datasets report. Two cheap numbers expose it: the spread of features across
the batch, and how many directions they use (effective rank, Roy & Vetterli, 2007).

They are logged next to the loss on every iteration, so they must never be what stops a run:
on features that are not finite (a diverging run) or an SVD that fails they are NaN, with a
warning. Divergence itself is reported by the non-finite loss guard
(engine/hooks/nonfinite_loss_hook.py), which names the iteration and keeps the last checkpoint.
"""
import warnings

import torch


def feature_std(features: torch.Tensor) -> torch.Tensor:
    """Mean over channels of the per-channel std across the batch; 0 means collapse. (B, D)."""
    return features.float().std(dim=0).mean()


def effective_rank(features: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """exp(entropy of the normalised singular values) of the centred (B, D) feature matrix.

    Between 1 (all features on a line) and min(B, D) (spread evenly over every direction);
    NaN, with a warning, when the features are not finite or the SVD fails.
    """
    features = features.float()
    nan = torch.full((), float('nan'), device=features.device)
    centred = features - features.mean(dim=0, keepdim=True)  # overflows for huge features
    if not bool(torch.isfinite(centred).all()):
        warnings.warn('effective_rank: the features hold inf or NaN values, or values too large '
                      'to centre (a diverging run?); the rank is NaN.')
        return nan
    try:
        s = torch.linalg.svdvals(centred)
    except RuntimeError as err:  # torch.linalg.LinAlgError (no convergence) is a RuntimeError
        warnings.warn(f'effective_rank: the SVD failed ({str(err).splitlines()[0]}); the rank '
                      'is NaN.')
        return nan
    p = s / s.sum().clamp(min=eps)
    entropy = -(p * (p + eps).log()).sum()
    return entropy.exp()
