"""Let mmengine checkpoints load with torch's safe ``weights_only=True`` unpickler.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine's checkpoints carry a few
non-tensor objects in their ``message_hub`` (``HistoryBuffer`` and the numpy arrays and scalars it
holds), so ``--resume`` fails out of the box. We allow-list exactly those globals and never turn
``weights_only`` off, so a checkpoint that needs anything else is still refused.

``getattr`` is on the list because ``HistoryBuffer.__getstate__`` stores its statistics methods,
which pickle as ``getattr(HistoryBuffer, 'mean')``. The weights-only unpickler only *calls*
allow-listed callables, so whatever getattr fetches can never be called.
"""
import builtins

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

try:  # numpy >= 2 pickles arrays and scalars through numpy._core
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar

NUMPY_DTYPE_CLASSES = [type(np.dtype(name)) for name in
                       ('float64', 'float32', 'float16', 'int64', 'int32', 'uint8', 'bool')]

MMENGINE_CHECKPOINT_GLOBALS = [HistoryBuffer, builtins.getattr, _reconstruct, scalar,
                               np.ndarray, np.dtype, *NUMPY_DTYPE_CLASSES]


def allow_mmengine_checkpoint_globals():
    """Register the allow-list with torch (idempotent)."""
    torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)
