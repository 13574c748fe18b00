"""The per-view colour augmentation of MIM-JEPA (arXiv 2502.18056), as the authors run it.

With probability ``prob`` (0.6) a view gets three steps in a fresh random order:
ColorJitter(0.4, 0.4, 0.2, 0.1) with p=0.8, grayscale with p=0.1, GaussianBlur(kernel 9,
sigma uniform in [0.1, 2]) with p=0.3; otherwise the view is left as it is.

Why one transform instead of mmcv's RandomApply around mmpretrain's pieces: mmcv has no
random-order wrapper; mmpretrain's GaussianBlur is PIL's radius blur, not a fixed 9x9 kernel;
and mmcv's hue shift raises OverflowError under numpy 2 for negative hue factors
(``np.uint8(-25)``), i.e. on about half the draws of mmpretrain's ColorJitter with hue=0.1.
So the steps are torchvision's own transforms on a PIL image, the same ops as the authors'.

Randomness comes from torch's global RNG (torchvision samples from it), which scott_mm's Runner
seeds around every training sample (scott_mm/engine/seeded_data.py).
"""
import numpy as np
import torch
import torchvision.transforms as T
from mmcv.transforms import BaseTransform
from PIL import Image

from ...registry import TRANSFORMS


def _check_prob(name, value):
    if not 0 <= value <= 1:
        raise ValueError(f'{name} must be in [0, 1], got {value}')
    return value


@TRANSFORMS.register_module()
class JEPAColorAugment(BaseTransform):
    """Random-order colour stack applied to ``results['img']`` (uint8 (H, W, 3)).

    Args:
        prob: probability that the stack runs at all (the authors' 0.6).
        brightness, contrast, saturation, hue: ColorJitter strengths (torchvision meaning).
        jitter_prob, gray_prob, blur_prob: probability of each step when the stack runs.
        blur_kernel_size, blur_sigma: GaussianBlur kernel and the range sigma is drawn from.
        channel_order: 'bgr' (mmcv's LoadImageFromFile default) or 'rgb'; it only matters for
            the hue and grayscale weights, the output keeps the input's order.
    """

    def __init__(self, prob=0.6, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1,
                 jitter_prob=0.8, gray_prob=0.1, blur_prob=0.3, blur_kernel_size=9,
                 blur_sigma=(0.1, 2.0), channel_order='bgr'):
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        self.prob = _check_prob('prob', prob)
        self.channel_order = channel_order
        jitter = T.ColorJitter(brightness, contrast, saturation, hue)
        blur = T.GaussianBlur(blur_kernel_size, sigma=tuple(blur_sigma))
        self.steps = [
            T.RandomApply([jitter], p=_check_prob('jitter_prob', jitter_prob)),
            T.RandomGrayscale(p=_check_prob('gray_prob', gray_prob)),
            T.RandomApply([blur], p=_check_prob('blur_prob', blur_prob)),
        ]

    def transform(self, results):
        if not torch.rand(()).item() < self.prob:
            return results
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'JEPAColorAugment needs a uint8 (H, W, 3) image, got '
                             f'{img.dtype} {img.shape}')
        flip = self.channel_order == 'bgr'
        pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1] if flip else img))
        for i in torch.randperm(len(self.steps)).tolist():
            pil = self.steps[i](pil)
        out = np.array(pil)
        results['img'] = np.ascontiguousarray(out[..., ::-1] if flip else out)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(prob={self.prob}, channel_order={self.channel_order!r}, '
                f'steps={self.steps})')
