"""--resume never trains over the user's checkpoints and says what it restores (issue 19).

One real tools/train.py run (tiny MIM-JEPA on 8 real photos, batch 2: 4 iterations an epoch, 2
epochs, checkpoints at iterations 3, 6 and 8) gives the checkpoints; each test resumes a copy
of its work dir as a user would: without ``last_checkpoint``, with a checkpoint of another
model, with a smaller training set, another learning rate or a lower ``max_epochs``.
"""
import shutil
import uuid

import pytest

from scott_mm.engine.checkpoint_files import CheckpointFileError
from scott_mm.engine.checkpoint_fit import CheckpointMismatchError
from tests.test_evaluation_checkpoints import skip_config_formatting, torch_threads
from tests.test_kill_resume import quick_runs, write_jepa_config  # noqa: F401

HOOKS = """
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=3, max_keep_ckpts=3))
"""


@pytest.fixture(scope='module')
def trained(tmp_path_factory, photo_folder):
    """(config, work dir) of the finished 2-epoch run: iter_3.pth, iter_6.pth, iter_8.pth."""
    from tools import train
    base = tmp_path_factory.mktemp('resume_source')
    config = write_jepa_config(base / 'cfg.py', photo_folder, max_epochs=2, extra=HOOKS)
    with pytest.MonkeyPatch.context() as monkeypatch, torch_threads(1):
        skip_config_formatting(monkeypatch)
        train.main([config, '--work-dir', str(base / 'work')])
    assert sorted(p.name for p in (base / 'work').glob('*.pth')) == [
        'iter_3.pth', 'iter_6.pth', 'iter_8.pth']
    return config, base / 'work'


def copy_run(trained, tmp_path, last_checkpoint=True):
    work = tmp_path / 'work'
    shutil.copytree(trained[1], work)
    if last_checkpoint:
        (work / 'last_checkpoint').write_text(str(work / 'iter_8.pth'))
    else:
        (work / 'last_checkpoint').unlink()
    return work


def resume(trained, work, *options, path=None):
    """tools/train.py --resume [path]; a fresh experiment name gives the run a logger (and log
    file) of its own, also when an earlier run started within the same second."""
    from tools import train
    return train.main([trained[0], '--work-dir', str(work), '--resume', *([path] if path else []),
                       '--cfg-options', f'experiment_name=resume_{uuid.uuid4().hex}', *options])


def log_of(runner):
    return open(f'{runner.log_dir}/{runner.timestamp}.log').read()


def checkpoints(work):
    return sorted(p.name for p in work.glob('*.pth'))


# ---------------------------------------------------------------- issue 19, item 2

def test_without_last_checkpoint_resumes_the_latest_loadable_checkpoint(trained, tmp_path,
                                                                        quick_runs):
    """mmengine: "Auto resumed from the latest checkpoint None.", training from scratch, and
    rotation deleting the user's checkpoints."""
    work = copy_run(trained, tmp_path, last_checkpoint=False)
    data = (work / 'iter_8.pth').read_bytes()
    (work / 'iter_8.pth').write_bytes(data[:len(data) // 2])  # the newest one is truncated
    runner = resume(trained, work, 'train_cfg.max_epochs=3')
    log = log_of(runner)
    assert f'skipping iter_8.pth: Cannot load checkpoint {work / "iter_8.pth"}: the file is ' \
           'truncated' in log
    assert (f'no usable last_checkpoint in {work}; resuming from the latest of its 2 '
            f'checkpoint(s), {work / "iter_6.pth"} (epoch 1, iteration 6)') in log
    assert 'resumed epoch: 1, iter: 6' in log and 'after its first 2 batches' in log
    assert runner.iter == 12  # continued: 6 + the rest of epoch 2 + epoch 3


def test_work_dir_of_unloadable_checkpoints_is_refused_and_kept(trained, tmp_path, quick_runs):
    work = copy_run(trained, tmp_path, last_checkpoint=False)
    for name in ('iter_3.pth', 'iter_6.pth', 'iter_8.pth'):
        (work / name).write_text('not a checkpoint')
    with pytest.raises(CheckpointFileError) as err:
        resume(trained, work, 'train_cfg.max_epochs=3')
    message = str(err.value)
    assert message.startswith(f'--resume: {work} has no last_checkpoint and none of its 3 .pth')
    assert 'iter_6.pth: Cannot load checkpoint' in message and 'it is a text file' in message
    assert 'Pass a checkpoint with --resume PATH, or train in another --work-dir' in message
    assert checkpoints(work) == ['iter_3.pth', 'iter_6.pth', 'iter_8.pth']  # nothing trained
    assert all(p.read_text() == 'not a checkpoint' for p in work.glob('*.pth'))


def test_fresh_work_dir_still_starts_from_scratch(trained, tmp_path, quick_runs):
    runner = resume(trained, tmp_path / 'fresh', 'train_cfg.max_epochs=1')
    assert runner.iter == 4
    assert 'no checkpoint in' in log_of(runner) and 'training starts from scratch' in \
        log_of(runner)


# ---------------------------------------------------------------- issue 19, item 5

@pytest.mark.parametrize('options,expected', [
    (['model.backbone.arch.embed_dims=48', 'model.neck.in_channels=48',
      'model.neck.embed_dims=48'],
     r'different shapes \(\d+\): backbone\.\S+: checkpoint \(.*32.*\) vs model \(.*48.*\)'),
    (['model.backbone.arch.num_layers=2'],
     r'missing from the checkpoint: backbone\.\* \(\d+: backbone\.transformer\.blocks\.1\.'),
    (['optim_wrapper.paramwise_cfg=None'],
     r'holds optimizer state for (\d\d) parameter group\(s\) holding \1 parameters, but this '
     r"config's optimizer has 1 parameter group\(s\) holding \d+ parameters, of sizes "
     r'\[\d+\]: optim_wrapper\.paramwise_cfg'),
], ids=['wider', 'deeper', 'other_param_groups'])
def test_checkpoint_of_another_model_names_what_differs(trained, tmp_path, quick_runs, options,
                                                        expected):
    """torch's optimizer said "The size of tensor a (64) must match ..." or "different number
    of parameter groups"."""
    work = copy_run(trained, tmp_path)
    with pytest.raises(CheckpointMismatchError, match=expected) as err:
        resume(trained, work, 'train_cfg.max_epochs=3', *options)
    assert str(work / 'iter_8.pth') in str(err.value)
    assert checkpoints(work) == ['iter_3.pth', 'iter_6.pth', 'iter_8.pth']


# ---------------------------------------------------------------- issue 19, item 9

@pytest.mark.parametrize('name,where,done_epochs', [
    ('iter_8.pth', 'epoch 2 (iteration 8)', 2),
    ('iter_6.pth', '2 batches into epoch 2 (iteration 6)', 1)])
def test_max_epochs_behind_the_checkpoint_is_an_error(trained, tmp_path, quick_runs, name, where,
                                                      done_epochs):
    """Before: exit status 0 having trained nothing."""
    work = copy_run(trained, tmp_path)
    with pytest.raises(ValueError) as err:
        resume(trained, work, 'train_cfg.max_epochs=1', path=str(work / name))
    assert str(err.value) == (
        f'{work / name} was written after {where}, but train_cfg.max_epochs=1: there is nothing '
        f'left to train. Set train_cfg.max_epochs above {done_epochs} to train further, or '
        'evaluate the checkpoint with tools/test.py.')
    assert checkpoints(work) == ['iter_3.pth', 'iter_6.pth', 'iter_8.pth']


def test_resuming_a_finished_run_with_the_same_max_epochs_says_so(trained, tmp_path,
                                                                  quick_runs):
    work = copy_run(trained, tmp_path)
    runner = resume(trained, work, 'train_cfg.max_epochs=2')
    assert runner.iter == 8
    assert 'is the end of training (train_cfg.max_epochs=2): nothing left to train' in \
        log_of(runner)


def test_changed_learning_rate_is_reported_with_the_one_used(trained, tmp_path, quick_runs):
    work = copy_run(trained, tmp_path)
    runner = resume(trained, work, 'train_cfg.max_epochs=2', 'optim_wrapper.optimizer.lr=0.005',
                    path=str(work / 'iter_3.pth'))
    assert (f'optim_wrapper.optimizer.lr: this config gives 0.005, {work / "iter_3.pth"} was '
            "trained with 0.001 (parameter group 0); the resumed optimizer and its schedule "
            "continue with the checkpoint's 0.001.") in log_of(runner)
    # and that is what happened: the base lr of every group is the checkpoint's
    groups = runner.optim_wrapper.optimizer.param_groups
    assert {g['initial_lr'] for g in groups} == {1e-3}
    assert runner.iter == 8


def test_smaller_training_set_restarts_the_interrupted_epoch(trained, tmp_path, quick_runs):
    """Before: "Continuing epoch 2 after its first 4 batches" of a 2-batch epoch."""
    work = copy_run(trained, tmp_path)
    runner = resume(trained, work, 'train_cfg.max_epochs=2', 'train_dataloader.dataset.indices=4',
                    path=str(work / 'iter_6.pth'))
    log = log_of(runner)
    assert (f'The training set had 8 images (4 batches an epoch) when {work / "iter_6.pth"} was '
            'written and has 4 (2) now') in log
    assert ('Epoch 2 was 2 batches in when the checkpoint was written; with the changed '
            'training set it restarts at its first batch.') in log
    assert 'Continuing epoch' not in log
    assert runner.iter == 8 and runner.epoch == 2  # epoch 2: its 2 batches, from the first
    assert runner.message_hub.get_info('scott_train_dataset_size') == 4  # what it saves next
