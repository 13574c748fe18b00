"""The Runner scott_mm configs use (``runner_type='mmpretrain.ScottRunner'``): mmengine's, plus
what it takes for ``--resume`` after a kill to end with the same weights as a run never
interrupted.

- The training dataloader gives every sample its own augmentation seed (``seeded_data.py``),
  so augmentation does not depend on dataloader workers' RNG, which no checkpoint can hold.
- Every dataloader draws its worker base seed from a generator of its own, not from torch's
  global one: creating an iterator (every epoch, and once more on resume) no longer shifts the
  dropout / stochastic-depth stream that ``RNGStateHook`` saves and restores.
- ``resume`` from a mid-epoch (iteration) checkpoint continues that epoch where the checkpoint
  was taken. mmengine's ``EpochBasedTrainLoop`` would replay the whole epoch from its first
  batch, training on batches twice and running past ``max_iters``.
- Every checkpoint is read by ``read_checkpoint`` (checkpoint_files.py): a file that is not a
  whole checkpoint, or one refused by the weights-only loader, stops with one message naming it.
- ``default_hooks.<name>=None`` removes any default hook, also those mmengine does not know of
  (``rng_state``, ``nonfinite_loss``); mmengine 0.10.7 fails an assertion on them.

Bit-identical resume holds on CPU (tests/test_kill_resume.py; both tokenizer backends are
run-to-run repeatable there). It does not hold, though the resumed run is still a correct
continuation:
- On GPU, unless ``randomness=dict(seed=..., deterministic=True)`` (cuDNN then picks fixed
  algorithms instead of autotuning, and ``torch.use_deterministic_algorithms`` bans kernels that
  accumulate with atomics, e.g. in convolution and attention backward; it needs
  ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` in the environment). Even then only on the same GPU model,
  driver, CUDA / cuDNN / PyTorch versions and number of GPUs: kernels and the DDP all-reduce
  order change with them.
- With ``randomness.diff_rank_seed=True`` (only rank 0's random state is in the checkpoint), and
  when something draws from the global RNGs in the main process between a checkpoint and the
  next training iteration (e.g. a validation pipeline with random transforms and num_workers=0).
"""
import pickle

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from ..registry import RUNNERS
from .checkpoint_files import read_checkpoint
from .checkpoint_globals import refusal
from .seeded_data import SeededSampler, with_per_sample_seeds


MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                          'checkpoint')


def _seeded_sampler(loader):
    for sampler in (getattr(loader, 'sampler', None),
                    getattr(getattr(loader, 'batch_sampler', None), 'sampler', None)):
        if isinstance(sampler, SeededSampler):
            return sampler
    return None


@RUNNERS.register_module()
class ScottRunner(Runner):
    """Same arguments as mmengine's ``Runner``."""

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        loader = Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)
        if loader.generator is None:
            loader.generator = torch.Generator()
            if seed is not None:
                loader.generator.manual_seed(seed)
        return loader

    def register_default_hooks(self, hooks=None) -> None:
        if hooks is not None:
            hooks = {name: hook for name, hook in hooks.items()
                     if hook is not None or name in MMENGINE_DEFAULT_HOOKS}
        super().register_default_hooks(hooks)

    def build_train_loop(self, loop):
        if isinstance(self._train_dataloader, dict):
            self._train_dataloader = with_per_sample_seeds(self._train_dataloader)
        return super().build_train_loop(loop)

    def resume(self, filename, *args, **kwargs) -> None:
        super().resume(filename, *args, **kwargs)
        loop = self.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return  # IterBasedTrainLoop skips the consumed batches itself
        loader = loop.dataloader
        done = loop.iter - loop.epoch * len(loader)  # batches of this epoch already trained
        if done <= 0:
            return
        sampler = _seeded_sampler(loader)
        if sampler is None or loader.batch_size is None:
            self.logger.warning(f'Resuming {done} batches into epoch {loop.epoch + 1} with a '
                                'custom sampler or batch sampler: the epoch restarts at its '
                                'first batch.')
            return
        sampler.skip_next(done * loader.batch_size)
        self.logger.info(f'Continuing epoch {loop.epoch + 1} after its first {done} batches.')

    def load_checkpoint(self, filename, map_location='cpu', strict=False,
                        revise_keys=[(r'^module.', '')]):  # noqa: B006  (mmengine's default)
        """mmengine's, reading local files with :func:`read_checkpoint`."""
        if '://' in str(filename):  # URLs and other backends: mmengine's loaders
            try:
                return super().load_checkpoint(filename, map_location, strict, revise_keys)
            except pickle.UnpicklingError as err:
                refused = refusal(filename, err)
                if refused is err:
                    raise
                raise refused from err
        checkpoint = read_checkpoint(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
