"""Masked dense emulation of the sparse SCOTT tokenizer, in plain PyTorch.

Every layer runs densely over the whole image, then its output is multiplied by the visible-site
mask at that layer's resolution, so masked sites hold zeros and contribute nothing to the next
layer. This is the SparK-style trick the SCOTT authors use; here the mask is an argument, never
module-global state.

``strict`` semantics (default) equal real sparse convolution: the 2x2 max-pool only sees existing
(visible) neighbours and the result is re-masked before the blur. ``paper_compat`` reproduces the
authors' code instead: an unpadded max-pool (size H -> H-1) and a single re-mask after the blur,
which differs at patch and image borders (DESIGN.md section 1).
"""
import torch
import torch.nn.functional as F


def expand_mask(visible: torch.Tensor, size) -> torch.Tensor:
    """Grow a (B, h, w) visible-token mask to (B, 1, H, W) at a feature map's resolution."""
    return F.interpolate(visible[:, None].to(torch.float32), size=tuple(size), mode='nearest')


def max_pool_2x2_stride_1(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2, stride=1)``. On CPU without autograd (the target encoder) as two
    elementwise maxima, rows then columns: the same values, ~3x faster, where the pooling kernel is
    the slowest op of the dense tokenizer. Under autograd the pooling kernel's backward is cheaper;
    on GPU it was not measured, so the kernel stays."""
    if (torch.is_grad_enabled() and x.requires_grad) or x.device.type != 'cpu':
        return F.max_pool2d(x, kernel_size=2, stride=1)
    rows = torch.maximum(x[..., :-1, :], x[..., 1:, :])
    return torch.maximum(rows[..., :-1], rows[..., 1:])


class DenseMaskedBackend:
    """Runs a :class:`SCOTTTokenizer`'s layers densely, re-masking after every layer."""

    name = 'dense'
    channels_last_on_cpu = True  # False only to time the difference (benchmarks.memory_format)

    @staticmethod
    def max_blur_pool(tokenizer, x, stride, remask, paper_compat=False):
        if paper_compat:
            x = max_pool_2x2_stride_1(x)  # H -> H-1, as the authors do
        else:
            # Post-ReLU values are >= 0, so a zero pad equals "max over existing neighbours".
            x = max_pool_2x2_stride_1(F.pad(x, (0, 1, 0, 1)))
            x = remask(x)
        channels = x.shape[1]
        blur = tokenizer.blur_kernel.to(x.dtype).expand(channels, 1, 3, 3)
        x = F.conv2d(x, blur, stride=stride, padding=1, groups=channels)
        return remask(x)

    @classmethod
    def forward(cls, tokenizer, x: torch.Tensor, visible=None, paper_compat=False) -> torch.Tensor:
        """(B, C, H, W) image -> (B, D, h, w) feature map, zero at masked tokens.

        ``visible`` is a (B, h, w) bool tensor on the token grid, or None for the plain dense path.
        On CPU the image goes channels-last (``channels_last_on_cpu``), which oneDNN's
        convolutions run faster (``python -m benchmarks.memory_format``).
        """
        if cls.channels_last_on_cpu and x.device.type == 'cpu':
            x = x.contiguous(memory_format=torch.channels_last)
        if visible is None:
            def remask(t):
                return t
        else:
            def remask(t):
                return t * expand_mask(visible, t.shape[-2:]).to(t.dtype)

        x = remask(x)
        for conv, pool_stride in ((tokenizer.conv1, tokenizer.strides[1]),
                                  (tokenizer.conv2, tokenizer.strides[3])):
            x = F.relu(remask(conv(x)))
            x = cls.max_blur_pool(tokenizer, x, pool_stride, remask, paper_compat)
        return x
