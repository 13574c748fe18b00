"""Frozen encoders load from real MIM-JEPA checkpoints, or fail at once with a clear message.

Also home of :func:`jepa_checkpoint`, a checkpoint written by a real (tiny, two-iteration)
MIM-JEPA pretraining run through tools/train.py, which the other evaluation tests load.
"""
import contextlib
import os.path as osp

import pytest
import torch

from scott_mm.evaluation import EncoderCheckpointError, read_state_dict, select_encoder_weights
from scott_mm.registry import MODELS
from tests.conftest import REPO

TINY = dict(embed_dims=32, num_layers=1, num_heads=2)
_CACHE = {}


@contextlib.contextmanager
def torch_threads(n):
    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def skip_config_formatting(monkeypatch):
    """The Runner pretty-prints its config (log, dump, every checkpoint's meta) through yapf,
    ~0.4 s a call and about half of a tiny run's time; the layout of that text is cosmetic."""
    import mmengine.config.config as mmengine_config
    monkeypatch.setattr(mmengine_config, 'FormatCode', lambda text, **kwargs: (text, False))


@pytest.fixture(autouse=True)
def single_thread(monkeypatch):
    """These models are tiny: on a busy 2-core machine a second OpenMP thread mostly spins
    (small ops ran ~100x slower with 2 threads than with 1 here). Also skips config layout."""
    skip_config_formatting(monkeypatch)
    with torch_threads(1):
        yield


def jepa_checkpoint(tmp_path_factory) -> str:
    """epoch_1.pth of a tiny MIM-JEPA pretraining on real Fashion-MNIST photos (made once)."""
    if 'path' not in _CACHE:
        from tools import train
        work_dir = str(tmp_path_factory.mktemp('jepa_pretrain'))
        tiny = [f'model.backbone.arch.{k}={v}' for k, v in TINY.items()]
        with pytest.MonkeyPatch.context() as monkeypatch, torch_threads(1):
            skip_config_formatting(monkeypatch)
            train.main([f'{REPO}/configs/scott_jepa_demo.py', '--work-dir', work_dir,
                        '--cfg-options', *tiny, 'model.backbone.backend=dense',
                        'model.neck.in_channels=32', 'model.neck.embed_dims=32',
                        'model.neck.num_layers=1', 'model.neck.num_heads=2',
                        'model.neck.layer_id_offset=1', 'optim_wrapper.optimizer.lr=0.1',
                        'train_dataloader.dataset.indices=16', 'train_dataloader.batch_size=8',
                        'train_dataloader.num_workers=0',
                        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1'])
        _CACHE['path'] = osp.join(work_dir, 'epoch_1.pth')
    return _CACHE['path']


def tiny_backbone(**kwargs):
    return MODELS.build(dict(type='SCOTT', arch=dict(TINY, **kwargs), img_size=32, patch_size=4,
                             backend='dense'))


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    return jepa_checkpoint(tmp_path_factory)


def test_checkpoint_holds_two_different_encoders(ckpt):
    state = read_state_dict(ckpt)
    context = select_encoder_weights(state, 'backbone.', tiny_backbone())
    target = select_encoder_weights(state, 'target_encoder.module.', tiny_backbone())
    assert context.keys() == target.keys() and len(context) > 5
    assert any(not torch.equal(context[k], target[k]) for k in context)  # EMA lags behind


def test_missing_checkpoint_names_the_key_and_what_to_pass():
    with pytest.raises(EncoderCheckpointError) as err:
        read_state_dict(None)
    msg = str(err.value)
    assert 'model.backbone.init_cfg.checkpoint is not set' in msg
    assert '--cfg-options model.backbone.init_cfg.checkpoint=' in msg
    assert 'model.backbone.init_cfg=None' in msg  # the untrained baseline, on purpose


def test_checkpoint_that_is_not_a_file(tmp_path):
    with pytest.raises(EncoderCheckpointError, match='is not a file'):
        read_state_dict(str(tmp_path / 'epoch_300.pth'))
    with pytest.raises(EncoderCheckpointError, match='is not a file'):
        read_state_dict(str(tmp_path))  # a folder
    junk = tmp_path / 'junk.pth'
    junk.write_text('not a checkpoint')
    with pytest.raises(EncoderCheckpointError,
                       match=f'model.backbone.init_cfg.checkpoint: Cannot load checkpoint {junk}: '
                       'not a checkpoint written by torch.save: it is a text file'):
        read_state_dict(str(junk))


def test_no_weights_under_the_prefix_lists_what_is_there(ckpt):
    state = read_state_dict(ckpt)
    with pytest.raises(EncoderCheckpointError) as err:
        select_encoder_weights(state, 'encoder.', tiny_backbone())
    msg = str(err.value)
    assert "'encoder.'" in msg and 'model.backbone.init_cfg.prefix' in msg
    for top in ("'backbone.'", "'target_encoder.'", "'neck.'"):
        assert top in msg
    assert "'target_encoder.module.' (the EMA target encoder)" in msg


def test_weights_that_do_not_fit_the_backbone(ckpt):
    state = read_state_dict(ckpt)
    wider = r'shape \(\d+\).*tokenizer.conv2.weight: checkpoint \(32, 64, 3, 3\) vs backbone \(48'
    with pytest.raises(EncoderCheckpointError, match=wider):
        select_encoder_weights(state, 'backbone.', tiny_backbone(embed_dims=48))
    with pytest.raises(EncoderCheckpointError, match=r'missing \(\d+\).*blocks\.1\.'):
        select_encoder_weights(state, 'backbone.', tiny_backbone(num_layers=2))


def _probe_args(work_dir, *options):
    tiny = [f'model.backbone.arch.{k}={v}' for k, v in TINY.items()]
    return [f'{REPO}/configs/linear_probe_demo.py', '--work-dir', str(work_dir),
            '--cfg-options', *tiny, 'model.head.in_channels=32',
            'train_dataloader.dataset.num_labels=20', 'val_dataloader.dataset.indices=10',
            *options]


@pytest.mark.parametrize('bad', ['missing', 'wrong_prefix'])
def test_probe_training_stops_before_any_iteration(tmp_path, ckpt, bad):
    """Through tools/train.py and the real Runner: the hook stops the run before weights are
    initialised, so nothing trains and no checkpoint is written."""
    from tools import train
    options, message = {
        'missing': ([], 'model.backbone.init_cfg.checkpoint is not set'),
        'wrong_prefix': ([f'model.backbone.init_cfg.checkpoint={ckpt}',
                          'model.backbone.init_cfg.prefix=neck.'], "under 'neck.'.*do not fit"),
    }[bad]
    with pytest.raises(EncoderCheckpointError, match=message):
        train.main(_probe_args(tmp_path, *options))
    assert not list(tmp_path.rglob('*.pth'))
