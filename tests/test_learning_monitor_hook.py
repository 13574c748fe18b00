"""LearningMonitorHook through the real Runner: the demo config, shrunk, on a miniature
Fashion-MNIST made of real photos; the fixed-batch numbers checked by hand; failures that
leave training alone; plot_logs drawing the monitor panels."""
import glob
import json
import math
import time

import numpy as np
import pytest
import torch

from scott_mm.engine.hooks import LearningMonitorHook
from scott_mm.engine.hooks.learning_monitor_hook import (knn_accuracy, position_only_loss,
                                                         shortcut_diagnostics, split_bank_query)
from scott_mm.models.heads import LatentPredictionHead
from tests.conftest import REPO
from tests.data_utils import PHOTOS, photo, write_idx
from tests.test_mim_jepa import real_batch, tiny_jepa
from tests.test_visualization import SMALL_DATA, TINY_PRETRAIN, assert_picture
from tools import plot_logs

DEMO = str(REPO / 'configs' / 'scott_jepa_demo.py')
KEYS = ('monitor/knn_context', 'monitor/knn_target', 'monitor/loss',
        'monitor/loss_position_only', 'monitor/loss_other_context', 'monitor/target_rank',
        'monitor/context_rank')


@pytest.fixture(scope='module')
def fashion_root(tmp_path_factory):
    """Fashion-MNIST's four IDX files: 10 classes x 10 grey 28 px crops of real photos."""
    root = tmp_path_factory.mktemp('fashion-mnist')
    for prefix, per_class in (('train', 10), ('t10k', 1)):
        images, labels = [], []
        for c in range(10):
            for i in range(per_class):
                rgb = np.rot90(photo(PHOTOS[c % 4], variant=i, size=28), k=c // 4)
                images.append(rgb.mean(axis=2).round())
                labels.append(c)
        write_idx(str(root / f'{prefix}-images-idx3-ubyte.gz'), np.stack(images))
        write_idx(str(root / f'{prefix}-labels-idx1-ubyte.gz'), np.array(labels))
    return str(root)


def train_demo(work_dir, fashion_root, *options):
    """4 iterations (32 images, batch 8) of the tiny demo; the monitor every 2 iterations on
    20 labelled images (data_root comes from the training dataset)."""
    from tools import train
    small = [o.replace('indices=64', 'indices=32').replace('batch_size=16', 'batch_size=8')
             for o in SMALL_DATA]
    return train.main([DEMO, '--work-dir', str(work_dir), '--cfg-options', *TINY_PRETRAIN,
                       *small, f'train_dataloader.dataset.data_root={fashion_root}',
                       'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
                       'custom_hooks.0.interval=2', 'custom_hooks.0.dataset.num_labels=20',
                       # a name of its own: two Runners of one config started within the same
                       # second would otherwise share a MessageHub, and log into one file
                       f'experiment_name={work_dir.name}_{time.time_ns()}', *options])


def records(work_dir):
    (path, ) = glob.glob(f'{work_dir}/*/vis_data/scalars.json')
    with open(path) as f:
        return [json.loads(line) for line in f]


def log_text(work_dir):
    (path, ) = glob.glob(f'{work_dir}/*/*.log')
    with open(path) as f:
        return f.read()


@pytest.fixture(scope='module')
def monitored(tmp_path_factory, fashion_root):
    work_dir = tmp_path_factory.mktemp('monitored')
    return work_dir, train_demo(work_dir, fashion_root)


def test_scalars_at_the_right_iterations(monitored):
    work_dir, runner = monitored
    assert runner.iter == 4
    points = [r for r in records(work_dir) if 'monitor/loss' in r]
    assert [r['iter'] for r in points] == [0, 2, 4]  # untrained, every 2, (last)
    for r in points:
        assert set(KEYS) <= set(r)
        assert all(math.isfinite(r[k]) for k in KEYS), r
        assert 0 <= r['monitor/knn_context'] <= 100 and 0 <= r['monitor/knn_target'] <= 100
        assert r['monitor/target_rank'] >= 1 and r['monitor/context_rank'] >= 1
    # before any update the EMA target is the context encoder; then they part
    assert points[0]['monitor/knn_context'] == points[0]['monitor/knn_target']
    assert points[0]['monitor/loss'] != points[-1]['monitor/loss']
    # the same fixed batch and masks at every point: the position-only baseline barely moves
    # (only the EMA target does)
    assert points[0]['monitor/loss_position_only'] == pytest.approx(
        points[-1]['monitor/loss_position_only'], rel=0.2)
    assert runner.message_hub.get_scalar('monitor/loss').current() == points[-1]['monitor/loss']
    assert 'Learning monitor, iteration 2' in log_text(work_dir)


def test_monitor_leaves_training_unchanged(tmp_path, monitored, fashion_root):
    """Same weights bit for bit with and without the monitor: it restores the random streams
    and dropout, and never iterates the training dataloader."""
    work_dir, runner = monitored
    plain = train_demo(tmp_path / 'plain', fashion_root, 'custom_hooks=[]')
    with_monitor = runner.model.state_dict()
    for name, value in plain.model.state_dict().items():
        assert torch.equal(value, with_monitor[name]), name
    assert plain.model.training and runner.model.training


def test_broken_monitor_warns_and_training_finishes(tmp_path, fashion_root, monkeypatch):
    from scott_mm.engine.hooks import learning_monitor_hook

    def broken(model, data):
        raise RuntimeError('diagnostics exploded')

    monkeypatch.setattr(learning_monitor_hook, 'shortcut_diagnostics', broken)
    work_dir = tmp_path / 'broken'
    runner = train_demo(work_dir, fashion_root,
                        f'custom_hooks.0.dataset.data_root={tmp_path / "missing"}')
    assert runner.iter == 4
    assert not [r for r in records(work_dir) if any(k.startswith('monitor/') for k in r)]
    assert any('loss' in r for r in records(work_dir))  # training itself logged
    log = log_text(work_dir)
    assert 'LearningMonitorHook: kNN accuracy disabled' in log and 'missing' in log
    assert ('LearningMonitorHook: skipped fixed-batch diagnostics at iteration 2: '
            'RuntimeError: diagnostics exploded') in log


def test_plot_logs_draws_the_monitor_panels(tmp_path, monitored):
    work_dir, _ = monitored
    out = str(tmp_path / 'curves.png')
    keys = plot_logs.main([str(work_dir), '--out', out])
    assert keys == ['loss', 'target_std', 'target_rank', 'lr', 'monitor/knn',
                    'monitor/losses', 'monitor/ranks']
    assert_picture(out, plot_logs.figure_pixels(7))
    keys = plot_logs.main([str(work_dir), str(work_dir), '--keys', 'monitor/losses',
                           'monitor/knn_target', '--out', out])
    assert keys == ['monitor/losses', 'monitor/knn_target']


def test_position_only_loss_by_hand():
    """2 images x 2 positions x 1 channel; SmoothL1 (beta 1) is x^2 / 2 for |x| < 1."""
    targets = torch.tensor([[[0.0], [1.0]], [[0.4], [0.2]]])  # position means 0.2 and 0.6
    mask = torch.tensor([[1, 1], [0, 1]])
    # image 0: errors 0.2 and 0.4 -> (0.02 + 0.08) / 2 = 0.05; image 1: error 0.4 -> 0.08
    loss = position_only_loss(targets, mask, LatentPredictionHead().loss)
    assert loss.item() == pytest.approx((0.05 + 0.08) / 2)


def test_fixed_batch_numbers_are_the_training_loss():
    model = tiny_jepa().eval()  # no dropout, as the monitor measures
    inputs, samples = real_batch()
    data = dict(inputs=inputs, data_samples=samples)
    numbers = shortcut_diagnostics(model, data)
    assert numbers['monitor/loss'] == pytest.approx(model.loss(inputs, samples)['loss'].item())
    assert numbers['monitor/loss_other_context'] != numbers['monitor/loss']
    # with four copies of one image, another image's context is the same context
    same = [v[:1].expand_as(v).contiguous() for v in inputs]
    numbers = shortcut_diagnostics(model, dict(inputs=same, data_samples=samples))
    assert numbers['monitor/loss_other_context'] == pytest.approx(numbers['monitor/loss'])


def test_diverged_weights_give_nan_not_an_error():
    model = tiny_jepa().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(math.nan)
    inputs, samples = real_batch()
    numbers = shortcut_diagnostics(model, dict(inputs=inputs, data_samples=samples))
    assert all(math.isnan(v) for v in numbers.values()), numbers
    nan = torch.full((3, 4), math.nan)
    assert math.isnan(knn_accuracy(nan, torch.zeros(3), nan, torch.zeros(3), 2, 20, 0.07))


def test_bank_and_query_split_alternate_within_each_class():
    bank, query = split_bank_query([0, 0, 1, 1, 1, 0, 2])
    assert bank == [0, 2, 4, 5, 6] and query == [1, 3]


@pytest.mark.parametrize('kwargs, key', [
    (dict(), 'dataset=dict'),
    (dict(dataset=dict(type='X'), bank=dict(type='X')), 'not both'),
    (dict(bank=dict(type='X')), 'query must be a dataset config'),
    (dict(dataset='data/flowers'), 'dataset must be a dataset config'),
    (dict(dataset=dict(type='X'), interval=0), 'interval must be'),
    (dict(dataset=dict(type='X'), k=2.5), 'k must be'),
    (dict(dataset=dict(type='X'), temperature=0), 'temperature must be'),
])
def test_bad_arguments_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        LearningMonitorHook(**kwargs)
