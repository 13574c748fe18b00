"""Weighted k-nearest-neighbour classification of features, and a DDP-correct feature bank.

The usual kNN protocol for self-supervised features (Wu et al., 2018; DINO): cosine similarity
to every training feature, the k most similar vote for their class with weight
``exp(similarity / temperature)``. No training, so it measures the features themselves.
"""
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather


def knn_scores(queries: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor,
               num_classes: int, k: int = 20, temperature: float = 0.07) -> torch.Tensor:
    """Class scores ``(Q, num_classes)`` of ``queries`` (Q, D) against ``bank`` (N, D).

    Features are L2-normalised here (cosine similarity). Each query's ``k`` most similar bank
    entries (fewer if the bank is smaller) add ``exp(sim / temperature)`` to their class; the
    scores are normalised to sum to one per query.
    """
    if bank.shape[0] == 0:
        raise ValueError('kNN: the feature bank is empty')
    sims = F.normalize(queries.float(), dim=1) @ F.normalize(bank.float(), dim=1).T
    top_sims, top_idx = sims.topk(min(k, bank.shape[0]), dim=1)
    weights = (top_sims / temperature).exp()
    scores = torch.zeros(queries.shape[0], num_classes, device=queries.device)
    scores.scatter_add_(1, bank_labels.to(queries.device)[top_idx], weights)
    return scores / scores.sum(dim=1, keepdim=True)


def gather_bank(features: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor,
                size: int):
    """Assemble the whole bank on every rank from each rank's part.

    Every rank passes its features (n, D), labels (n,) and dataset indices (n,); ranks must hold
    equally many rows (mmengine's ``DefaultSampler`` pads to that). Rows are put back in dataset
    order by index, so padding duplicates collapse and the result does not depend on how the
    sampler split the data. Returns ``(features (size, D), labels (size,))``.
    """
    parts = [all_gather(t.contiguous()) for t in (features, labels, indices)]
    feats, labs, idx = (torch.cat(p) for p in parts)
    bank = feats.new_zeros(size, feats.shape[1])
    bank_labels = labs.new_full((size, ), -1)
    bank[idx], bank_labels[idx] = feats, labs
    seen = torch.zeros(size, dtype=torch.bool, device=idx.device)
    seen[idx] = True
    if not bool(seen.all()):
        raise RuntimeError(f'kNN bank: {int((~seen).sum())} of {size} samples were extracted '
                           'by no rank')
    return bank, bank_labels


def knn_predict(queries: torch.Tensor, bank: torch.Tensor, bank_labels: Sequence[int],
                num_classes: int, k: int = 20, temperature: float = 0.07) -> torch.Tensor:
    """Predicted labels (Q,), the arg-max of :func:`knn_scores`."""
    labels = torch.as_tensor(bank_labels, dtype=torch.long)
    return knn_scores(queries, bank, labels, num_classes, k, temperature).argmax(dim=1)


def knn_accuracy(queries: torch.Tensor, query_labels: torch.Tensor, bank: torch.Tensor,
                 bank_labels: torch.Tensor, num_classes: int, k: int = 20,
                 temperature: float = 0.07) -> float:
    """Top-1 accuracy in % of :func:`knn_predict`; nan when features are not finite (a diverged
    encoder must show up as nan, not as a chance-level number)."""
    if not bool(torch.isfinite(queries).all() and torch.isfinite(bank).all()):
        return math.nan
    scores = knn_scores(queries, bank, torch.as_tensor(bank_labels), num_classes, k, temperature)
    return float((scores.argmax(dim=1).cpu() == torch.as_tensor(query_labels)).float().mean()
                 * 100)
