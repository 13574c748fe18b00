"""The SCOTT tokenizer: a small CNN that replaces ViT's patch embedding.

conv7x7/s2 -> ReLU -> MaxBlurPool/s2 -> conv7x7/s2 -> ReLU -> MaxBlurPool/s2  (overall stride 16)

It gives the ViT a convolutional inductive bias; run sparsely (only at visible sites) it stays
compatible with masked image modeling because masked patches neither contribute nor receive
anything. Parameters are plain ``nn.Conv2d`` weights, shared by every backend, so a checkpoint
trained with one backend loads into the other.
"""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..sparse import build_backend
from ..sparse.dense import DenseMaskedBackend

#: patch size -> strides of (conv1, pool1, conv2, pool2). Smaller patches suit small images;
#: they drop the *last* downsamplings, so the 7x7 convolutions stay on small maps (cheap on CPU).
STRIDES_FOR_PATCH_SIZE = {16: (2, 2, 2, 2), 8: (2, 2, 2, 1), 4: (2, 2, 1, 1)}


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
        patch_size: overall stride, one of ``STRIDES_FOR_PATCH_SIZE``; masks are on this grid.
        backend: 'minkowski' (visible sites only) or 'dense' (masked dense emulation).
        paper_compat: dense backend only: reproduce the authors' border behaviour of MaxBlurPool.
    """

    def __init__(self, in_channels=3, embed_dims=384, stem_channels=64, patch_size=16,
                 backend='minkowski', paper_compat=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if patch_size not in STRIDES_FOR_PATCH_SIZE:
            raise ValueError(f'SCOTT tokenizer: patch_size={patch_size!r} is not supported; '
                             f'choose one of {sorted(STRIDES_FOR_PATCH_SIZE)}.')
        self.patch_size = patch_size
        self.strides = STRIDES_FOR_PATCH_SIZE[patch_size]
        self.embed_dims = embed_dims
        if paper_compat and backend != 'dense':
            raise ValueError("SCOTT tokenizer: paper_compat=True needs backend='dense' "
                             '(the sparse backend implements the strict semantics only).')
        self.backend = build_backend(backend)
        self.paper_compat = paper_compat
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, self.strides[0], 3, bias=False)
        self.conv2 = nn.Conv2d(stem_channels, embed_dims, 7, self.strides[2], 3, bias=False)
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
