"""Kill -9 in the middle of MIM-JEPA pretraining, then --resume: same final weights, bit for bit.

A real tools/train.py process trains a tiny SCOTT + MIM-JEPA on real photos (8 JPEGs, batch 2,
4 iterations per epoch, 3 epochs, iteration checkpoints every 3 iterations, max_keep_ckpts=1).
It is killed with SIGKILL while it writes the checkpoint of iteration 6, half-way through the
file. The previous checkpoint must survive and be the one ``last_checkpoint`` names; resuming
from it (3 batches into epoch 1) must end with exactly the model (EMA target included),
optimizer, scheduler, RNG and logged-loss state of a run never interrupted. The killed run
loads data in a persistent worker, the others in the main process: augmentation must not
depend on that either.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from tests.conftest import REPO

# A checkpoint write that stops half-way through the file: fault injection for the killed run.
SLOW_DISK = '''
import os, time
from mmengine.fileio import LocalBackend, register_backend


@register_backend('scott_test_stalling_disk', force=True)
class StallingDisk(LocalBackend):
    """Writes the checkpoint of iteration 6 half-way, tells the test, then hangs until killed."""

    def put(self, obj, filepath):
        if 'iter_6.pth' not in str(filepath):
            return super().put(obj, filepath)
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
            os.fsync(f.fileno())
        open(os.environ['SCOTT_TEST_MARKER'], 'w').close()
        time.sleep(600)
'''


@pytest.fixture
def quick_runs(monkeypatch):
    """One torch thread (on this busy 2-core machine a second OpenMP thread mostly spins for
    models this small) and no yapf layout of the config text (the Runner formats it for the
    log, the dump and every checkpoint, ~0.4 s a call; the layout is cosmetic)."""
    import mmengine.config.config as mmengine_config
    monkeypatch.setattr(mmengine_config, 'FormatCode', lambda text, **kwargs: (text, False))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_jepa_config(path, photos, num_workers=0, max_epochs=3, batch_size=2, checkpoint='',
                      extra=''):
    """A tiny MIM-JEPA (SCOTT D=32, one block; dropout on, so the RNG matters) on real photos."""
    path.write_text(textwrap.dedent(f"""
        _base_ = ['{REPO}/configs/_base_/default_runtime.py']
        model = dict(
            type='MIMJEPA', base_momentum=0.99, end_momentum=1.0,
            data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[127.5] * 3,
                                   std=[127.5] * 3, to_rgb=True),
            backbone=dict(type='SCOTT', arch=dict(embed_dims=32, num_layers=1, num_heads=2),
                          img_size=32, patch_size=8, backend='dense', drop_rate=0.1,
                          attn_drop_rate=0.1, drop_path_rate=0.1, out_type='raw'),
            neck=dict(type='JEPAPredictor', in_channels=32, embed_dims=32, num_layers=1,
                      num_heads=2, drop_rate=0.1, layer_id_offset=1),
            head=dict(type='LatentPredictionHead'))
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.3, 1.0),
                 interpolation='bicubic', backend='pillow'),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='MultiView', num_views=2,
                 transforms=[[dict(type='JEPAColorAugment', prob=0.6, blur_kernel_size=3)]]),
            dict(type='BlockwiseMaskGenerator', input_size=(4, 4), mask_ratio=0.6),
            dict(type='PackInputs'),
        ]
        train_dataloader = dict(
            batch_size={batch_size}, num_workers={num_workers},
            persistent_workers={num_workers > 0},
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'), drop_last=True,
            dataset=dict(type='CustomDataset', data_root='{photos}', pipeline=train_pipeline))
        optim_wrapper = dict(
            type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.4),
            paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.))
        param_scheduler = [
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
                 convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1,
                 end={max_epochs}, convert_to_iter_based=True),
            dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.1,
                 end_factor=1.0, by_epoch=True, begin=0, end={max_epochs},
                 convert_to_iter_based=True),
        ]
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={max_epochs})
        default_hooks = dict(logger=dict(interval=1),
                             checkpoint=dict(by_epoch=False, interval=3, max_keep_ckpts=1,
                                             {checkpoint}))
    """) + textwrap.dedent(extra))
    return str(path)


def assert_same(a, b, where='checkpoint'):
    """Bitwise equality of nested checkpoint content; names the first place that differs."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (where, set(a) ^ set(b))
        for key in a:
            assert_same(a[key], b[key], f'{where}[{key!r}]')
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f'{where}[{i}]')
    else:
        assert a == b, (where, a, b)


def logged(ckpt, key):
    return torch.as_tensor(ckpt['message_hub']['log_scalars'][key]._log_history)


def test_kill_during_a_checkpoint_save_then_resume_matches_an_uninterrupted_run(
        tmp_path, photo_folder, quick_runs):
    from tools import train

    # The same run in a real process, data in a persistent worker, killed mid-save.
    (tmp_path / 'stalling_disk.py').write_text(SLOW_DISK)
    killed_cfg = write_jepa_config(
        tmp_path / 'killed.py', photo_folder, num_workers=1,
        checkpoint="backend_args=dict(backend='scott_test_stalling_disk')",
        extra="custom_imports = dict(imports=['scott_mm', 'stalling_disk'])\n")
    work = tmp_path / 'work'
    marker = tmp_path / 'saving_iter_6'
    env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{REPO}',
               SCOTT_TEST_MARKER=str(marker), OMP_NUM_THREADS='1')  # as this process
    output = tmp_path / 'killed.out'
    with open(output, 'w') as out:
        proc = subprocess.Popen([sys.executable, 'tools/train.py', killed_cfg, '--work-dir',
                                 str(work)], cwd=REPO, env=env, stdout=out, stderr=out)
    try:
        # Meanwhile, the run never interrupted, in this process, data in the main process.
        reference = tmp_path / 'reference'
        train.main([write_jepa_config(tmp_path / 'reference.py', photo_folder), '--work-dir',
                    str(reference)])
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert proc.poll() is None, output.read_text()[-3000:]
            assert time.monotonic() < deadline, 'the training process never reached iteration 6'
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()

    # The previous checkpoint is intact and named by last_checkpoint (mmengine's CheckpointHook
    # deletes it before writing the next one); no partial file under a checkpoint's name; the
    # kill really hit the write: half a part file.
    part, previous = work / 'iter_6.pth.part', work / 'iter_3.pth'
    assert (work / 'last_checkpoint').read_text() == str(previous)
    assert torch.load(previous, weights_only=True)['meta']['iter'] == 3
    assert not (work / 'iter_6.pth').exists()
    assert part.exists() and 0 < part.stat().st_size < previous.stat().st_size

    # Resume (epoch 1, after 3 of its 4 batches) in this process, data in the main process.
    resumed_runner = train.main([write_jepa_config(tmp_path / 'resumed.py', photo_folder),
                                 '--work-dir', str(work), '--resume'])
    log = open(f'{resumed_runner.log_dir}/{resumed_runner.timestamp}.log').read()
    assert 'resumed epoch: 0, iter: 3' in log and 'after its first 3 batches' in log
    assert not part.exists()  # the resumed run wrote iteration 6 again and published it

    expected = torch.load(reference / 'iter_12.pth', weights_only=True)
    resumed = torch.load(work / 'iter_12.pth', weights_only=True)
    assert any(k.startswith('target_encoder.') for k in expected['state_dict'])
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state'):
        assert_same(expected[key], resumed[key], key)
    for key in ('train/loss', 'train/target_std', 'train/momentum', 'train/lr'):
        assert torch.equal(logged(expected, key), logged(resumed, key)), key
    assert len(logged(resumed, 'train/loss')) == 12
