"""Patch masks on the token grid for masked pretraining: ``results['mask']`` is a numpy bool
array of shape (h, w), True = masked (hidden from the context encoder).

Randomness. With ``seed=None`` (the default, use it for training) every draw builds a numpy
Generator seeded by one draw from numpy's global RNG, which scott_mm's Runner seeds around every
training sample from (seed, epoch, image index) (scott_mm/engine/seeded_data.py): runs are
reproducible from ``randomness=dict(seed=...)``, whatever the number of dataloader workers. An explicit ``seed`` gives the transform a private Generator instead:
reproducible on its own (tests, figures), but every dataloader worker would hold a copy of the
same stream and draw the same masks, so do not set it for training.
"""
import math

import numpy as np
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS


def _grid_size(input_size):
    if isinstance(input_size, int):
        input_size = (input_size, input_size)
    if len(input_size) != 2 or not all(isinstance(s, int) and s >= 1 for s in input_size):
        raise ValueError(f'input_size must be an int or (h, w) of ints >= 1, got {input_size!r}')
    return tuple(input_size)


def _num_masked(mask_ratio, num_patches, owner):
    """floor(ratio * N), robust to float error: 0.6 of 196 -> 117 masked, 79 visible (paper).

    At least one patch must be masked: the masked patches are what MIM-JEPA predicts, so with
    none the loss is 0 and nothing is learnt, silently.
    """
    if isinstance(mask_ratio, bool) or not isinstance(mask_ratio, (int, float)) \
            or not 0 < mask_ratio < 1:
        raise ValueError(f'{owner}: mask_ratio must be in (0, 1), the fraction of patches '
                         f'hidden and predicted, got {mask_ratio!r}'
                         + (' (nothing masked leaves nothing to predict: the loss would be 0)'
                            if mask_ratio == 0 else ''))
    num_masked = int(math.floor(mask_ratio * num_patches + 1e-9))
    if num_masked == 0:
        raise ValueError(f'{owner}: mask_ratio={mask_ratio} masks no patch of a grid of '
                         f'{num_patches} (nothing to predict); use at least {1 / num_patches:.3g}')
    return num_masked


def _check_range(name, value, low, high):
    """A (min, max) pair inside the open interval (low, high)."""
    if len(value) != 2 or not low < value[0] <= value[1] < high:
        raise ValueError(
            f'{name} must be (min, max) with {low} < min <= max < {high}, got {value!r}')
    return tuple(float(v) for v in value)


class _MaskGenerator(BaseTransform):
    """Shared grid, RNG and transform plumbing; subclasses implement ``generate(rng)``."""

    def __init__(self, input_size=(14, 14), seed=None):
        self.height, self.width = _grid_size(input_size)
        self.num_patches = self.height * self.width
        self.seed = seed
        self._own_rng = None if seed is None else np.random.default_rng(seed)

    def rng(self):
        if self._own_rng is not None:
            return self._own_rng
        return np.random.default_rng(np.random.randint(2**63 - 1))

    def generate(self, rng):
        raise NotImplementedError

    def transform(self, results):
        results['mask'] = self.generate(self.rng())
        return results

    def __repr__(self):
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.startswith('_'))
        return f'{type(self).__name__}({args})'


@TRANSFORMS.register_module()
class RandomMaskGenerator(_MaskGenerator):
    """Uniformly random patches, exactly ``floor(mask_ratio * h * w)`` of them."""

    def __init__(self, input_size=(14, 14), mask_ratio=0.6, seed=None):
        super().__init__(input_size, seed)
        self.mask_ratio = mask_ratio
        self.num_masked = _num_masked(mask_ratio, self.num_patches, type(self).__name__)

    def generate(self, rng):
        mask = np.zeros(self.num_patches, dtype=bool)
        mask[rng.choice(self.num_patches, self.num_masked, replace=False)] = True
        return mask.reshape(self.height, self.width)


@TRANSFORMS.register_module()
class BlockwiseMaskGenerator(_MaskGenerator):
    """BEiT-style blockwise mask with an exact masked count (the paper's default).

    One region of the grid is grown as a union of random rectangles ("blocks") of area
    >= ``min_num_patches`` and aspect ratio (h / w) log-uniform in ``aspect_ratio``, placed
    anywhere they fit (last row and column included). A block is accepted only if it adds
    between 1 and ``min(missing, max_num_patches)`` new patches, so the count never overshoots.
    After ``max_attempts`` failed proposals in a row (typically for the last few patches, which
    need a block that mostly overlaps the region) every allowed shape is tried; a draw where none
    fits is redrawn (see ``generate_blocks``).

    ``block_region='visible'`` grows the *visible* context as blocks and masks the rest: that is
    what the authors' code does (79 visible patches in blocks, 117 masked). ``'masked'`` grows
    the masked region as blocks (BEiT's original use).

    ``min_num_patches=None`` means 16 on a 14x14 grid and the same fraction of the grid on
    other grids (at least 1), so small grids (e.g. 8x8 for 128 px / stride 16) keep the
    block geometry relative to the image.
    """

    def __init__(self, input_size=(14, 14), mask_ratio=0.6, min_num_patches=None,
                 max_num_patches=None, aspect_ratio=(0.3, 1 / 0.3), block_region='visible',
                 max_attempts=10, max_restarts=10, seed=None):
        super().__init__(input_size, seed)
        if block_region not in ('visible', 'masked'):
            raise ValueError(f"block_region must be 'visible' or 'masked', got {block_region!r}")
        self.mask_ratio = mask_ratio
        self.block_region = block_region
        self.num_masked = _num_masked(mask_ratio, self.num_patches, type(self).__name__)
        self.region_size = (self.num_masked if block_region == 'masked'
                            else self.num_patches - self.num_masked)
        if min_num_patches is None:
            min_num_patches = max(1, round(16 * self.num_patches / 196))
        if self.region_size > 0 and not 1 <= min_num_patches <= self.region_size:
            raise ValueError(
                f'min_num_patches must be in [1, {self.region_size}] (the {block_region} '
                f'patches of a {self.height}x{self.width} grid at mask_ratio={mask_ratio}), '
                f'got {min_num_patches}')
        if max_num_patches is None:
            max_num_patches = max(self.region_size, min_num_patches)
        if max_num_patches < min_num_patches:
            raise ValueError(f'max_num_patches must be >= min_num_patches={min_num_patches}, '
                             f'got {max_num_patches}')
        self.min_num_patches = min_num_patches
        self.max_num_patches = max_num_patches
        self.aspect_ratio = _check_range('aspect_ratio', aspect_ratio, 0, math.inf)
        self.max_attempts = max_attempts
        self.max_restarts = max_restarts
        self._shapes = self._block_shapes()
        if self.region_size > 0 and not self._shapes:
            raise ValueError(
                f'input_size {self.height}x{self.width} is too small for blocks of area '
                f'[{min_num_patches}, {max_num_patches}] with aspect_ratio in {self.aspect_ratio}')

    def _block_shapes(self):
        """Every (h, w) a block may take: area within the limits, aspect ratio within range."""
        low, high = self.aspect_ratio
        areas = range(self.min_num_patches, self.max_num_patches + 1)
        return [(bh, bw) for bh in range(1, self.height + 1) for bw in range(1, self.width + 1)
                if low <= bh / bw <= high and bh * bw in areas]

    def _place(self, region, bh, bw, limit, rng):
        """A top-left position, uniform among those where the block adds 1..limit new patches."""
        # new patches for every top-left position at once, from an integral image of free cells
        free = np.zeros((self.height + 1, self.width + 1), dtype=np.intp)  # np.pad: 3x slower
        free[1:, 1:] = (~region).cumsum(0).cumsum(1)
        new = free[bh:, bw:] - free[:-bh, bw:] - free[bh:, :-bw] + free[:-bh, :-bw]
        fits = np.flatnonzero((new > 0) & (new <= limit))
        if fits.size == 0:
            return None
        return divmod(int(rng.choice(fits)), self.width - bw + 1)

    def _random_block(self, region, limit, rng):
        """BEiT's proposal: area uniform in [min, limit], log-uniform aspect ratio."""
        area = rng.uniform(self.min_num_patches, max(self.min_num_patches, limit))
        aspect = math.exp(rng.uniform(*np.log(self.aspect_ratio)))
        bh, bw = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if bh * bw < self.min_num_patches or bh > self.height or bw > self.width:
            return None
        pos = self._place(region, bh, bw, limit, rng)
        return None if pos is None else (*pos, bh, bw)

    def _any_block(self, region, limit, rng):
        """Rescue when random proposals keep failing (usually the last few patches): try every
        allowed shape in random order, so blocks stay >= min_num_patches whenever possible."""
        for i in rng.permutation(len(self._shapes)):
            bh, bw = self._shapes[i]
            pos = self._place(region, bh, bw, limit, rng)
            if pos is not None:
                return (*pos, bh, bw)
        return None

    def _grow(self, rng):
        """Add blocks until the region is complete; stop early if no allowed block fits."""
        region = np.zeros((self.height, self.width), dtype=bool)
        blocks = []
        missing = self.region_size
        while missing > 0:
            limit = min(missing, self.max_num_patches)
            for _ in range(self.max_attempts):
                block = self._random_block(region, limit, rng)
                if block is not None:
                    break
            else:
                block = self._any_block(region, limit, rng)
            if block is None:
                break
            top, left, bh, bw = block
            region[top:top + bh, left:left + bw] = True
            blocks.append(block)
            missing = self.region_size - int(region.sum())
        return region, blocks, missing

    def generate_blocks(self, rng):
        """The grown region (bool (h, w)) and its blocks as (top, left, height, width).

        A draw can dead-end (the last few patches fit no allowed block: ~6% of draws on the
        default grid); it is then redrawn, up to ``max_restarts`` times, so the region is a union
        of blocks of area >= min_num_patches. After that the last patches are single random ones.
        """
        for _ in range(self.max_restarts + 1):
            region, blocks, missing = self._grow(rng)
            if missing == 0:
                return region, blocks
        region.flat[rng.choice(np.flatnonzero(~region), missing, replace=False)] = True
        return region, blocks

    def generate(self, rng):
        region, _ = self.generate_blocks(rng)
        return region if self.block_region == 'masked' else ~region


@TRANSFORMS.register_module()
class MultiBlockMaskGenerator(_MaskGenerator):
    """I-JEPA-style target blocks: the union of ``num_blocks`` rectangles is masked.

    Each block independently: area = a fraction of the grid uniform in ``scale``, aspect ratio
    (h / w) uniform in ``aspect_ratio``, top-left uniform over every position where the block fits.
    Unlike I-JEPA's reference sampler (which never reaches the last row/column), every patch
    can be masked. The masked count varies from draw to draw (overlaps).
    """

    def __init__(self, input_size=(14, 14), num_blocks=4, scale=(0.15, 0.2),
                 aspect_ratio=(0.75, 1.5), seed=None):
        super().__init__(input_size, seed)
        if not (isinstance(num_blocks, int) and num_blocks >= 1):
            raise ValueError(f'num_blocks must be an int >= 1, got {num_blocks!r}')
        self.num_blocks = num_blocks
        self.scale = _check_range('scale', scale, 0, 1)
        self.aspect_ratio = _check_range('aspect_ratio', aspect_ratio, 0, math.inf)

    def generate(self, rng):
        mask = np.zeros((self.height, self.width), dtype=bool)
        for _ in range(self.num_blocks):
            area = rng.uniform(*self.scale) * self.num_patches
            aspect = rng.uniform(*self.aspect_ratio)
            bh = min(max(round(math.sqrt(area * aspect)), 1), self.height)
            bw = min(max(round(math.sqrt(area / aspect)), 1), self.width)
            top = rng.integers(0, self.height - bh + 1)
            left = rng.integers(0, self.width - bw + 1)
            mask[top:top + bh, left:left + bw] = True
        return mask
