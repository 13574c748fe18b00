"""Loading a checkpoint's weights into a model only when they fit it exactly.

mmengine loads ``load_from`` with ``strict=False``: weights that do not fit (a MIM-JEPA
pretraining checkpoint into a probe, a D=384 checkpoint into a D=192 model) only log warnings,
and ``tools/test.py`` then scores a random model. On ``--resume`` the mismatch surfaces later,
deep in torch's optimizer (``The size of tensor a (64) must match ...``). ``ScottRunner`` uses
:func:`load_exactly` for evaluation and resume, and :func:`check_optimizer_fits` before the
optimizer state is restored, so both say which parameters differ.
"""
from collections import defaultdict
from typing import Iterable, List

import torch.nn as nn


class CheckpointMismatchError(ValueError):
    """A checkpoint whose weights (or optimizer state) do not fit the model of the config."""


def _grouped(keys: Iterable[str], shown: int = 3) -> str:
    """``head.* (2: head.fc.weight, head.fc.bias), neck.* (24: ...)``: by top-level module."""
    groups = defaultdict(list)
    for key in keys:
        groups[key.split('.')[0]].append(key)
    return ', '.join(f'{top}.* ({len(names)}: {", ".join(names[:shown])}'
                     f'{", ..." if len(names) > shown else ""})'
                     for top, names in sorted(groups.items()))


def describe_mismatch(path, model: nn.Module, missing: List[str], unexpected: List[str],
                      shapes: List[str], advice: str) -> str:
    lines = [f'{path} does not fit the model of this config ({type(model).__name__}):']
    if missing:
        lines.append(f'  missing from the checkpoint: {_grouped(missing)}')
    if unexpected:
        lines.append(f'  in the checkpoint but not in the model: {_grouped(unexpected)}')
    if shapes:
        more = f' and {len(shapes) - 4} more' if len(shapes) > 4 else ''
        lines.append(f'  different shapes ({len(shapes)}): {"; ".join(shapes[:4])}{more}')
    lines.append(f'  {advice}')
    return '\n'.join(lines)


def load_exactly(model: nn.Module, state_dict, path, advice: str) -> None:
    """Load ``state_dict`` into ``model``, or raise :class:`CheckpointMismatchError` listing the
    missing, unexpected and differently shaped keys. The model's own load hooks run (e.g.
    ``KNNClassifier`` picks its encoder out of a pretraining checkpoint)."""
    own = model.state_dict()
    shapes = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
              for k, v in state_dict.items() if k in own and v.shape != own[k].shape]
    if shapes:  # checked first: torch would stop at them with a message of its own
        raise CheckpointMismatchError(describe_mismatch(path, model, [], [], shapes, advice))
    result = model.load_state_dict(state_dict, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith('num_batches_tracked')]
    if missing or result.unexpected_keys:
        raise CheckpointMismatchError(describe_mismatch(path, model, missing,
                                                        result.unexpected_keys, [], advice))


def _groups(sizes: List[int]) -> str:
    shown = f', of sizes {sizes}' if len(sizes) <= 8 else ''
    return f'{len(sizes)} parameter group(s) holding {sum(sizes)} parameters{shown}'


def check_optimizer_fits(saved: dict, optimizer, path) -> None:
    """The saved optimizer state has the config optimizer's parameter groups, of the same sizes
    (they depend on the model and on ``optim_wrapper.paramwise_cfg``)."""
    saved_sizes = [len(g['params']) for g in saved.get('param_groups', [])]
    sizes = [len(g['params']) for g in optimizer.param_groups]
    if saved_sizes != sizes:
        raise CheckpointMismatchError(
            f'{path} holds optimizer state for {_groups(saved_sizes)}, but this config\'s '
            f'optimizer has {_groups(sizes)}: optim_wrapper.paramwise_cfg (or which parameters '
            'are trained) changed since the checkpoint was written. Resume with the config it '
            'was trained with, or start a new run from its weights: drop --resume and pass '
            f'--cfg-options load_from={path}.')
