"""Distributed training through tools/dist_train.sh: 2 CPU processes (gloo), real torchrun.

The two runs below train the demo config (MIM-JEPA, MinkowskiEngine tokenizer) scaled down with
--cfg-options, once as 2 ranks x 8 images and once as 1 process x 16 images, same seed. This
module is also imported by those runs (``custom_imports``) for two test-only pieces:
``SeedEachSample`` and ``DistProbeHook``.
"""
import os
import os.path as osp
import random
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from scott_mm.registry import DATASETS, HOOKS
from tests.conftest import REPO


@DATASETS.register_module()
class SeedEachSample(torch.utils.data.Dataset):
    """Seeds python, numpy and torch from the sample index before loading it.

    Crops, flips, colour jitter and masks then depend on the image alone, not on which rank or
    dataloader worker draws them, so 2 x 8 and 1 x 16 see exactly the same 16 views.
    """

    def __init__(self, dataset):
        self.dataset = DATASETS.build(dataset)
        self.metainfo = self.dataset.metainfo

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        random.seed(idx)
        np.random.seed(idx)
        torch.manual_seed(idx)
        return self.dataset[idx]


@HOOKS.register_module()
class DistProbeHook(Hook):
    """Each rank writes what it saw to ``work_dir/probe_rank{rank}.pt`` when the run ends:
    its local losses (and the regulariser's terms) and sample indices per iteration, the
    online and EMA target weights at the start and end, and the checkpoint files this process
    wrote."""

    priority = 'LOWEST'

    def before_run(self, runner):
        import mmengine.runner.runner as runner_module
        self.saved = []
        write = runner_module.save_checkpoint

        def recording_write(checkpoint, filename, *args, **kwargs):
            self.saved.append(osp.basename(filename))
            return write(checkpoint, filename, *args, **kwargs)

        runner_module.save_checkpoint = recording_write  # the function Runner.save_checkpoint calls
        self.losses, self.terms, self.sample_idx = [], [], []

    def _weights(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        online = {k: v.detach().clone() for k, v in model.backbone.state_dict().items()}
        target = {k: v.detach().clone()
                  for k, v in model.target_encoder.module.state_dict().items()}
        return online, target

    def before_train(self, runner):
        self.init_online, _ = self._weights(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(outputs['loss'].item())
        self.terms.append([outputs[k].item() for k in ('loss_variance', 'loss_covariance')
                           if k in outputs])
        self.sample_idx.append([s.metainfo['sample_idx'] for s in data_batch['data_samples']])

    def after_run(self, runner):
        rank, world_size = get_dist_info()
        online, target = self._weights(runner)
        torch.save(dict(rank=rank, world_size=world_size, wrapped=type(runner.model).__name__,
                        losses=self.losses, terms=self.terms, sample_idx=self.sample_idx,
                        saved=self.saved,
                        init_online=self.init_online, online=online, target=target),
                   osp.join(runner.work_dir, f'probe_rank{rank}.pt'))


def probe_config(tmp_path):
    """The demo config plus the two test-only pieces; everything else comes from the demo."""
    path = tmp_path / 'demo_probe.py'
    path.write_text(textwrap.dedent(f"""
        _base_ = ['{REPO}/configs/scott_jepa_demo.py']
        custom_imports = dict(imports=['scott_mm', 'tests.test_distributed'],
                              allow_failed_imports=False)
        train_dataloader = dict(dataset=dict(
            _delete_=True, type='SeedEachSample', dataset={{{{_base_.train_dataloader.dataset}}}}))
        custom_hooks = [dict(type='DistProbeHook')]
    """))
    return str(path)


def tiny_options(batch_size, num_images=64):
    """Scale the demo down: tiny SCOTT (D=32, 1 layer), no dropout / drop path, 1 epoch; the
    demo's loss, variance-covariance terms included."""
    return ['--cfg-options', 'model.backbone.arch.embed_dims=32',
            'model.backbone.arch.num_layers=1',
            'model.backbone.arch.num_heads=2', 'model.backbone.drop_path_rate=0',
            'model.neck.in_channels=32', 'model.neck.embed_dims=32', 'model.neck.num_layers=1',
            'model.neck.num_heads=2', 'model.neck.layer_id_offset=1',
            f'train_dataloader.dataset.dataset.indices={num_images}',
            f'train_dataloader.batch_size={batch_size}', 'train_cfg.max_epochs=1',
            'default_hooks.logger.interval=1']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start(cmd, log, **env):
    """Starts ``cmd`` in the repo with its output going to the file ``log``."""
    with open(log, 'w') as out:
        return subprocess.Popen(cmd, cwd=REPO, env=dict(os.environ, **env), stdout=out,
                                stderr=subprocess.STDOUT)


def finish(proc, log):
    """Waits for ``proc`` and returns its output; fails the test if it failed."""
    proc.wait(timeout=600)
    text = open(log).read()
    assert proc.returncode == 0, f'{proc.args} failed:\n{text[-6000:]}'
    return text


def run(cmd, log, **env):
    return finish(start(cmd, log, **env), log)


def load_probe(work_dir, rank):
    return torch.load(work_dir / f'probe_rank{rank}.pt', weights_only=False)


@pytest.fixture(scope='module')
def two_runs(tmp_path_factory):
    """The same 4 iterations as 2 ranks x 8 images (dist_train.sh) and as 1 process x 16."""
    tmp = tmp_path_factory.mktemp('ddp')
    config = probe_config(tmp)
    dist_dir, single_dir = tmp / 'ddp', tmp / 'single'
    # Both at once: most of their time is start-up (imports), which overlaps well.
    dist = start(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(dist_dir)]
                 + tiny_options(8), tmp / 'ddp.log', PORT=str(free_port()))
    single = start([sys.executable, 'tools/train.py', config, '--work-dir', str(single_dir)]
                   + tiny_options(16), tmp / 'single.log',
                   PYTHONPATH=str(REPO))  # dist_train.sh sets it likewise
    finish(single, tmp / 'single.log')
    dist_log = finish(dist, tmp / 'ddp.log')
    return dict(dist_dir=dist_dir, log=dist_log,
                ranks=[load_probe(dist_dir, 0), load_probe(dist_dir, 1)],
                single=load_probe(single_dir, 0))


def test_dist_train_runs_two_gloo_ranks_and_checkpoints_once(two_runs):
    ranks = two_runs['ranks']
    assert [(p['rank'], p['world_size']) for p in ranks] == [(0, 2), (1, 2)]
    assert all(p['wrapped'] == 'MMDistributedDataParallel' for p in ranks)
    assert "backend 'gloo' instead of the config's 'nccl'" in two_runs['log']
    # One checkpoint, written by rank 0 only (possibly as epoch_1.pth.part, then renamed).
    assert len(ranks[0]['saved']) == 1 and ranks[0]['saved'][0].startswith('epoch_1.pth')
    assert ranks[1]['saved'] == []
    assert sorted(f for f in os.listdir(two_runs['dist_dir']) if '.pth' in f) == ['epoch_1.pth']
    ckpt = torch.load(two_runs['dist_dir'] / 'epoch_1.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4  # 64 images / (2 ranks x 8)


def test_ranks_get_disjoint_shards_of_the_single_process_batches(two_runs):
    """DefaultSampler: both ranks shuffle alike and take every other index."""
    ranks, single = two_runs['ranks'], two_runs['single']
    assert len(single['sample_idx']) == 4 and all(len(b) == 16 for b in single['sample_idx'])
    for it, batch in enumerate(single['sample_idx']):
        a, b = ranks[0]['sample_idx'][it], ranks[1]['sample_idx'][it]
        assert len(a) == len(b) == 8 and not set(a) & set(b)
        assert sorted(a + b) == sorted(batch)


def test_ddp_matches_single_process_with_the_same_global_batch(two_runs):
    """2 x 8 under DDP computes what 1 x 16 computes: loss per step and trained weights.

    The loss is a per-image mean averaged over the batch, so the mean of the two ranks' losses
    is the 16-image loss, and DDP's gradient average is the 16-image gradient; the
    variance-covariance terms all-reduce their sums (with autograd), so every rank computes
    and differentiates the 16-image terms. That needs the
    same 16 views and masks in both runs: ``SeedEachSample`` seeds every sample from its index
    (a per-process RNG would give the ranks other crops and masks than the single process).
    Dropout and drop path are 0. Steps after the first only match if every gradient was
    averaged, the tokenizer's included (plain nn.Conv2d weights used by MinkowskiEngine's
    functional convolution).
    """
    ranks, single = two_runs['ranks'], two_runs['single']
    for name, w in single['init_online'].items():  # same seed, same initial weights
        assert torch.equal(ranks[0]['init_online'][name], w), name
    dist_loss = [(a + b) / 2 for a, b in zip(ranks[0]['losses'], ranks[1]['losses'])]
    assert len(dist_loss) == 4
    np.testing.assert_allclose(dist_loss, single['losses'], rtol=1e-4)
    assert abs(dist_loss[-1] - dist_loss[0]) > 1e-3  # it trained, so later steps have teeth
    # The variance-covariance terms are statistics of the global batch: every rank computes
    # the 16-image value (per-process statistics of 8 images differ from it, and then the
    # weights below differ by ~80 % of their movement).
    assert all(len(t) == 2 and t[0] > 0 for t in single['terms'])
    for rank in ranks:
        np.testing.assert_allclose(rank['terms'], single['terms'], rtol=1e-4)

    for name, w in single['online'].items():
        moved = (w - single['init_online'][name]).abs().max()
        diff = (ranks[0]['online'][name] - w).abs().max()
        if w.dtype.is_floating_point and moved > 0:
            assert diff < 0.01 * moved, (name, diff, moved)
    tokenizer = 'tokenizer.conv1.weight'
    assert (single['online'][tokenizer] - single['init_online'][tokenizer]).abs().max() > 1e-4


def test_online_and_ema_target_weights_are_identical_on_both_ranks(two_runs):
    """The EMA target is updated in loss() from the online weights, which DDP keeps equal."""
    r0, r1 = two_runs['ranks']
    for part in ('online', 'target'):
        for name, w in r0[part].items():
            assert torch.equal(w, r1[part][name]), (part, name)
    # ...and the target did move away from its initial copy of the online encoder.
    name = 'tokenizer.conv1.weight'
    assert not torch.equal(r0['target'][name], r0['init_online'][name])


def fake_python(tmp_path):
    """Stands in for the venv python: writes the arguments it got, one per line, and exits."""
    record = tmp_path / 'python_args.txt'
    fake = tmp_path / 'python'
    fake.write_text(f'#!/bin/sh\necho "PYTHONPATH=$PYTHONPATH" > {record}\n'
                    f'printf "%s\\n" "$@" >> {record}\n')
    fake.chmod(0o755)
    return str(fake), record


@pytest.mark.parametrize('script,positional,entry', [
    ('dist_train.sh', ['cfg.py', '4'], ['cfg.py']),
    ('dist_test.sh', ['cfg.py', 'ckpt.pth', '4'], ['cfg.py', 'ckpt.pth']),
])
def test_dist_scripts_hand_torchrun_the_multi_node_settings(tmp_path, script, positional, entry):
    python, record = fake_python(tmp_path)
    tool = str(REPO / 'tools' / script.replace('dist_', '').replace('.sh', '.py'))
    extra = ['--cfg-options', 'a=1 2']  # an argument with a space survives
    clean = {k: v for k, v in os.environ.items()
             if k not in ('NNODES', 'NODE_RANK', 'MASTER_ADDR', 'PORT', 'PYTHONPATH', 'PY')}
    for env, expect in [
            (dict(), ['--nnodes=1', '--node_rank=0', '--master_addr=127.0.0.1',
                      '--master_port=29500']),
            (dict(NNODES='2', NODE_RANK='1', MASTER_ADDR='10.1.2.3', PORT='29999'),
             ['--nnodes=2', '--node_rank=1', '--master_addr=10.1.2.3', '--master_port=29999'])]:
        subprocess.run(['bash', str(REPO / 'tools' / script)] + positional + extra,
                       env=dict(clean, PY=python, **env), check=True)
        lines = record.read_text().splitlines()
        assert lines[0] == f'PYTHONPATH={REPO}'  # so custom_imports find the repo's modules
        assert lines[1:] == ['-m', 'torch.distributed.run'] + expect + [
            '--nproc_per_node=4', tool] + entry + ['--launcher', 'pytorch'] + extra
    usage = subprocess.run(['bash', str(REPO / 'tools' / script), 'cfg.py'],
                           capture_output=True, text=True)
    assert usage.returncode == 2 and 'usage:' in usage.stderr
