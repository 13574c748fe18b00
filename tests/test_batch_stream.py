"""BatchStream: the batches of an iteration-based run. Same batches as mmengine's stream, no
2 s sleep at epoch ends where workers persist, and a resume that seeks instead of loading every
batch already trained, ending bit for bit where a run never interrupted ends (data in a
persistent worker there, in the main process here)."""
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.dataset import DefaultSampler
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import DataLoader

from scott_mm.engine import batch_stream
from scott_mm.engine.batch_stream import BatchStream
from tests.test_kill_resume import assert_same, logged, quick_runs, write_jepa_config  # noqa: F401

ITERATION_BASED = """
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=4, end=10),
]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=5, max_keep_ckpts=-1))
"""


def batches(stream, n):
    return [next(stream).tolist() for _ in range(n)]


def loader(**kwargs):
    data = list(range(6))
    return DataLoader(data, batch_size=2, sampler=DefaultSampler(data, shuffle=True, seed=0),
                      **kwargs)


@pytest.mark.parametrize('workers, persistent, sleeps', [(0, False, 0), (1, True, 0),
                                                         (1, False, 2)])
def test_same_batches_as_mmengine_and_sleeps_only_where_workers_are_torn_down(
        monkeypatch, workers, persistent, sleeps):
    slept = []
    monkeypatch.setattr(batch_stream.time, 'sleep', slept.append)  # mmengine's too
    kwargs = dict(num_workers=workers, persistent_workers=persistent)
    ours = batches(BatchStream(loader(**kwargs)), 9)  # three epochs of three batches
    assert len(slept) == sleeps
    assert ours == batches(_InfiniteDataloaderIterator(loader(**kwargs)), 9)
    assert len(slept) == sleeps + 2  # mmengine's stream sleeps at every epoch end
    assert sorted(sum(ours[3:6], [])) == list(range(6)) and ours[:3] != ours[3:6]  # reshuffled


@pytest.fixture
def counted_loads():
    """A LoadImageFromFile that counts the images it loads (data in the main process)."""
    from mmpretrain.registry import TRANSFORMS

    class CountingLoadImage(LoadImageFromFile):
        loads = 0

        def transform(self, results):
            CountingLoadImage.loads += 1
            return super().transform(results)

    TRANSFORMS.register_module(module=CountingLoadImage, force=True)
    yield CountingLoadImage
    TRANSFORMS._module_dict.pop('CountingLoadImage')


def test_resume_seeks_without_loading_trained_batches_and_matches_an_uninterrupted_run(
        tmp_path, photo_folder, quick_runs, counted_loads):  # noqa: F811
    from tools import train

    # 8 photos, batches of 2: 4 batches an epoch; iteration 5 is batch 2 of epoch 2
    cfg = write_jepa_config(tmp_path / 'iters.py', photo_folder, extra=ITERATION_BASED)
    counting = ['--cfg-options', 'train_dataloader.dataset.pipeline.0.type=CountingLoadImage']
    reference = tmp_path / 'reference'  # data in a persistent worker: its loads are not counted
    train.main([cfg, '--work-dir', str(reference), *counting, 'train_dataloader.num_workers=1',
                'train_dataloader.persistent_workers=True'])
    assert counted_loads.loads == 0

    resumed_runner = train.main([cfg, '--work-dir', str(tmp_path / 'resumed'), '--resume',
                                 str(reference / 'iter_5.pth'), *counting])
    log = open(f'{resumed_runner.log_dir}/{resumed_runner.timestamp}.log').read()
    assert 'Continuing at batch 2 of epoch 2' in log
    assert counted_loads.loads == 5 * 2  # mmengine's loop would load all 10 batches

    expected = torch.load(reference / 'iter_10.pth', weights_only=True)
    resumed = torch.load(tmp_path / 'resumed' / 'iter_10.pth', weights_only=True)
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state'):
        assert_same(expected[key], resumed[key], key)
    for key in ('train/loss', 'train/target_std', 'train/lr'):
        assert torch.equal(logged(expected, key), logged(resumed, key)), key
