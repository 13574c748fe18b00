"""The SCOTT tokenizer on real sparse tensors (MinkowskiEngine). The only MinkowskiEngine import.

Only visible pixels enter as coordinates, so masked patches are never computed. Coordinates are
built from the mask, never from non-zero feature values (a visible pixel may be exactly zero).
Convolution kernels are the tokenizer's own ``nn.Conv2d`` weights, re-laid out on the fly, so both
backends share one set of parameters and one checkpoint format.
"""
import warnings

import torch

try:
    with warnings.catch_warnings():  # "compiled with CPU_ONLY" is expected on CPU hosts
        warnings.filterwarnings('ignore', message='The MinkowskiEngine was compiled with CPU_ONLY')
        import MinkowskiEngine as ME
    from MinkowskiEngineBackend._C import ConvolutionMode
except ImportError as err:  # pragma: no cover - exercised only where ME is absent
    raise ImportError(
        "The SCOTT tokenizer backend 'minkowski' needs MinkowskiEngine, which is not importable "
        f'here ({err}). Build and install it with `bash tools/install_minkowski.sh "$(which '
        "python)\"` (see README), or set backend='dense' in the model config.") from err

from .dense import DenseMaskedBackend, expand_mask

DIMENSION = 2  # coordinates are (batch, row, col)


def conv2d_weight_to_kernel(weight: torch.Tensor) -> torch.Tensor:
    """(Cout, Cin, k, k) ``nn.Conv2d`` weight -> (k*k, Cin, Cout) MinkowskiEngine kernel.

    MinkowskiEngine enumerates kernel offsets with the first spatial axis (rows here) fastest.
    """
    cout, cin, kh, kw = weight.shape
    return weight.permute(3, 2, 1, 0).reshape(kh * kw, cin, cout)


def sparse_conv(x: 'ME.SparseTensor', weight: torch.Tensor, stride: int) -> 'ME.SparseTensor':
    """Sparse convolution with 'same' padding whose outputs sit on the input's (strided) sites."""
    generator = ME.KernelGenerator(kernel_size=weight.shape[-1], stride=stride, dilation=1,
                                   dimension=DIMENSION)
    out_key = ME.CoordinateMapKey(x.coordinate_map_key.get_coordinate_size())
    feats = ME.MinkowskiConvolutionFunction.apply(
        x.F, conv2d_weight_to_kernel(weight), generator, ConvolutionMode.DEFAULT,
        x.coordinate_map_key, out_key, x.coordinate_manager)
    return ME.SparseTensor(feats, coordinate_map_key=out_key,
                           coordinate_manager=x.coordinate_manager)


def sparse_max_blur_pool(x: 'ME.SparseTensor', blur_kernel: torch.Tensor,
                         stride: int) -> 'ME.SparseTensor':
    """2x2/s1 max over existing neighbours, then the fixed 3x3 binomial blur with ``stride``."""
    x = ME.MinkowskiMaxPooling(kernel_size=2, stride=1, dimension=DIMENSION)(x)
    channels = x.F.shape[1]
    blur = ME.MinkowskiChannelwiseConvolution(channels, kernel_size=3, stride=stride,
                                              dimension=DIMENSION).to(x.F.device)
    blur.kernel.requires_grad_(False)
    # The binomial kernel is symmetric, so the order of kernel offsets does not matter.
    blur.kernel.copy_(blur_kernel.reshape(9, 1).to(x.F.dtype).expand(9, channels))
    return blur(x)


class MinkowskiBackend:
    """Runs a :class:`SCOTTTokenizer` at visible sites only: the stem masked-dense, the rest on
    MinkowskiEngine sparse tensors.

    The stem (conv1 3->64 + ReLU + MaxBlurPool) holds ~11% of the tokenizer's FLOPs but, with 3
    input channels over every visible pixel, was most of MinkowskiEngine's time (memory-bound
    gathers per kernel offset); from stride 4 on, sparse tensors pay. Both halves compute the
    strict sparse semantics, so the result equals the all-sparse and the dense backends.
    """

    name = 'minkowski'

    @staticmethod
    def forward(tokenizer, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) image, (B, h, w) visible tokens -> (B, D, h, w), zero at masked tokens."""
        B = x.shape[0]
        h, w = visible.shape[-2:]
        stem = DenseMaskedBackend.forward(tokenizer, x, visible, stages=(0,))
        stem_stride = tokenizer.strides[0] * tokenizer.strides[1]
        # MinkowskiEngine has no half-precision CPU kernels: the sparse stack runs in fp32.
        with torch.autocast(device_type=x.device.type, enabled=False):
            sites = expand_mask(visible, stem.shape[-2:])[:, 0].bool()
            coords = sites.nonzero().int()  # (N, 3): batch, row, col on the stem's grid
            coords[:, 1:] *= stem_stride  # MinkowskiEngine coordinates are in input pixels
            feats = stem.permute(0, 2, 3, 1)[sites].float().contiguous()
            manager = ME.CoordinateManager(D=DIMENSION, coordinate_map_type=(
                ME.CoordinateMapType.CUDA if x.is_cuda else ME.CoordinateMapType.CPU))
            s = ME.SparseTensor(feats, coordinates=coords.contiguous(), tensor_stride=stem_stride,
                                coordinate_manager=manager)
            s = sparse_conv(s, tokenizer.conv2.weight.float(), tokenizer.strides[2])
            s = ME.MinkowskiReLU()(s)
            s = sparse_max_blur_pool(s, tokenizer.blur_kernel, tokenizer.strides[3])

            # Scatter the visible tokens back onto the dense (B, D, h, w) grid.
            out_coords = s.C.long()
            patch = tokenizer.patch_size
            out = s.F.new_zeros(B, h, w, s.F.shape[1])
            out[out_coords[:, 0], out_coords[:, 1] // patch, out_coords[:, 2] // patch] = s.F
        return out.permute(0, 3, 1, 2).to(x.dtype)
