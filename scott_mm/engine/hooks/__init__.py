"""Hooks that cannot live in the model. Importing registers them."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .learning_monitor_hook import LearningMonitorHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .rng_state_hook import RNGStateHook

__all__ = ['AtomicCheckpointHook', 'LearningMonitorHook', 'NonFiniteLossHook', 'RNGStateHook']
