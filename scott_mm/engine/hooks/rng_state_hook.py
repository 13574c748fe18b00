"""Save the global random streams in every checkpoint and put them back on ``--resume``.

mmengine 0.10.7 saves only the seed, so a resumed run draws different dropout and
stochastic-depth masks than the run it continues. With this hook (and ``ScottRunner``, whose
dataloaders keep their own generators and give every sample its own augmentation seed) a
resumed run continues bit for bit on CPU.

The state is restored at ``before_train``, i.e. after the resume and after everything the
Runner sets up, and only when resuming (the run's iteration equals the checkpoint's), never
for ``load_from`` (fine-tuning from a checkpoint starts its own streams).

Limits: only rank 0 writes checkpoints, so all ranks resume with rank 0's streams; that is
exact with mmengine's default ``diff_rank_seed=False`` (all ranks draw the same streams) and
not with ``diff_rank_seed=True``. Draws made between the save and the next training iteration
(a validation loop whose transforms draw in the main process) are not replayed.
"""
from mmengine.hooks import Hook

from ...registry import HOOKS
from ..rng_state import global_rng_state, set_global_rng_state

KEY = 'rng_state'


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Adds ``checkpoint['rng_state']`` (Python, numpy, torch CPU and CUDA generators)."""

    def __init__(self):
        self._resumed = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[KEY] = global_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if KEY in checkpoint:
            self._resumed = (checkpoint.get('meta', {}).get('iter'), checkpoint[KEY])

    def before_train(self, runner) -> None:
        if self._resumed is not None and self._resumed[0] == runner.iter and runner.iter > 0:
            set_global_rng_state(self._resumed[1])
            runner.logger.info(f'Restored the random number generators of iteration {runner.iter}.')
        self._resumed = None
