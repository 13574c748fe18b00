"""Let mmengine checkpoints load with torch's safe ``weights_only=True`` unpickler.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine's checkpoints carry a few
non-tensor objects in their ``message_hub`` (``HistoryBuffer`` and the numpy arrays and scalars it
holds), so ``--resume`` fails out of the box. We allow-list exactly those globals and never turn
``weights_only`` off, so a checkpoint that needs anything else is still refused.

``getattr`` is on the list because ``HistoryBuffer.__getstate__`` stores its statistics methods,
which pickle as ``getattr(HistoryBuffer, 'mean')``. The weights-only unpickler only *calls*
allow-listed callables, so whatever getattr fetches can never be called.

``refusal`` rewrites torch's long weights-only error into one line that names the file and the
offending globals; ``read_checkpoint`` (checkpoint_files.py) uses it for every checkpoint
scott_mm reads, so ``--resume``, ``tools/test.py``, probes and feature extraction say the same.
"""
import builtins
import pickle
import re

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


class RefusedCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs a global that is not on the allow-list; says which, and why."""


def refusal(path: str, err: pickle.UnpicklingError) -> pickle.UnpicklingError:
    """Turn torch's weights-only failure for ``path`` into a ``RefusedCheckpointError`` naming
    the file and the offending globals. Any other unpickling error, including a weights-only
    failure that names no global (random bytes, a plain pickle: not a checkpoint at all, see
    checkpoint_files.py), is returned unchanged."""
    if 'Weights only load failed' not in str(err):
        return err
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # not a zip checkpoint, or unreadable: fall back to torch's message
        names = []
    names = names or list(dict.fromkeys(re.findall(r'GLOBAL ([\w.]+)', str(err))))
    if not names:
        return err
    return RefusedCheckpointError(
        f'Refusing to load {path}: it needs {", ".join(names)}, which is not on '
        "scott_mm's allow-list (scott_mm/engine/checkpoint_globals.py). scott_mm loads "
        'checkpoints with torch.load(weights_only=True) and refuses unknown globals on purpose: '
        'unpickling them can run arbitrary code. If you trust this file, allow exactly those '
        'globals with torch.serialization.add_safe_globals([...]) before loading it.')
