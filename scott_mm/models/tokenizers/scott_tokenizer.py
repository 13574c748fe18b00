"""The SCOTT tokenizer: a small CNN that replaces ViT's patch embedding.

conv -> ReLU -> MaxBlurPool -> conv -> ReLU -> MaxBlurPool; at patch size 16 (the paper):
conv7x7/s2 -> ReLU -> MaxBlurPool/s2 -> conv7x7/s2 -> ReLU -> MaxBlurPool/s2.

It gives the ViT a convolutional inductive bias; run sparsely (only at visible sites) it stays
compatible with masked image modeling because masked patches neither contribute nor receive
anything. Parameters are plain ``nn.Conv2d`` weights, shared by every backend, so a checkpoint
trained with one backend loads into the other.
"""
from typing import NamedTuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..sparse import build_backend
from ..sparse.dense import DenseMaskedBackend


class TokenizerLayout(NamedTuple):
    """Kernel sizes (odd, padding k // 2) and strides of conv1, pool1, conv2, pool2.

    A pool is a MaxBlurPool: 2x2 max-pool at stride 1, then the 3x3 blur at the pool's stride.
    """
    conv1_kernel: int
    conv1_stride: int
    pool1_stride: int
    conv2_kernel: int
    conv2_stride: int
    pool2_stride: int

    @property
    def strides(self):
        """(conv1, pool1, conv2, pool2) strides; their product is the patch size."""
        return (self.conv1_stride, self.pool1_stride, self.conv2_stride, self.pool2_stride)

    def receptive_window(self):
        """(first, size): a token depends on the input pixels ``first .. first + size - 1`` (rows
        and columns) counted from its patch's top-left pixel. Each layer widens the window by
        (k - 1) * jump and moves its start by -(k // 2) * jump for odd k (the 2x2 max-pool reads
        offsets 0 and +1: no move); jump is the product of the earlier strides."""
        first, size, jump = 0, 1, 1
        for kernel, stride in ((self.conv1_kernel, self.conv1_stride), (2, 1),
                               (3, self.pool1_stride), (self.conv2_kernel, self.conv2_stride),
                               (2, 1), (3, self.pool2_stride)):
            first -= (kernel // 2) * jump if kernel % 2 else 0
            size += (kernel - 1) * jump
            jump *= stride
        return first, size

    @property
    def receptive_field(self) -> int:
        """Side in pixels of the input window that one token depends on."""
        return self.receptive_window()[1]


#: patch size -> layout. The receptive field (RF) stays ~3.5-4 patches at every patch size, as
#: in the paper: a token sees its own and the neighbouring patches, not the whole image, so
#: hidden patches cannot be read off visible ones through the tokenizer (DESIGN.md section 5).
#: Small patches use 3x3 convolutions and downsample in the MaxBlurPools only, so the late layers
#: keep a small jump. Patch 8 and 4 used to be the paper's layout minus its last downsamplings
#: (RF 61 and 49 px, the whole of a 32 px image); checkpoints of those do not fit these shapes
#: (loading them reports a size mismatch for tokenizer.conv1/conv2 weights): re-pretrain.
#: Per layout: layer -> RF in px after it (jump = product of the strides so far).
LAYOUTS = {
    # conv7/s2 7 (2) -> max 9 -> blur/s2 13 (4) -> conv7/s2 37 (8) -> max 45 -> blur/s2 61 (16)
    16: TokenizerLayout(7, 2, 2, 7, 2, 2),  # the paper's: RF 61 px = 3.8 patches
    # conv3/s2 3 (2) -> max 5 -> blur/s2 9 (4) -> conv3/s1 17 (4) -> max 21 -> blur/s2 29 (8)
    8: TokenizerLayout(3, 2, 2, 3, 1, 2),  # RF 29 px = 3.6 patches
    # conv3/s1 3 (1) -> max 4 -> blur/s2 6 (2) -> conv3/s1 10 (2) -> max 12 -> blur/s2 16 (4)
    4: TokenizerLayout(3, 1, 2, 3, 1, 2),  # RF 16 px = 4 patches
}


def binomial_blur_kernel() -> torch.Tensor:
    """3x3 [1,2,1] x [1,2,1] / 16: the anti-aliasing blur of MaxBlurPool (Zhang, 2019)."""
    row = torch.tensor([1., 2., 1.])
    return (row[:, None] * row[None, :] / 16.).view(1, 1, 3, 3)


class SCOTTTokenizer(BaseModule):
    """Sparse convolutional tokenizer.

    Args:
        in_channels: image channels.
        embed_dims: token width D.
        stem_channels: width of the first convolution (64 in the paper).
        patch_size: overall stride, a key of ``LAYOUTS`` (16: the paper's layout; 8 and 4 for
            small images); masks are on this grid.
        backend: 'minkowski' (visible sites only) or 'dense' (masked dense emulation).
        paper_compat: dense backend, patch size 16 only: reproduce the authors' border
            behaviour of MaxBlurPool.
    """

    def __init__(self, in_channels=3, embed_dims=384, stem_channels=64, patch_size=16,
                 backend='minkowski', paper_compat=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if patch_size not in LAYOUTS:
            raise ValueError(f'SCOTT tokenizer: patch_size={patch_size!r} is not supported; '
                             f'choose one of {sorted(LAYOUTS)}.')
        self.patch_size = patch_size
        self.layout = LAYOUTS[patch_size]
        self.strides = self.layout.strides
        self.embed_dims = embed_dims
        if paper_compat and backend != 'dense':
            raise ValueError("SCOTT tokenizer: paper_compat=True needs backend='dense' "
                             '(the sparse backend implements the strict semantics only).')
        if paper_compat and patch_size != 16:
            raise ValueError(f'SCOTT tokenizer: paper_compat=True reproduces the authors\' code, '
                             f'which has the patch-16 layout only (got patch_size={patch_size}).')
        self.backend = build_backend(backend)
        self.paper_compat = paper_compat
        k1, k2 = self.layout.conv1_kernel, self.layout.conv2_kernel
        self.conv1 = nn.Conv2d(in_channels, stem_channels, k1, self.strides[0], k1 // 2, bias=False)
        self.conv2 = nn.Conv2d(stem_channels, embed_dims, k2, self.strides[2], k2 // 2, bias=False)
        self.register_buffer('blur_kernel', binomial_blur_kernel(), persistent=False)
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight)

    def forward(self, x: torch.Tensor, mask=None) -> torch.Tensor:
        """(B, C, H, W) images -> (B, D, H/p, W/p) feature map.

        ``mask``: (B, H/p, W/p) or (B, H/p * W/p), 1/True = masked. Masked tokens come out as
        zeros and no masked pixel influences a visible token. ``None``: plain dense path.
        """
        h, w = self.grid_size(x.shape[-2:])
        if mask is None:
            return DenseMaskedBackend.forward(self, x, None, self.paper_compat)
        if mask.shape[0] != x.shape[0] or mask[0].numel() != h * w:
            raise ValueError(f'SCOTT tokenizer: mask of shape {tuple(mask.shape)} does not fit '
                             f'{x.shape[0]} images on a {h}x{w} token grid.')
        visible = ~mask.reshape(x.shape[0], h, w).bool()
        if self.paper_compat:
            return DenseMaskedBackend.forward(self, x, visible, paper_compat=True)
        return self.backend.forward(self, x, visible)

    def grid_size(self, image_size):
        """Token grid (h, w) for an (H, W) image; both must be multiples of the patch size."""
        H, W = image_size
        if H % self.patch_size or W % self.patch_size:
            raise ValueError(f'SCOTT tokenizer: image size {H}x{W} is not divisible by the '
                             f'patch size {self.patch_size}; resize or crop to a multiple of it.')
        return H // self.patch_size, W // self.patch_size
