"""The only file that names registries.

scott_mm registers into mmpretrain's registries so that configs with ``default_scope='mmpretrain'``
can mix our modules with mmpretrain's (heads, necks, classifiers, transforms, metrics).
"""
from mmpretrain.registry import (DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS,  # noqa: F401
                                 OPTIM_WRAPPERS, PARAM_SCHEDULERS, RUNNERS, TRANSFORMS)
