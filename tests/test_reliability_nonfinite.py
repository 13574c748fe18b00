"""A non-finite loss stops MIM-JEPA training with a clear message and keeps the last good
checkpoint, or, with action='skip', skips that one optimizer step.

The NaN comes from a corrupted batch (one view's pixels replaced by NaN, as a broken decode
or a bad normalisation would give) fed through the real Runner, model and optimizer.
"""
import math

import pytest
import torch
from mmengine.hooks import Hook

from scott_mm.registry import HOOKS
from tests.test_kill_resume import logged, quick_runs, write_jepa_config  # noqa: F401


@HOOKS.register_module(force=True)
class ReliabilityTestNaNBatchHook(Hook):
    """Turns the context view of the batch of iteration ``at_iter`` (1-based) into NaNs."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at_iter:
            data_batch['inputs'][0] = torch.full(data_batch['inputs'][0].shape, math.nan)


def config(tmp_path, photo_folder, at_iter, action):
    return write_jepa_config(
        tmp_path / f'nan_{action}.py', photo_folder, max_epochs=2, batch_size=4,
        extra=f"""
custom_hooks = [dict(type='ReliabilityTestNaNBatchHook', at_iter={at_iter})]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=1),
                     nonfinite_loss=dict(action='{action}'))
""")


def test_nan_loss_stops_with_the_iteration_and_terms_and_keeps_the_last_checkpoint(
        tmp_path, photo_folder, quick_runs):
    from tools import train
    work = tmp_path / 'work'
    with pytest.raises(FloatingPointError) as err:
        train.main([config(tmp_path, photo_folder, 3, 'raise'), '--work-dir', str(work)])
    message = str(err.value)
    assert message.startswith('Non-finite loss at iteration 3 (epoch 2): loss=nan, target_std=')
    assert 'target_rank=' in message and 'momentum=0.99' in message
    assert f'the last checkpoint is {work / "iter_2.pth"}' in message

    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')
    assert sorted(p.name for p in work.glob('iter_*')) == ['iter_2.pth']
    ckpt = torch.load(work / 'iter_2.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 2
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values()
               if v.is_floating_point())


def test_skip_mode_skips_exactly_the_bad_step(tmp_path, photo_folder, quick_runs):
    from tools import train
    work = tmp_path / 'work'
    runner = train.main([config(tmp_path, photo_folder, 2, 'skip'), '--work-dir', str(work)])
    assert runner.iter == 4  # trained to the end

    ckpt = torch.load(work / 'iter_4.pth', weights_only=True)
    losses = logged(ckpt, 'train/loss')
    assert torch.isnan(losses[1]) and torch.isfinite(losses[[0, 2, 3]]).all()
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values()
               if v.is_floating_point())
    # AdamW counts the steps it took per parameter: 4 iterations, one skipped.
    steps = {float(state['step']) for state in ckpt['optimizer']['state'].values()}
    assert steps == {3.0}
    log = open(f'{runner.log_dir}/{runner.timestamp}.log').read()
    assert 'Skipped the optimizer step at iteration 2 (epoch 1)' in log


def test_unknown_action_names_the_choices():
    from scott_mm.engine import NonFiniteLossHook
    with pytest.raises(ValueError, match=r"action='ignore' is not one of \('raise', 'skip'\)"):
        NonFiniteLossHook(action='ignore')


# ---------------------------------------------------------------- issue 19, item 7

@pytest.mark.parametrize('kind', ['nan', 'inf', 'too_large_to_centre'])
def test_effective_rank_of_non_finite_features_is_nan_with_a_warning(kind):
    from scott_mm.evaluation import effective_rank
    features = torch.randn(6, 4)
    if kind == 'too_large_to_centre':
        features = torch.full((6, 4), 3e38)
        features[0] = -3e38  # finite, but the mean overflows
    else:
        features[2, 1] = math.nan if kind == 'nan' else math.inf
    with pytest.warns(UserWarning, match='effective_rank: the features hold inf or NaN values'):
        assert math.isnan(effective_rank(features))


def test_effective_rank_when_the_svd_fails_is_nan_with_a_warning(monkeypatch):
    """LAPACK can fail to converge; a diagnostic must not stop the run for that."""
    from scott_mm.evaluation import effective_rank

    def no_convergence(matrix):
        raise torch.linalg.LinAlgError('linalg.svd: The algorithm failed to converge')
    monkeypatch.setattr(torch.linalg, 'svdvals', no_convergence)
    with pytest.warns(UserWarning, match='effective_rank: the SVD failed'):
        assert math.isnan(effective_rank(torch.randn(6, 4)))


def test_divergence_is_reported_by_the_guard_not_by_a_diagnostic(tmp_path, photo_folder,
                                                                 quick_runs):
    """lr=1e12: before, linalg.svd failed in the collapse diagnostics before the non-finite
    loss guard saw the loss."""
    from tools import train
    with pytest.raises(FloatingPointError, match=r'Non-finite loss at iteration \d+ \(epoch 1\): '
                       r'loss=nan, target_std=nan, target_rank=nan'):
        train.main([write_jepa_config(tmp_path / 'cfg.py', photo_folder), '--work-dir',
                    str(tmp_path / 'work'), '--cfg-options', 'optim_wrapper.optimizer.lr=1e12'])
