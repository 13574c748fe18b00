"""scott_mm.apis.extract_features: encoder features of real photos from a config + checkpoint."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from scott_mm.apis import extract_features
from scott_mm.evaluation import EncoderCheckpointError, load_encoder
from scott_mm.registry import MODELS
from tests.conftest import REPO
from tests.test_evaluation_checkpoints import TINY, jepa_checkpoint, single_thread  # noqa: F401


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    return jepa_checkpoint(tmp_path_factory)


@pytest.fixture(scope='module')
def config():
    """The demo pretraining config with the checkpoint's tiny encoder."""
    cfg = Config.fromfile(f'{REPO}/configs/scott_jepa_demo.py')
    cfg.model.backbone.arch = dict(TINY)
    return cfg


def jpegs(photo_folder):
    return sorted(str(p) for p in photo_folder.rglob('*.jpg'))


def test_files_arrays_and_a_dataset_give_the_same_features(config, ckpt, photo_folder):
    paths = jpegs(photo_folder)
    feats = extract_features(config, ckpt, paths, progress=False)
    assert feats.shape == (len(paths), TINY['embed_dims']) and torch.isfinite(feats).all()
    assert feats.std(dim=0).mean() > 0  # different photos, different features
    arrays = [np.asarray(Image.open(p).convert('RGB')) for p in paths]
    torch.testing.assert_close(extract_features(config, ckpt, arrays, batch_size=3,
                                                progress=False), feats)
    # mmcv's own file loading (BGR) through an image-folder dataset: same colours, same numbers
    pipeline = [dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=37, edge='short',
                                                     backend='pillow', interpolation='bicubic'),
                dict(type='CenterCrop', crop_size=32), dict(type='PackInputs')]
    dataset = dict(type='CustomDataset', data_prefix=str(photo_folder), pipeline=pipeline)
    by_dataset = extract_features(config, ckpt, dataset, progress=False)
    torch.testing.assert_close(by_dataset, feats)  # both in sorted path order


def test_tokens_prefix_and_a_built_model(config, ckpt, photo_folder):
    paths = jpegs(photo_folder)[:3]
    tokens = extract_features(config, ckpt, paths, pool=False, progress=False)
    assert tokens.shape == (3, 64, TINY['embed_dims'])  # 32 px / stride 4 = 8x8 tokens
    torch.testing.assert_close(extract_features(config, ckpt, paths, progress=False),
                               tokens.mean(dim=1))
    target = extract_features(config, ckpt, paths, prefix='target_encoder.module.',
                              progress=False)
    assert not torch.equal(target, tokens.mean(dim=1))  # the EMA target is another encoder
    # a model in memory gives what its checkpoint gives, and is left as it was
    model = MODELS.build(config.model)
    load_encoder(model.backbone, ckpt)
    model.train()
    torch.testing.assert_close(extract_features(model, None, paths, progress=False),
                               tokens.mean(dim=1))
    assert model.backbone.training and model.backbone.out_type == 'raw'


def test_bad_checkpoint_or_prefix_is_named(config, ckpt, tmp_path, photo_folder):
    with pytest.raises(EncoderCheckpointError, match='checkpoint=.*is not a file'):
        extract_features(config, str(tmp_path / 'nope.pth'), jpegs(photo_folder))
    with pytest.raises(EncoderCheckpointError, match=r"under the prefix 'ema\.' \(prefix\)"):
        extract_features(config, ckpt, jpegs(photo_folder), prefix='ema.')
