"""The batches of an iteration-based run (``IterBasedTrainLoop``), epoch after epoch.

mmengine's stream (``_InfiniteDataloaderIterator``) costs CPU runs time twice:
- it sleeps 2 s at every epoch end, a workaround for a deadlock when non-persistent workers are
  torn down (open-mmlab/mmcv#306). Our configs keep their workers, yet on 2,040 Flowers-102
  photos in batches of 32 the sleep comes every 63 iterations: 4-8 % of a CPU run;
- on ``--resume`` its loop finds its place by loading and augmenting every batch the checkpoint
  already trained: ~6 minutes before a run of the CPU recipe resumed at iteration 3,525 trained
  again (README, "Does pretraining learn?").
This stream sleeps only where that workaround applies, and seeks: with the per-sample seeds of
``seeded_data.py`` batch ``b`` of epoch ``e`` is known without loading the batches before it,
so a resumed run gets the very batches of a run never interrupted.
"""
import time

from .seeded_data import SeededSampler


def _sampler_with_epoch(loader):
    """The sampler whose ``set_epoch`` orders an epoch, as mmengine looks for it."""
    for sampler in (getattr(loader, 'sampler', None),
                    getattr(getattr(loader, 'batch_sampler', None), 'sampler', None)):
        if hasattr(sampler, 'set_epoch'):
            return sampler
    return None


def seeded_sampler(loader):
    """``loader``'s ``SeededSampler``, or None: only then is a batch known without the ones
    before it."""
    sampler = _sampler_with_epoch(loader)
    return sampler if isinstance(sampler, SeededSampler) else None


class BatchStream:
    """An endless iterator over ``dataloader``'s epochs, for ``IterBasedTrainLoop``.

    The first epoch starts at the first batch asked for (after ``before_train_epoch``, whose
    ``DistSamplerSeedHook`` resets the sampler's epoch), not when the loop is built.
    """

    def __init__(self, dataloader):
        self.dataloader = dataloader
        self.epoch = 0
        self._iterator = None
        self._skip_batches = 0   # batches of ``self.epoch`` a resumed run has trained
        self._replayed = 0       # next() calls of mmengine's resume replay still to answer

    def __iter__(self):
        return self

    def __next__(self):
        if self._replayed:
            self._replayed -= 1
            return None  # IterBasedTrainLoop.run discards what it replays
        if self._iterator is None:
            self._start_epoch()
        try:
            return next(self._iterator)
        except StopIteration:
            self.epoch += 1
            if self.dataloader.num_workers > 0 and not self.dataloader.persistent_workers:
                time.sleep(2)  # mmengine's workaround, where workers are torn down
            self._start_epoch()
            return next(self._iterator)

    def _start_epoch(self):
        sampler = _sampler_with_epoch(self.dataloader)
        if sampler is not None:
            sampler.set_epoch(self.epoch)
        if self._skip_batches:
            sampler.skip_next(self._skip_batches * self.dataloader.batch_size)
            self._skip_batches = 0
        self._iterator = iter(self.dataloader)

    def seek(self, iteration: int) -> bool:
        """Continue after ``iteration`` trained batches, without loading them. ``False`` (and
        nothing changed) where a batch's content depends on the batches before it: a sampler
        that is not a ``SeededSampler``, or a batch sampler."""
        loader = self.dataloader
        if seeded_sampler(loader) is None or not loader.batch_size:
            return False
        self.epoch, self._skip_batches = divmod(iteration, len(loader))
        self._iterator = None
        self._replayed = iteration
        return True
