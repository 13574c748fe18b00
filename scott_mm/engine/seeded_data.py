"""Training data whose random augmentation is a pure function of (seed, epoch, sample index).

Why: with mmengine's defaults the augmentation stream lives in the dataloader workers' global
RNGs, which a checkpoint cannot hold. Worse, ``worker_init_fn`` reseeds every worker with the
same seed each epoch (so epochs replay the same random draws), persistent workers restart from
that seed after ``--resume`` (so a resumed run replays epoch 1's draws), and with
``num_workers=0`` the transforms share the global RNG with dropout. Here the sampler tags every
index with its own seed and the dataset seeds the global RNGs with it just around that sample:
the crops, flips, colour jitter and masks of image ``i`` in epoch ``e`` are the same whatever
the number of workers, their persistence, the number of GPUs, a kill and a resume, or where in
the epoch it resumes. (An index that comes again within one pass, as from mmengine's
InfiniteSampler, gets a fresh seed each time: the seed also counts its repeats.)
"""
from collections import Counter

import numpy as np
from mmengine.dist import sync_random_seed
from torch.utils.data import Dataset, Sampler

from ..registry import DATA_SAMPLERS, DATASETS
from .rng_state import seeded_global_rngs


def sample_seed(seed: int, epoch: int, index: int, repeat: int = 0) -> int:
    """A well-mixed 32-bit seed for one draw of one sample in one epoch."""
    return int(np.random.SeedSequence([seed, epoch, index, repeat]).generate_state(1)[0])


class SeededIndex(int):
    """A dataset index (it *is* the int) that carries the seed of its augmentation."""

    def __new__(cls, index: int, seed: int):
        obj = super().__new__(cls, index)
        obj.seed = seed
        return obj

    def __reduce__(self):  # travels to dataloader workers through a pickle
        return SeededIndex, (int(self), self.seed)


@DATA_SAMPLERS.register_module()
class SeededSampler(Sampler):
    """Wraps any sampler; yields its indices as ``SeededIndex`` es.

    Args:
        dataset: passed on to the inner sampler when it is a config.
        sampler: the inner sampler or its config (e.g. ``dict(type='DefaultSampler')``).
        seed: the run's seed; by default the inner sampler's.
    """

    def __init__(self, dataset, sampler, seed=None):
        if isinstance(sampler, dict):
            sampler = DATA_SAMPLERS.build(sampler, default_args=dict(dataset=dataset, seed=seed))
        self.sampler = sampler
        inner_seed = getattr(sampler, 'seed', None)
        self.seed = inner_seed if inner_seed is not None else (
            seed if seed is not None else sync_random_seed())
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def skip_next(self, num_samples: int) -> None:
        """Start the next pass ``num_samples`` into the epoch (a resume mid-epoch)."""
        self._skip = num_samples

    def __iter__(self):
        skip, self._skip = self._skip, 0
        repeats = Counter()
        for position, index in enumerate(self.sampler):
            index = int(index)
            if position >= skip:
                yield SeededIndex(index, sample_seed(self.seed, self.epoch, index, repeats[index]))
            repeats[index] += 1

    def __len__(self):
        return len(self.sampler)


@DATASETS.register_module()
class SeededDataset(Dataset):
    """Wraps a dataset: ``dataset[SeededIndex(i, s)]`` runs the pipeline of sample ``i`` with
    the global RNGs seeded by ``s``; plain int indices pass straight through. Attributes
    (``metainfo``, ``full_init``, ...) are the wrapped dataset's."""

    def __init__(self, dataset):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        seed = getattr(index, 'seed', None)
        if seed is None:
            return self.dataset[index]
        with seeded_global_rngs(seed):
            return self.dataset[int(index)]

    def __getattr__(self, name):
        if name.startswith('__') or 'dataset' not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.dataset, name)


def _is(cfg_or_obj, cls) -> bool:
    if isinstance(cfg_or_obj, dict):
        return cfg_or_obj.get('type') in (cls.__name__, cls)
    return isinstance(cfg_or_obj, cls)


def with_per_sample_seeds(dataloader_cfg: dict) -> dict:
    """A dataloader config whose dataset and sampler are wrapped as above (idempotent)."""
    cfg = dict(dataloader_cfg)
    if not _is(cfg['dataset'], SeededDataset):
        cfg['dataset'] = dict(type='SeededDataset', dataset=cfg['dataset'])
    if not _is(cfg['sampler'], SeededSampler):
        cfg['sampler'] = dict(type='SeededSampler', sampler=cfg['sampler'])
    return cfg
