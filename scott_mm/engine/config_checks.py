"""Config values the Runner uses, checked where it builds from them, with the key named.

Otherwise they fail far from the key: a batch size above the dataset size with ``drop_last``
gives 0 batches an epoch and mmengine's "``epoch_length`` must be a positive integer, but got
0" from a parameter scheduler; ``optim_wrapper.optimizer.lr=abc`` a ``TypeError`` inside torch.
"""
import math
import numbers

NON_NEGATIVE = ('lr', 'weight_decay', 'momentum', 'dampening', 'eps', 'alpha')


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_optimizer(optim_wrapper: dict, key: str = 'optim_wrapper') -> None:
    """The optimizer's numeric settings are finite numbers (``betas``: two, each in [0, 1))."""
    optimizer = optim_wrapper.get('optimizer')
    if not isinstance(optimizer, dict):
        return  # a constructor that builds several optimizers checks its own
    for name in NON_NEGATIVE:
        value = optimizer.get(name)
        if value is not None and not (_is_number(value) and value >= 0):
            raise ValueError(f'{key}.optimizer.{name}={value!r} must be a number >= 0, e.g. '
                             f'--cfg-options {key}.optimizer.{name}=0.001')
    betas = optimizer.get('betas')
    if betas is not None and not (isinstance(betas, (list, tuple)) and len(betas) == 2 and
                                  all(_is_number(b) and 0 <= b < 1 for b in betas)):
        raise ValueError(f'{key}.optimizer.betas={betas!r} must be two numbers in [0, 1), e.g. '
                         f'--cfg-options "{key}.optimizer.betas=(0.9,0.999)"')


def check_epoch_has_batches(loader, key: str = 'train_dataloader') -> None:
    """An epoch of ``loader`` has at least one batch."""
    if len(loader) > 0:
        return
    size = len(loader.dataset)
    if size == 0:
        raise ValueError(f'{key}.dataset is empty: check its data_root, split, indices and '
                         'num_labels.')
    sampler = getattr(loader.batch_sampler, 'sampler', None) or loader.sampler
    per_process = len(sampler) if hasattr(sampler, '__len__') else size
    share = f' ({per_process} per process)' if per_process != size else ''
    raise ValueError(
        f'{key}.batch_size={loader.batch_size} > dataset size {size}{share} with '
        f'drop_last={loader.drop_last}: an epoch would have no batch. Lower '
        f'{key}.batch_size or set {key}.drop_last=False.')
