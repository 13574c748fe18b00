"""Collapse diagnostics for joint-embedding training.

A JEPA can silently collapse (every image -> the same latent) and still show a falling loss,
which users of small datasets report. Two cheap numbers expose it: the spread of features across
the batch, and how many directions they use (effective rank, Roy & Vetterli, 2007).
"""
import torch


def feature_std(features: torch.Tensor) -> torch.Tensor:
    """Mean over channels of the per-channel std across the batch; 0 means collapse. (B, D)."""
    return features.float().std(dim=0).mean()


def effective_rank(features: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """exp(entropy of the normalised singular values) of the centred (B, D) feature matrix.

    Between 1 (all features on a line) and min(B, D) (spread evenly over every direction).
    """
    centred = features.float() - features.float().mean(dim=0, keepdim=True)
    s = torch.linalg.svdvals(centred)
    p = s / s.sum().clamp(min=eps)
    entropy = -(p * (p + eps).log()).sum()
    return entropy.exp()
