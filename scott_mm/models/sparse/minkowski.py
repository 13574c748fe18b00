"""The SCOTT tokenizer at visible sites only, on MinkowskiEngine coordinate maps. The only
MinkowskiEngine import.

Only visible sites exist: masked patches are never computed. Coordinates are built from the mask,
never from non-zero feature values (a visible pixel may be exactly zero). MinkowskiEngine does the
sparse bookkeeping: it hashes the active coordinates, derives the strided coordinate maps and
finds every (input, output) pair per kernel offset (its kernel maps). The arithmetic on those maps
is ours (``site_ops``): one implicit GEMM per convolution instead of MinkowskiEngine's K separate
gather-GEMM-scatter passes, which on CPU were slower than computing the masked image densely
(issue #9). Kernels are the tokenizer's own ``nn.Conv2d`` weights, re-laid out on the fly, so both
backends share one set of parameters and one checkpoint format.

On a GPU the maps are integer bookkeeping on a few thousand sites: without a CUDA build of
MinkowskiEngine (upstream does not build for CUDA 12/13) they are built on the CPU and their
neighbour tables go to the GPU in one copy per batch, where ``site_ops`` does the arithmetic.
With a CUDA build, MinkowskiEngine builds them on the GPU itself. Under autocast (``--amp``) the
convolutions' GEMMs run in the autocast dtype; everything else stays fp32 (see ``site_ops``).
"""
import warnings

import torch
import torch.nn.functional as F

try:
    with warnings.catch_warnings():  # "compiled with CPU_ONLY" is expected on CPU hosts
        warnings.filterwarnings('ignore', message='The MinkowskiEngine was compiled with CPU_ONLY')
        import MinkowskiEngine as ME
except ImportError as err:  # pragma: no cover - exercised only where ME is absent
    raise ImportError(
        "The SCOTT tokenizer backend 'minkowski' needs MinkowskiEngine, which is not importable "
        f'here ({err}). Build and install it with `bash tools/install_minkowski.sh "$(which '
        "python)\"` (see README), or set backend='dense' in the model config.") from err

from .dense import expand_mask
from .site_ops import site_conv, site_filter, site_max_pool

DIMENSION = 2  # coordinates are (batch, row, col)


def bookkeeping_device(device: torch.device) -> torch.device:
    """Where MinkowskiEngine builds the coordinate and kernel maps for inputs on ``device``:
    there if it is a GPU and MinkowskiEngine was built with CUDA, else on the CPU."""
    return device if device.type == 'cuda' and ME.is_cuda_available() else torch.device('cpu')


def to_device(tensors, device: torch.device):
    """The integer ``tensors`` on ``device``, moved in one host-to-device copy."""
    if all(t.device == device for t in tensors):
        return list(tensors)
    flat = torch.cat([t.reshape(-1) for t in tensors]).to(device)
    return [part.view(t.shape) for part, t in zip(flat.split([t.numel() for t in tensors]),
                                                   tensors)]


def gemm_dtype(device: torch.device) -> torch.dtype:
    """The dtype autocast gives convolutions on ``device`` here, fp32 outside autocast."""
    if torch.is_autocast_enabled(device.type):
        return torch.get_autocast_dtype(device.type)
    return torch.float32


def conv2d_weight_to_kernel(weight: torch.Tensor) -> torch.Tensor:
    """(Cout, Cin, k, k) ``nn.Conv2d`` weight -> (k*k, Cin, Cout) MinkowskiEngine kernel.

    MinkowskiEngine enumerates kernel offsets with the first spatial axis (rows here) fastest.
    """
    cout, cin, kh, kw = weight.shape
    return weight.permute(3, 2, 1, 0).reshape(kh * kw, cin, cout)


class SparseLevels:
    """The active sites of one batch at each resolution, and the neighbour tables between them,
    from MinkowskiEngine's coordinate manager (see ``site_ops`` for the table format)."""

    def __init__(self, coords: torch.Tensor, tensor_stride: int):
        self.manager = ME.CoordinateManager(D=DIMENSION, coordinate_map_type=(
            ME.CoordinateMapType.CUDA if coords.is_cuda else ME.CoordinateMapType.CPU))
        self.key, (unique, _) = self.manager.insert_and_map(coords, tensor_stride=tensor_stride)
        self.first_coords = coords[unique.long()]  # MinkowskiEngine's row order

    def step(self, kernel_size: int, stride: int) -> torch.Tensor:
        """Move to the next resolution (``stride`` 1: the same sites); return the (N_out, K)
        table of a ``kernel_size`` window from the current sites to the new ones. Odd windows
        are centred on the output site (a dense conv with padding k // 2); the 2x2 window reads
        offsets 0 and +1 (a max-pool padded right and bottom)."""
        out_key = self.manager.stride(self.key, stride) if stride > 1 else self.key
        n_in, n_out = self.manager.size(self.key), self.manager.size(out_key)
        pairs = self.manager.kernel_map(self.key, out_key, stride=stride,
                                        kernel_size=kernel_size)
        volume = kernel_size ** DIMENSION
        table = torch.full((n_out * volume,), n_in, dtype=torch.long,
                           device=self.first_coords.device)
        if pairs:  # one scatter for all offsets: per-offset writes cost ~100x more
            cells = torch.cat([rows_out.long() * volume + offset
                               for offset, (_, rows_out) in pairs.items()])
            table[cells] = torch.cat([rows_in.long() for rows_in, _ in pairs.values()])
        table = table.view(n_out, volume)
        self.key = out_key
        return table

    def coords(self) -> torch.Tensor:
        """(N, 3) coordinates of the current sites, in input pixels."""
        return self.manager.get_coordinates(self.key)


def stem_conv_at_sites(conv, image: torch.Tensor, sites: torch.Tensor, stride: int,
                       dtype=torch.float32):
    """conv1 (odd kernel, padding k // 2, any stride) evaluated only at the given output sites
    ((N, 3) batch, row, col on its grid) of the masked image. The image is dense, so no kernel
    map is needed: each site's k x k window is k rows of a (k * Cin)-wide strip table, gathered
    with ``index_select`` (faster than indexing a 6-D window view). The GEMM runs in ``dtype``,
    the result is fp32."""
    k = conv.kernel_size[0]
    padded = F.pad(image.to(dtype), [k // 2] * 4).permute(0, 2, 3, 1)  # (B, Hp, Wp, Cin)
    B, Hp, Wp, C = padded.shape
    Wo = (Wp - k) // stride + 1
    strips = padded.unfold(2, k, stride).transpose(3, 4).reshape(-1, k * C)  # (B*Hp*Wo, (dx, c))
    b, row, col = sites.unbind(1)
    first = (b * Hp + row * stride) * Wo + col
    rows = (first[:, None] + torch.arange(k, device=sites.device) * Wo).reshape(-1)
    cols = strips.index_select(0, rows).view(len(sites), -1)  # (N, (dy, dx, c))
    weight = conv.weight.to(dtype).permute(0, 2, 3, 1).reshape(conv.out_channels, -1)
    return (cols @ weight.t()).float()


class MinkowskiBackend:
    """Runs a :class:`SCOTTTokenizer` at visible sites only (strict sparse semantics: pooling
    and filters see existing neighbours only), equal to the masked dense backend there."""

    name = 'minkowski'

    @staticmethod
    def forward(tokenizer, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) image, (B, h, w) visible tokens -> (B, D, h, w), zero at masked tokens."""
        B = x.shape[0]
        h, w = visible.shape[-2:]
        s_conv1, s_pool1, s_conv2, s_pool2 = tokenizer.strides
        blur = conv2d_weight_to_kernel(tokenizer.blur_kernel).reshape(-1)
        dtype = gemm_dtype(x.device)
        # Only the GEMMs follow autocast: MinkowskiEngine has no half-precision coordinate
        # kernels and the gathers and index_add_ sums of site_ops are not autocast ops.
        with torch.autocast(device_type=x.device.type, enabled=False):
            image = x.float() * expand_mask(visible, x.shape[-2:])
            grid = (x.shape[-2] // s_conv1, x.shape[-1] // s_conv1)
            host = bookkeeping_device(x.device)
            coords = expand_mask(visible.to(host), grid)[:, 0].nonzero().int()
            coords[:, 1:] *= s_conv1  # MinkowskiEngine coordinates are in input pixels
            levels = SparseLevels(coords.contiguous(), s_conv1)
            sites = levels.first_coords.long()
            sites[:, 1:] //= s_conv1
            tables = [levels.step(2, 1), levels.step(3, s_pool1),
                      levels.step(tokenizer.conv2.kernel_size[0], s_conv2),
                      levels.step(2, 1), levels.step(3, s_pool2)]
            last = levels.coords().long()
            sites, last, *tables = to_device([sites, last, *tables], x.device)

            f = F.relu(stem_conv_at_sites(tokenizer.conv1, image, sites, s_conv1, dtype))
            f = site_max_pool(f, tables[0])
            f = site_filter(f, tables[1], blur)
            f = F.relu(site_conv(f, tables[2],
                                 conv2d_weight_to_kernel(tokenizer.conv2.weight.float()),
                                 dtype=dtype))
            f = site_max_pool(f, tables[3])
            f = site_filter(f, tables[4], blur)

            # Scatter the visible tokens back onto the dense (B, D, h, w) grid.
            patch = tokenizer.patch_size
            out = f.new_zeros(B, h, w, f.shape[1]).index_put(
                (last[:, 0], last[:, 1] // patch, last[:, 2] // patch), f)
        return out.permute(0, 3, 1, 2).to(x.dtype)
