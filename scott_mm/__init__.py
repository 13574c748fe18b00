"""scott_mm: SCOTT sparse convolutional tokenizer + MIM-JEPA for MMEngine / MMPretrain.

Importing the package registers every module into mmpretrain's registries and allow-lists the
few non-tensor objects mmengine checkpoints hold, so resume works with torch's weights_only=True.
"""
from .engine.checkpoint_globals import allow_mmengine_checkpoint_globals
from .version import __version__

allow_mmengine_checkpoint_globals()

from . import apis, datasets, engine, evaluation, models  # noqa: E402,F401  (registration side effects)

__all__ = ['__version__']
