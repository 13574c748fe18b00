"""Resume works on torch >= 2.6, where torch.load defaults to weights_only=True."""
import subprocess
import sys
import textwrap

import torch

from tests.conftest import REPO


def write_tiny_config(tmp_path, photo_folder, max_epochs):
    """A tiny SCOTT classifier on real photos, through mmpretrain's ImageClassifier."""
    cfg = tmp_path / f'tiny_{max_epochs}.py'
    cfg.write_text(textwrap.dedent(f"""
        _base_ = ['{REPO}/configs/_base_/default_runtime.py']
        model = dict(
            type='ImageClassifier',
            backbone=dict(type='SCOTT', arch=dict(embed_dims=32, num_layers=1, num_heads=2),
                          img_size=32, patch_size=8, backend='dense', out_type='avg_featmap'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=32,
                      loss=dict(type='CrossEntropyLoss')))
        data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)
        train_dataloader = dict(
            batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(type='CustomDataset', data_root='{photo_folder}',
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='RandomResizedCrop', scale=32),
                                   dict(type='PackInputs')]))
        optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3))
        param_scheduler = [dict(type='CosineAnnealingLR', T_max={max_epochs}, by_epoch=True)]
        train_cfg = dict(by_epoch=True, max_epochs={max_epochs})
        default_hooks = dict(logger=dict(interval=1))
    """))
    return str(cfg)


def test_train_two_epochs_then_resume_to_three(tmp_path, photo_folder):
    from tools import train
    work_dir = str(tmp_path / 'work')
    first = train.main([write_tiny_config(tmp_path, photo_folder, 2), '--work-dir', work_dir])
    assert first.epoch == 2
    iters_per_epoch = len(first.train_dataloader)
    ckpt = torch.load(f'{work_dir}/epoch_2.pth', weights_only=True)  # the safe loader
    assert ckpt['meta']['epoch'] == 2
    assert 'message_hub' in ckpt and 'optimizer' in ckpt

    resumed = train.main([write_tiny_config(tmp_path, photo_folder, 3), '--work-dir', work_dir,
                          '--resume'])
    assert resumed.epoch == 3
    assert resumed.iter == 3 * iters_per_epoch  # continued, not restarted
    # The logged history came back too: it holds the losses of all three epochs.
    losses = resumed.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 3 * iters_per_epoch
    assert torch.load(f'{work_dir}/epoch_3.pth', weights_only=True)['meta']['epoch'] == 3


def test_mmengine_checkpoint_needs_the_allow_list(tmp_path, photo_folder):
    """Without scott_mm's allow-list, torch's safe loader refuses an mmengine checkpoint."""
    from tools import train
    work_dir = str(tmp_path / 'work')
    train.main([write_tiny_config(tmp_path, photo_folder, 1), '--work-dir', work_dir])
    probe = subprocess.run(
        [sys.executable, '-c', f"import torch; torch.load('{work_dir}/epoch_1.pth', "
         "weights_only=True)"], capture_output=True, text=True)
    assert probe.returncode != 0
    assert 'HistoryBuffer' in probe.stderr or 'not an allowed global' in probe.stderr


def test_allow_list_refuses_other_globals(tmp_path):
    """A checkpoint that needs anything beyond the allow-list is still refused."""
    import argparse
    import pickle

    import pytest
    import scott_mm  # noqa: F401  (installs the allow-list)
    path = tmp_path / 'tampered.pth'
    torch.save({'state_dict': {}, 'extra': argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(pickle.UnpicklingError, match='Namespace'):
        torch.load(path, weights_only=True)
