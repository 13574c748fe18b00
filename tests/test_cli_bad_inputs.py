"""The command-line tools, driven as a user would over a table of bad inputs (issue 19): each
ends with exit status 1 and one ``error:`` line that names the file or config key, never a
traceback (``--debug`` or ``SCOTT_DEBUG=1`` shows it), and no checkpoint is lost.

The table runs the tools' ``main`` through ``scott_mm.cli.run``, exactly what their
``__main__`` does, in this process (a new Python process costs ~8 s of imports here); two cases
run ``python tools/train.py`` in a real process to prove that wiring.
"""
import os
import os.path as osp
import subprocess
import sys
import uuid

import pytest

from scott_mm.cli import run
from tests.conftest import REPO
from tests.test_evaluation_checkpoints import (TINY, jepa_checkpoint,  # noqa: F401
                                               single_thread, skip_config_formatting,
                                               torch_threads)
from tests.test_kill_resume import write_jepa_config

PROBE = osp.join(REPO, 'configs', 'linear_probe_demo.py')
PROBE_TINY = [*(f'model.backbone.arch.{k}={v}' for k, v in TINY.items()),
              'model.head.in_channels=32', 'test_dataloader.dataset.indices=8']


@pytest.fixture(scope='module')
def user(tmp_path_factory, photo_folder):
    """A user's files: a config, a work dir with the checkpoint of a finished 2-epoch run, a
    truncated copy of it, a file of random bytes and a MIM-JEPA pretraining checkpoint."""
    from tools import train
    base = tmp_path_factory.mktemp('user')
    config = write_jepa_config(base / 'cfg.py', photo_folder, max_epochs=2)
    with pytest.MonkeyPatch.context() as monkeypatch, torch_threads(1):
        skip_config_formatting(monkeypatch)
        train.main([config, '--work-dir', str(base / 'work')])
    good = open(base / 'work' / 'last_checkpoint').read().strip()
    data = open(good, 'rb').read()
    (base / 'truncated.pth').write_bytes(data[:len(data) // 2])
    (base / 'random.pth').write_bytes(b'\x07' * 64 + bytes(range(256)) * 8)
    return dict(config=config, work=base / 'work', good=good, base=base,
                pretrained=jepa_checkpoint(tmp_path_factory))


def snapshot(folder):
    """Every checkpoint under ``folder`` with its bytes, to show none was lost or changed."""
    return {p: p.read_bytes() for p in sorted(folder.rglob('*.pth'))}


def cases(u, tmp):
    """(case id) -> (tool, argv, what the error line must say)."""
    train, work, cfg = 'train', str(u['work']), u['config']
    return {
        'resume_truncated': (train, [cfg, '--work-dir', work, '--resume',
                                     str(u['base'] / 'truncated.pth')],
                             f"CheckpointFileError: Cannot load checkpoint "
                             f"{u['base'] / 'truncated.pth'}: the file is truncated"),
        'resume_other_model': (train, [cfg, '--work-dir', work, '--resume', u['good'],
                                       '--cfg-options', 'model.backbone.arch.num_layers=2',
                                       'train_cfg.max_epochs=3'],
                               f"CheckpointMismatchError: {u['good']} does not fit the model "
                               'of this config (MIMJEPA):'),
        'resume_max_epochs_lower': (train, [cfg, '--work-dir', work, '--resume', u['good'],
                                            '--cfg-options', 'train_cfg.max_epochs=1'],
                                    f"ValueError: {u['good']} was written after epoch 2 "
                                    '(iteration 8), but train_cfg.max_epochs=1: there is '
                                    'nothing left to train.'),
        'lr_not_a_number': (train, [cfg, '--work-dir', str(tmp / 'w'), '--cfg-options',
                                    'optim_wrapper.optimizer.lr=abc'],
                            "ValueError: optim_wrapper.optimizer.lr='abc' must be a number"),
        'batch_larger_than_data': (train, [cfg, '--work-dir', str(tmp / 'w'), '--cfg-options',
                                           'train_dataloader.batch_size=64'],
                                   'ValueError: train_dataloader.batch_size=64 > dataset size 8 '
                                   'with drop_last=True'),
        'mask_ratio_zero': (train, [cfg, '--work-dir', str(tmp / 'w'), '--cfg-options',
                                    'train_dataloader.dataset.pipeline.4.mask_ratio=0'],
                            'ValueError: BlockwiseMaskGenerator: mask_ratio must be in (0, 1)'),
        'test_pretraining_checkpoint': ('test', [PROBE, u['pretrained'], '--work-dir',
                                                 str(tmp / 'w'), '--cfg-options', *PROBE_TINY],
                                        f"CheckpointMismatchError: {u['pretrained']} does not "
                                        'fit the model of this config (ImageClassifier):'),
        'test_missing_checkpoint': ('test', [PROBE, str(tmp / 'epoch_9.pth')],
                                    f"FileNotFoundError: Checkpoint not found: "
                                    f"{tmp / 'epoch_9.pth'}"),
        'visualize_random_bytes': ('visualize_features', [
            cfg, str(u['base'] / 'random.pth'), '--out', str(tmp / 'f.png'), '--images',
            *sorted(str(p) for p in u['work'].parent.parent.rglob('*.jpg'))[:1]],
            f"EncoderCheckpointError: checkpoint: Cannot load checkpoint "
            f"{u['base'] / 'random.pth'}: not a checkpoint written by torch.save"),
    }


CASES = ['resume_truncated', 'resume_other_model', 'resume_max_epochs_lower', 'lr_not_a_number',
         'batch_larger_than_data', 'mask_ratio_zero', 'test_pretraining_checkpoint',
         'test_missing_checkpoint', 'visualize_random_bytes']


@pytest.mark.parametrize('case', CASES)
def test_bad_input_gives_one_message_and_exit_status_1(user, tmp_path, capsys, case):
    import importlib
    tool, argv, message = cases(user, tmp_path)[case]
    before = snapshot(user['base'])
    main = importlib.import_module(f'tools.{tool}').main
    if tool in ('train', 'test'):  # a logger of its own, not one of an earlier run in the
        # same second, whose stream was the (now closed) capture of an earlier test
        name = f'experiment_name=cli_{uuid.uuid4().hex}'
        argv += [name] if '--cfg-options' in argv else ['--cfg-options', name]
    assert run(main, argv) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1 and errors[0].startswith(f'error: {message}'), err[-3000:]
    assert 'Traceback' not in err
    assert err.rstrip().endswith('(run with --debug or SCOTT_DEBUG=1 to see the traceback)')
    assert snapshot(user['base']) == before  # no checkpoint lost or rewritten
    assert not list(tmp_path.rglob('*.pth')) and not (tmp_path / 'f.png').exists()


@pytest.mark.parametrize('how', ['flag', 'environment'])
def test_debug_shows_the_traceback(user, capsys, monkeypatch, how):
    from tools import train
    argv = [user['config'], '--work-dir', str(user['work']), '--resume',
            str(user['base'] / 'truncated.pth'), '--cfg-options',
            f'experiment_name=cli_{uuid.uuid4().hex}']
    if how == 'flag':
        argv.append('--debug')
    else:
        monkeypatch.setenv('SCOTT_DEBUG', '1')
    assert run(train.main, argv) == 1
    err = capsys.readouterr().err
    assert 'Traceback (most recent call last)' in err and 'read_checkpoint' in err
    assert 'error: CheckpointFileError: Cannot load checkpoint' in err


def test_in_a_real_process(user):
    before = snapshot(user['base'])
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    env.pop('SCOTT_DEBUG', None)
    result = subprocess.run([sys.executable, 'tools/train.py', user['config'], '--work-dir',
                             str(user['work']), '--resume', str(user['base'] / 'truncated.pth')],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    last = result.stderr.rstrip().splitlines()[-2:]
    assert last[0].startswith(f"error: CheckpointFileError: Cannot load checkpoint "
                              f"{user['base'] / 'truncated.pth'}: the file is truncated")
    assert last[1] == '(run with --debug or SCOTT_DEBUG=1 to see the traceback)'
    assert 'Traceback' not in result.stderr
    assert snapshot(user['base']) == before
