"""Dropout whose random mask is cheap on CPU.

PyTorch draws CPU random numbers serially, one per element: on 2 cores the mask of ``F.dropout``
costs ~15 ns per element, 0.6 s of a 9 s SCOTT-S MIM-JEPA step (profiled, issue #4). Here one
64-bit draw feeds three elements (48 uniform bits, 16 per element), ~5x cheaper, from the same
global generator, so seeding and ``RNGStateHook`` resume work as before. The drop probability is
rounded to a multiple of 1/65536 (0.2 -> 0.199997) and kept elements are scaled by the rounded
keep probability, so the expectation stays exact. Other devices use ``F.dropout``, already fused
there.
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

_LEVELS = 1 << 16  # one 16-bit uniform draw per element


def rounded_drop_probability(p: float) -> float:
    """The drop probability :func:`bernoulli_keep_mask` really uses."""
    return round(p * _LEVELS) / _LEVELS


def bernoulli_keep_mask(shape, p: float, device=None) -> torch.Tensor:
    """Bool mask of ``shape``, each element False (dropped) with probability
    ``rounded_drop_probability(p)``."""
    q = rounded_drop_probability(p)
    if not 0. < q < 1.:
        raise ValueError(f'bernoulli_keep_mask: p={p} rounds to {q}; it must round into (0, 1).')
    n = math.prod(shape)
    words = torch.empty((n + 2) // 3, dtype=torch.int64, device=device).random_(0, 1 << 48)
    # The int16 view of each word holds three uniform 16-bit fields and one zero field (the
    # high one: last on little-endian machines).
    fields = words.view(torch.int16).view(-1, 4)
    fields = fields[:, :3] if sys.byteorder == 'little' else fields[:, 1:]
    threshold = round(q * _LEVELS) - _LEVELS // 2  # int16 values are uniform on [-2^15, 2^15)
    return (fields >= threshold).reshape(-1)[:n].view(shape)


class _MaskedScale(torch.autograd.Function):
    """x * keep * scale, saving the bool mask (not a float copy) for the backward."""

    @staticmethod
    def forward(ctx, x, keep, scale):
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x.mul(keep).mul_(scale)

    @staticmethod
    def backward(ctx, grad):
        keep, = ctx.saved_tensors
        return grad.mul(keep).mul_(ctx.scale), None, None


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).
    ``F.dropout`` off CPU, and where rounding would move ``p`` by more than 1% (p < ~1e-3)."""
    if not training or p == 0.:
        return x
    q = rounded_drop_probability(p)
    if x.device.type != 'cpu' or not 0. < q < 1. or abs(q - p) > 0.01 * p:
        return F.dropout(x, p, training)
    return _MaskedScale.apply(x, bernoulli_keep_mask(x.shape, p, x.device), 1. / (1. - q))


class Dropout(nn.Dropout):
    """``nn.Dropout`` with the cheap CPU mask of :func:`dropout` (not in place)."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        if inplace:
            raise ValueError('scott_mm Dropout: inplace=True is not supported; use nn.Dropout.')
        super().__init__(p)

    def forward(self, x):
        return dropout(x, self.p, self.training)
