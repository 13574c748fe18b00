"""Stop (or skip the step) when the loss or the gradients stop being finite numbers.

Without it a NaN loss turns every weight into NaN at the next optimizer step, training goes on
printing ``loss: nan``, and the next checkpoint saves the ruined state (deleting an older, good
one when ``max_keep_ckpts`` is reached). Two checks, both before anything is updated:
- after the model's forward in training: any non-finite ``*loss*`` term;
- right before ``optimizer.step()`` (a torch step pre-hook): non-finite gradients, which also
  catches a NaN loss on another DDP rank (gradients are all-reduced) and gradient overflow.

``action='raise'`` stops with a ``FloatingPointError`` that names the iteration, every term the
model returned (for MIM-JEPA: loss, target_std, target_rank, momentum) and the last checkpoint,
which is untouched because no checkpoint is written after the failing iteration.
``action='skip'`` drops that step's gradients instead (the optimizer then leaves the weights and
its moments as they were; schedules go on) and stops after ``max_consecutive_skips`` in a row.
Under AMP the loss scaler skips overflowing steps itself before this hook sees them.
Skipping needs one ``OptimWrapper``; with DDP, ``'raise'`` stops the failing rank and the others
wait for the collective timeout.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper

from ...registry import HOOKS

ACTIONS = ('raise', 'skip')


def _describe(terms: dict) -> str:
    def value(v):
        if isinstance(v, (list, tuple)):
            return '[' + ', '.join(value(x) for x in v) + ']'
        v = torch.as_tensor(v).detach().float()
        return f'{v.item():.6g}' if v.numel() == 1 else f'mean {v.mean().item():.6g}'
    return ', '.join(f'{k}={value(v)}' for k, v in terms.items())


def _detach(value):
    if isinstance(value, (list, tuple)):
        return [_detach(v) for v in value]
    return value.detach() if isinstance(value, torch.Tensor) else value


def _finite(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return bool(torch.isfinite(torch.as_tensor(value)).all())


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Args:
        action: 'raise' (default) or 'skip'.
        max_consecutive_skips: with 'skip', give up after this many skipped steps in a row
            (the weights themselves are probably non-finite by then).
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'raise', max_consecutive_skips: int = 10):
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook: action={action!r} is not one of {ACTIONS}.')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.skipped_steps = 0
        self._consecutive = 0
        self._terms = {}
        self._bad_loss = False
        self._handles = []

    def before_train(self, runner) -> None:
        self._runner = runner
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._handles.append(model.register_forward_hook(self._check_loss))
        optim_wrapper = runner.optim_wrapper
        if not isinstance(optim_wrapper, OptimWrapper):
            if self.action == 'skip':
                raise ValueError("NonFiniteLossHook: action='skip' needs a single OptimWrapper, "
                                 f'got {type(optim_wrapper).__name__}; use action=\'raise\'.')
            return
        self._handles.append(optim_wrapper.optimizer.register_step_pre_hook(self._check_grads))

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _where(self) -> str:
        runner = self._runner
        return (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
                f'{_describe(self._terms)}')

    def _stop(self, what: str):
        last = self._runner.message_hub.get_info('last_ckpt')
        message = (f'{what} at {self._where()}. Training stopped before the '
                   'optimizer step, so no weight and no checkpoint holds this state; '
                   f'the last checkpoint is {last or "(none yet)"}. To skip such steps '
                   "instead, set default_hooks.nonfinite_loss.action='skip'.")
        self._runner.logger.error(message)
        raise FloatingPointError(message)

    def _check_loss(self, module, args, output) -> None:
        if not (module.training and isinstance(output, dict)):
            return
        self._terms = {k: _detach(v) for k, v in output.items()}  # described only if needed
        self._bad_loss = not all(_finite(v) for k, v in output.items() if 'loss' in k)
        if not self._bad_loss:
            return
        if self.action == 'raise':
            self._stop('Non-finite loss')
        self._runner.logger.warning(f'Non-finite loss at {self._where()}; '
                                    'skipping the optimizer step.')

    def _check_grads(self, optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group['params']
                 if p.grad is not None]
        if not self._bad_loss and (not grads or
                                   torch.isfinite(torch.nn.utils.get_total_norm(grads))):
            self._consecutive = 0
            return
        if self.action == 'raise':
            self._stop('Non-finite gradients')
        for group in optimizer.param_groups:
            for p in group['params']:
                p.grad = None  # torch optimizers leave parameters without a gradient untouched
        self.skipped_steps += 1
        self._consecutive += 1
        self._runner.logger.warning(f'Skipped the optimizer step at {self._where()} '
                                    f'({self.skipped_steps} skipped so far).')
        if self._consecutive > self.max_consecutive_skips:
            self._stop(f'{self._consecutive} optimizer steps in a row had non-finite gradients')
