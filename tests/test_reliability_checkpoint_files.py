"""A file that is not a whole checkpoint gets one message naming it, wherever it is given
(issue 19, items 6 and 10): ``--resume``, tools/test.py, a probe's ``init_cfg``,
``extract_features`` and tools/visualize_features.py.

Before: ``PytorchStreamReader failed reading zip archive`` (truncated), ``KeyError: 101``
(text), a bare ``EOFError`` (empty), ``Tensor.__contains__`` (a bare tensor), "it needs a
global ... if you trust this file" for random bytes (not a pickle at all), and, outside the
Runner, torch's "Re-running with weights_only=False will likely succeed", which scott_mm must
never suggest.
"""
import argparse
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from scott_mm.engine.checkpoint_files import CheckpointFileError, read_checkpoint
from scott_mm.engine.checkpoint_globals import RefusedCheckpointError
from scott_mm.evaluation import EncoderCheckpointError
from tests.conftest import REPO
from tests.test_evaluation_checkpoints import TINY, jepa_checkpoint, single_thread  # noqa: F401
from tests.test_kill_resume import write_jepa_config

NOT_TORCH = 'not a checkpoint written by torch.save'
TRUNCATED = 'the file is truncated'
# file name -> what the message says is wrong with it
BAD = {
    'empty.pth': f'{NOT_TORCH}: the file is empty (0 bytes). Copy it again, or use another '
                 'checkpoint of the run',
    'truncated.pth': TRUNCATED,
    'text.pth': f"{NOT_TORCH}: it is a text file (starts with 'epoch: 3\\nlr: 0.001\\n'). "
                'Pass a .pth file written by tools/train.py (torch.save).',
    'random.pth': f'{NOT_TORCH}: its content is neither a torch.save archive nor a pickle '
                  '(random or foreign bytes)',
    'pickle.pth': f'{NOT_TORCH}: it is a plain pickle, which scott_mm does not unpickle',
    'tensor.pth': 'it does not contain a state_dict: it holds a Tensor.',
    'numbers.pth': 'it does not contain a state_dict: it holds a dict whose values are not all '
                   'tensors.',
    'unsafe.pth': None,  # refused by the weights-only loader: RefusedCheckpointError
}


@pytest.fixture(scope='module')
def bad(tmp_path_factory):
    """The files of ``BAD``; the truncated one is the first half of a real checkpoint."""
    folder = tmp_path_factory.mktemp('bad_checkpoints')
    real = open(jepa_checkpoint(tmp_path_factory), 'rb').read()
    (folder / 'empty.pth').write_bytes(b'')
    (folder / 'truncated.pth').write_bytes(real[:len(real) // 2])
    (folder / 'text.pth').write_text('epoch: 3\nlr: 0.001\n')
    (folder / 'random.pth').write_bytes(b'\x07' + np.random.default_rng(0).bytes(4095))
    (folder / 'pickle.pth').write_bytes(pickle.dumps({'state_dict': {'w': [1.0, 2.0]}}))
    torch.save(torch.zeros(3), folder / 'tensor.pth')
    torch.save({'epoch': 3, 'lr': 0.001}, folder / 'numbers.pth')
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'extra': argparse.Namespace(lr=0.1)},
               folder / 'unsafe.pth')
    return folder


def expected(path):
    """The sentence every entry point must say about ``path``."""
    problem = BAD[osp.basename(path)]
    if problem is None:
        return (f"Refusing to load {path}: it needs argparse.Namespace, which is not on "
                "scott_mm's allow-list")
    return f'Cannot load checkpoint {path}: {problem}'


def assert_our_words(message, path):
    assert expected(path) in message
    assert 'weights_only=False' not in message and 'Re-running' not in message


@pytest.mark.parametrize('name', sorted(BAD))
def test_every_kind_of_bad_file_is_named_and_explained(bad, name):
    path = str(bad / name)
    with pytest.raises((CheckpointFileError, RefusedCheckpointError)) as err:
        read_checkpoint(path)
    assert str(err.value).startswith(expected(path))
    assert_our_words(str(err.value), path)
    if name == 'truncated.pth':
        assert str(err.value).endswith('Copy it again, or use another checkpoint of the run '
                                       '(e.g. an earlier epoch_*.pth or iter_*.pth in its work '
                                       'dir).')


def test_resume_needs_a_training_checkpoint(tmp_path):
    weights = tmp_path / 'weights.pth'
    torch.save({'w': torch.zeros(2)}, weights)
    with pytest.raises(CheckpointFileError) as err:
        read_checkpoint(weights, need=('meta', 'message_hub'))
    assert str(err.value) == (
        f"Cannot load checkpoint {weights}: it is not a training checkpoint: it has no 'meta' "
        "(the epoch and iteration to resume at), 'message_hub' (the logged history). Resume "
        'from a checkpoint written by tools/train.py; to start a new run from these weights, '
        f'drop --resume and pass --cfg-options load_from={weights}.')


# -------------------------------------------------------------- through every entry point

def _resume(path, work, photo_folder):
    from tools import train
    train.main([write_jepa_config(work.parent / 'cfg.py', photo_folder), '--work-dir', str(work),
                '--resume', path])


def _test(path, work, photo_folder):
    from tools import test
    tiny = [f'model.backbone.arch.{k}={v}' for k, v in TINY.items()]
    test.main([osp.join(REPO, 'configs', 'linear_probe_demo.py'), path, '--work-dir', str(work),
               '--cfg-options', *tiny, 'model.head.in_channels=32',
               'test_dataloader.dataset.indices=8'])


def _probe_init_cfg(path, work, photo_folder):
    from tools import train
    tiny = [f'model.backbone.arch.{k}={v}' for k, v in TINY.items()]
    train.main([osp.join(REPO, 'configs', 'linear_probe_demo.py'), '--work-dir', str(work),
                '--cfg-options', *tiny, 'model.head.in_channels=32',
                'train_dataloader.dataset.num_labels=20', 'val_dataloader.dataset.indices=8',
                f'model.backbone.init_cfg.checkpoint={path}'])


def _extract_features(path, work, photo_folder):
    from scott_mm.apis import extract_features
    extract_features(osp.join(REPO, 'configs', 'scott_jepa_demo.py'), path,
                     sorted(str(p) for p in photo_folder.rglob('*.jpg'))[:2], progress=False)


def _visualize_features(path, work, photo_folder):
    from tools import visualize_features
    visualize_features.main([osp.join(REPO, 'configs', 'scott_jepa_demo.py'), path, '--images',
                             *sorted(str(p) for p in photo_folder.rglob('*.jpg'))[:2], '--out',
                             str(work / 'features.png')])


ENTRY_POINTS = {  # how each names the setting in front of the sentence
    'resume': (_resume, ''),
    'test': (_test, ''),
    'probe_init_cfg': (_probe_init_cfg, 'model.backbone.init_cfg.checkpoint: '),
    'extract_features': (_extract_features, 'checkpoint: '),
    'visualize_features': (_visualize_features, 'checkpoint: '),
}


@pytest.mark.parametrize('name', ['truncated.pth', 'unsafe.pth', 'tensor.pth'])
@pytest.mark.parametrize('entry', sorted(ENTRY_POINTS))
def test_every_entry_point_says_the_same(bad, tmp_path, photo_folder, entry, name):
    call, key = ENTRY_POINTS[entry]
    path = str(bad / name)
    work = tmp_path / 'work'
    work.mkdir()
    before = (bad / name).read_bytes()
    with pytest.raises((CheckpointFileError, RefusedCheckpointError,
                        EncoderCheckpointError)) as err:
        call(path, work, photo_folder)
    assert str(err.value).startswith(key + expected(path)), str(err.value)
    assert_our_words(str(err.value), path)
    assert (bad / name).read_bytes() == before
    assert not list(work.rglob('*.pth')) and not (work / 'features.png').exists()
