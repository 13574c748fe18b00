"""Runtime pieces: the checkpoint allow-list, the Runner and hooks for reliable training, and the
bfloat16 optimizer wrapper of ``--amp``."""
from .bf16_optim_wrapper import BF16OptimWrapper
from .checkpoint_globals import RefusedCheckpointError, allow_mmengine_checkpoint_globals
from .hooks import AtomicCheckpointHook, NonFiniteLossHook, RNGStateHook
from .runner import ScottRunner
from .seeded_data import SeededDataset, SeededSampler

__all__ = ['allow_mmengine_checkpoint_globals', 'BF16OptimWrapper', 'RefusedCheckpointError',
           'AtomicCheckpointHook', 'NonFiniteLossHook', 'RNGStateHook', 'ScottRunner',
           'SeededDataset', 'SeededSampler']
