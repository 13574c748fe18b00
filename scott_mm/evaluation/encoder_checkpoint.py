"""Loading a frozen encoder from a pretraining checkpoint, or saying clearly why not.

mmengine's ``Pretrained`` init loads with ``strict=False``: a checkpoint whose keys do not fit
the backbone (wrong prefix, other arch) only logs a warning, and the probe then trains on a
*random* encoder. A missing checkpoint fails deep inside mmengine's loader. Both are checked
here first, with a message that names the config key and what to pass.
"""
import os
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from ..engine.checkpoint_files import CheckpointFileError, read_checkpoint, state_dict_of
from ..engine.checkpoint_globals import RefusedCheckpointError
from ..registry import HOOKS

CHECKPOINT_KEY = 'model.backbone.init_cfg.checkpoint'
PREFIX_KEY = 'model.backbone.init_cfg.prefix'
ENCODER_PREFIXES = {'backbone.': 'the context encoder, as in the paper',
                    'target_encoder.module.': 'the EMA target encoder'}


class EncoderCheckpointError(ValueError):
    """A checkpoint that cannot initialise the frozen encoder."""


def _prefix_help() -> str:
    return ', '.join(f"'{p}' ({what})" for p, what in ENCODER_PREFIXES.items())


def read_state_dict(checkpoint, key: str = CHECKPOINT_KEY,
                    how: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of a local checkpoint file (mmengine format or a bare state dict).
    ``key`` names the setting in errors, ``how`` says how to set it (default: for a config key)."""
    baseline = ''
    if how is None:
        how = (f'pass --cfg-options {key}=PATH with a MIM-JEPA checkpoint, e.g. '
               'work_dirs/<pretraining run>/epoch_300.pth')
        baseline = ' For the untrained-encoder baseline pass model.backbone.init_cfg=None instead.'
    if checkpoint is None or checkpoint == '':
        raise EncoderCheckpointError(f'{key} is not set: {how}.{baseline}')
    if not isinstance(checkpoint, (str, os.PathLike)) or not osp.isfile(checkpoint):
        raise EncoderCheckpointError(f'{key}={checkpoint!r} is not a file: {how}.')
    try:
        return state_dict_of(read_checkpoint(checkpoint))
    except (CheckpointFileError, RefusedCheckpointError) as e:  # the same words as --resume
        raise EncoderCheckpointError(f'{key}: {e}') from e


def select_encoder_weights(state: Dict[str, torch.Tensor], prefix: str, backbone: nn.Module,
                           source: str = 'the checkpoint', prefix_key: str = PREFIX_KEY,
                           prefix_how: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The entries of ``state`` under ``prefix``, prefix removed, checked to fit ``backbone``
    exactly (same keys, same shapes). ``prefix_how``: what to do about a wrong prefix."""
    picked = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not picked:
        tops = sorted({k.split('.')[0] + '.' for k in state})
        raise EncoderCheckpointError(
            f'{source} has no weights under the prefix {prefix!r} ({prefix_key}); its keys start '
            f'with {tops[:8]}. {prefix_how or f"Use {_prefix_help()}."}')
    expected = backbone.state_dict()
    missing = sorted(set(expected) - set(picked))
    unexpected = sorted(set(picked) - set(expected))
    shapes = [f'{k}: checkpoint {tuple(picked[k].shape)} vs backbone {tuple(v.shape)}'
              for k, v in expected.items() if k in picked and picked[k].shape != v.shape]
    if missing or unexpected or shapes:
        problems = [f'{name} ({len(items)}): {items[:4]}' for name, items in
                    (('missing', missing), ('unexpected', unexpected), ('shape', shapes)) if items]
        raise EncoderCheckpointError(
            f'the weights under {prefix!r} in {source} do not fit the config\'s backbone '
            f'({type(backbone).__name__}); ' + '; '.join(problems) + '. The backbone settings '
            '(arch, in_channels, stem_channels, patch_size) must match the pretraining config; '
            'the patch-8 and patch-4 tokenizer layouts changed with issue 15, so older '
            'checkpoints of those layouts need pretraining again.')
    return picked


def load_encoder(backbone: nn.Module, checkpoint, prefix: str = 'backbone.',
                 key: str = CHECKPOINT_KEY, prefix_key: str = PREFIX_KEY,
                 how: Optional[str] = None, prefix_how: Optional[str] = None) -> nn.Module:
    """Load ``checkpoint``'s weights under ``prefix`` into ``backbone`` strictly; ``key`` and
    ``prefix_key`` name the settings in error messages, ``how`` and ``prefix_how`` say what to do
    (defaults: for config keys)."""
    state = read_state_dict(checkpoint, key, how)
    weights = select_encoder_weights(state, prefix, backbone, source=repr(checkpoint),
                                     prefix_key=prefix_key, prefix_how=prefix_how)
    backbone.load_state_dict(weights, strict=True)
    return backbone


@HOOKS.register_module()
class PretrainedEncoderCheckHook(Hook):
    """Before training, check ``model.backbone``'s ``Pretrained`` init_cfg (file, prefix, keys).

    Runs in ``before_run``, i.e. before mmengine initialises weights, so a bad checkpoint stops
    the run at once with :class:`EncoderCheckpointError`. ``init_cfg=None`` (the untrained
    baseline) passes. Evaluation runs (tools/test.py) load the probe's own checkpoint and skip
    the check.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return  # test / val only: weights come from the evaluated checkpoint
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        init_cfg = getattr(backbone, 'init_cfg', None)
        if backbone is None or init_cfg is None:
            return
        for cfg in init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]:
            if cfg.get('type') == 'Pretrained':
                state = read_state_dict(cfg.get('checkpoint'))
                select_encoder_weights(state, cfg.get('prefix') or '', backbone,
                                       source=repr(cfg.get('checkpoint')))
