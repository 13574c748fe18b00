"""What a resume takes from the checkpoint and what the current config changes, said aloud.

mmengine restores the optimizer (its learning rate included) and the parameter schedules from
the checkpoint, whatever the config now says, and keeps going silently when the training set
changed size or when ``max_epochs`` is already behind the checkpoint (exit status 0, nothing
trained). These helpers compare the two and word the log lines and the error.
"""
from typing import List, Optional

# runtime info in the message hub, saved in every checkpoint: the training set a run saw
DATASET_SIZE = 'scott_train_dataset_size'
EPOCH_LENGTH = 'scott_train_epoch_length'
HYPER_PARAMETERS = ('lr', 'weight_decay')


def base_hyper_parameters(optimizer) -> List[dict]:
    """Per parameter group, the configured (unscheduled) lr and weight decay: schedulers keep
    them as ``initial_<name>`` while they change ``<name>``."""
    return [{name: group.get(f'initial_{name}', group.get(name)) for name in HYPER_PARAMETERS}
            for group in optimizer.param_groups]


def changed_hyper_parameters(config: List[dict], restored: List[dict], path) -> List[str]:
    """One line per hyper-parameter whose config value the checkpoint's overrides."""
    lines = []
    for name in HYPER_PARAMETERS:
        for index, (ours, theirs) in enumerate(zip(config, restored)):
            if ours[name] is not None and theirs[name] is not None and ours[name] != theirs[name]:
                lines.append(
                    f'optim_wrapper.optimizer.{name}: this config gives {ours[name]:g}, {path} '
                    f'was trained with {theirs[name]:g} (parameter group {index}); the resumed '
                    f'optimizer and its schedule continue with the checkpoint\'s {theirs[name]:g}.'
                    ' To train with the config\'s value, start a new run from these weights: '
                    f'drop --resume and pass --cfg-options load_from={path}.')
                break
    return lines


def changed_training_set(recorded_size: Optional[int], recorded_length: Optional[int],
                         size: int, length: int, path) -> Optional[str]:
    """A line when the training set (or its batches an epoch) differs from the checkpoint's."""
    if recorded_size is None or (recorded_size, recorded_length) == (size, length):
        return None
    return (f'The training set had {recorded_size} images ({recorded_length} batches an epoch) '
            f'when {path} was written and has {size} ({length}) now: the iteration counter '
            'goes on from the checkpoint, and schedules converted from epochs to iterations '
            'now use the new epoch length.')


def nothing_left(epoch: int, done: int, max_epochs: int, iteration: int, path) -> Optional[str]:
    """The error when ``train_cfg.max_epochs`` leaves nothing to train after the checkpoint;
    ``None`` when something is left or the run had finished exactly there."""
    if epoch < max_epochs or (epoch == max_epochs and done == 0):
        return None
    where = f'epoch {epoch}' if done == 0 else f'{done} batches into epoch {epoch + 1}'
    return (f'{path} was written after {where} (iteration {iteration}), but '
            f'train_cfg.max_epochs={max_epochs}: there is nothing left to train. Set '
            f'train_cfg.max_epochs above {epoch} to train further, or evaluate the checkpoint '
            'with tools/test.py.')
