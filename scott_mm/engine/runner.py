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
- ``IterBasedTrainLoop`` draws its batches from a ``BatchStream`` (batch_stream.py): no 2 s
  sleep at every epoch end when workers persist, and ``resume`` seeks to the next batch instead
  of loading every batch already trained.
- Every checkpoint is read by ``read_checkpoint`` (checkpoint_files.py): a file that is not a
  whole checkpoint, or one refused by the weights-only loader, stops with one message naming it.
- ``tools/test.py`` (any run that only evaluates) and ``--resume`` load weights only when they
  fit the model exactly (checkpoint_fit.py); mmengine would log warnings and score a random
  model, or fail later inside torch's optimizer.
- ``--resume`` without a path falls back to the latest loadable ``*.pth`` when
  ``last_checkpoint`` is missing (resume_checkpoint.py), and says what the config changes
  (resume_changes.py): another learning rate, a training set of another size, a
  ``max_epochs`` already behind the checkpoint (an error).
- An epoch without a batch and non-numeric optimizer settings fail with the key named
  (config_checks.py).
- ``default_hooks.<name>=None`` removes any default hook, also those mmengine does not know of
  (``rng_state``, ``nonfinite_loss``); mmengine 0.10.7 fails an assertion on them.
- ``from_cfg`` fills in the ``'{data_root}'`` / ``'{num_classes}'`` placeholders of the own-data
  configs from the top-level keys (``config_variables.py``).
- Every Runner after the first in a process gets an experiment name of its own. mmengine names
  the logger and visualizer ``<config>_<second>`` and reuses an existing instance of that name:
  a second run of the same config started within the same second logged into the first run's
  files (the benchmarks and tests train several runs in one process).

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
import os.path as osp
import pickle
import re
from collections import OrderedDict

import torch
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from ..registry import RUNNERS
from .batch_stream import BatchStream, seeded_sampler
from .checkpoint_files import read_checkpoint, state_dict_of
from .checkpoint_fit import check_optimizer_fits, load_exactly
from .checkpoint_globals import refusal
from .config_checks import check_epoch_has_batches, check_optimizer
from .config_variables import fill_config_variables
from .resume_changes import (DATASET_SIZE, EPOCH_LENGTH, base_hyper_parameters,
                             changed_hyper_parameters, changed_training_set, nothing_left)
from .resume_checkpoint import RESUME_NEEDS, find_resume_checkpoint
from .seeded_data import with_per_sample_seeds


MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                          'checkpoint')
ADVICE = {
    'evaluate': ('Evaluate a checkpoint written by training this config (e.g. its best_*.pth '
                 'or epoch_*.pth) with the model settings it was trained with (arch, img_size, '
                 'patch_size, ...). A MIM-JEPA pretraining checkpoint goes into a probe config '
                 'as model.backbone.init_cfg.checkpoint (train the probe first), or into a '
                 'knn_*.py config.'),
    'resume': ('--resume needs a checkpoint of this same model: resume with the config it was '
               'trained with, or train this config in another --work-dir.'),
}


def _revised(state_dict, revise_keys):
    """mmengine's key rewriting of ``load_checkpoint`` (by default: drop DDP's ``module.``)."""
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict((re.sub(pattern, replacement, k), v)
                                 for k, v in state_dict.items())
    return state_dict


@RUNNERS.register_module()
class ScottRunner(Runner):
    """Same arguments as mmengine's ``Runner``."""

    _checkpoint_use = None  # 'resume' / 'evaluate' while loading a checkpoint for that
    _runs_in_process = 0

    @classmethod
    def from_cfg(cls, cfg) -> 'ScottRunner':
        ScottRunner._runs_in_process += 1
        if cfg.get('experiment_name') is None and ScottRunner._runs_in_process > 1:
            stem = osp.splitext(osp.basename(cfg.filename or 'run'))[0]
            cfg.experiment_name = f'{stem}_run{ScottRunner._runs_in_process}'
        return super().from_cfg(fill_config_variables(cfg))

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
        loop = super().build_train_loop(loop)
        check_epoch_has_batches(loop.dataloader)
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = BatchStream(loop.dataloader)
        self.message_hub.update_info(DATASET_SIZE, len(loop.dataloader.dataset))
        self.message_hub.update_info(EPOCH_LENGTH, len(loop.dataloader))
        return loop

    def build_optim_wrapper(self, optim_wrapper):
        if isinstance(optim_wrapper, dict):
            check_optimizer(optim_wrapper)
        return super().build_optim_wrapper(optim_wrapper)

    def load_or_resume(self) -> None:
        """mmengine's, but auto-resume finds checkpoints without ``last_checkpoint`` too, and a
        run that only evaluates loads its checkpoint only if it fits the model exactly."""
        if self._has_loaded:
            return
        if self._resume:
            path = self._load_from or find_resume_checkpoint(self.work_dir, self.logger)
            if path is not None:
                self.resume(path)
            return
        if self._load_from is not None:
            evaluating = not isinstance(self._train_loop, BaseLoop)
            self._checkpoint_use = 'evaluate' if evaluating else None
            try:
                self.load_checkpoint(self._load_from)
            finally:
                self._checkpoint_use = None

    def resume(self, filename, *args, **kwargs) -> None:
        """mmengine's, loading exactly, then: what the config changes, whether anything is
        left to train, and where in the interrupted epoch to continue."""
        loop, hub = self.train_loop, self.message_hub
        optimizer = getattr(self.optim_wrapper, 'optimizer', None)
        configured = base_hyper_parameters(optimizer) if optimizer is not None else []
        size, length = hub.pop_info(DATASET_SIZE), hub.pop_info(EPOCH_LENGTH)
        self._checkpoint_use = 'resume'
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._checkpoint_use = None
        recorded_size, recorded_length = hub.get_info(DATASET_SIZE), hub.get_info(EPOCH_LENGTH)
        if size is not None:
            hub.update_info(DATASET_SIZE, size)
            hub.update_info(EPOCH_LENGTH, length)
        if optimizer is not None:
            for line in changed_hyper_parameters(configured, base_hyper_parameters(optimizer),
                                                 filename):
                self.logger.warning(line)
        if isinstance(loop, IterBasedTrainLoop):
            if loop.iter > loop.max_iters:
                raise ValueError(f'{filename} was written at iteration {loop.iter}, but '
                                 f'train_cfg.max_iters={loop.max_iters}: there is nothing left '
                                 'to train.')
            stream = loop.dataloader_iterator
            if isinstance(stream, BatchStream) and stream.seek(loop.iter):
                epoch, into = divmod(loop.iter, len(loop.dataloader))
                self.logger.info(f'Continuing at batch {into + 1} of epoch {epoch + 1} of the '
                                 f'training data, without loading the {loop.iter} batches '
                                 'already trained.')
            return  # otherwise IterBasedTrainLoop loads the trained batches again to skip them
        if isinstance(loop, EpochBasedTrainLoop):
            self._continue_epoch(loop, filename, recorded_size, recorded_length)

    def _continue_epoch(self, loop, filename, recorded_size, recorded_length) -> None:
        """Skip the batches of the interrupted epoch that the checkpoint has trained."""
        loader = loop.dataloader
        changed = changed_training_set(recorded_size, recorded_length, len(loader.dataset),
                                       len(loader), filename)
        if changed:
            self.logger.warning(changed)
        # batches of this epoch already trained, counted in the epoch length of the checkpoint
        length = recorded_length or len(loader)
        done = max(loop.iter - loop.epoch * length, 0)
        if recorded_length is None and done > len(loader):  # an older checkpoint, less data
            self.logger.warning(f'{filename} was written {done} batches into epoch '
                                f'{loop.epoch + 1}, more than an epoch has now: the training '
                                'set changed; the epoch restarts at its first batch.')
            return
        # an iteration checkpoint written at the last batch of an epoch closes that epoch
        epoch, into = loop.epoch + done // length, done % length
        error = nothing_left(epoch, into, loop.max_epochs, loop.iter, filename)
        if error:
            raise ValueError(error)
        if epoch == loop.max_epochs and into == 0:
            self.logger.warning(f'{filename} is the end of training (train_cfg.max_epochs='
                                f'{loop.max_epochs}): nothing left to train.')
        if done == 0:
            return
        if into == 0:  # the epoch is complete; only its end (epoch hooks) is left to run
            done = len(loader)
        elif changed:
            self.logger.warning(f'Epoch {loop.epoch + 1} was {done} batches in when the '
                                'checkpoint was written; with the changed training set it '
                                'restarts at its first batch.')
            return
        sampler = seeded_sampler(loader)
        if sampler is None or loader.batch_size is None:
            self.logger.warning(f'Resuming {done} batches into epoch {loop.epoch + 1} with a '
                                'custom sampler or batch sampler: the epoch restarts at its '
                                'first batch.')
            return
        sampler.skip_next(done * loader.batch_size)
        self.logger.info(f'Continuing epoch {loop.epoch + 1} after its first {done} batches.')

    def load_checkpoint(self, filename, map_location='cpu', strict=False,
                        revise_keys=[(r'^module.', '')]):  # noqa: B006  (mmengine's default)
        """mmengine's, reading local files with :func:`read_checkpoint`, and loading exactly
        (:func:`load_exactly`) with ``strict=True``, on resume and in evaluation-only runs."""
        if '://' in str(filename):  # URLs and other backends: mmengine's loaders
            try:
                return super().load_checkpoint(filename, map_location, strict, revise_keys)
            except pickle.UnpicklingError as err:
                refused = refusal(filename, err)
                if refused is err:
                    raise
                raise refused from err
        use = self._checkpoint_use
        checkpoint = read_checkpoint(filename, map_location,
                                     need=RESUME_NEEDS if use == 'resume' else ())
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if use is None and not strict:
            _load_checkpoint_to_model(model, checkpoint, False, revise_keys=revise_keys)
        else:
            load_exactly(model, _revised(state_dict_of(checkpoint), revise_keys), filename,
                         ADVICE.get(use, ADVICE['evaluate']))
            if (use == 'resume' and 'optimizer' in checkpoint
                    and isinstance(self.optim_wrapper, OptimWrapper)):
                check_optimizer_fits(checkpoint['optimizer'], self.optim_wrapper.optimizer,
                                     filename)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
