"""The picture tools on a demo-like run: a tiny MIM-JEPA pretrained through the real Runner on
real Fashion-MNIST photos (the demo config, shrunk), a tiny linear probe on it, and real
colour JPEGs. Each PNG must have the size the tool promises and real content."""
import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import REPO, skimage_photos
from tests.data_utils import save_jpeg
from tools import draw_masked_tokenizer, plot_logs, visualize_features, visualize_masks

DEMO = str(REPO / 'configs' / 'scott_jepa_demo.py')
PROBE = str(REPO / 'configs' / 'linear_probe_demo.py')
TINY = dict(embed_dims=32, num_layers=2, num_heads=2)
TINY_MODEL = [f'model.backbone.arch.{k}={v}' for k, v in TINY.items()]
TINY_PRETRAIN = TINY_MODEL + [
    'model.backbone.backend=dense', 'model.neck.in_channels=32', 'model.neck.embed_dims=32',
    'model.neck.num_layers=1', 'model.neck.num_heads=2', 'model.neck.layer_id_offset=2']
SMALL_DATA = ['train_dataloader.dataset.indices=64', 'train_dataloader.batch_size=16',
              'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


def assert_picture(path, size):
    """A PNG of exactly ``size`` (width, height) px that is not blank or single-coloured."""
    img = np.asarray(Image.open(path).convert('RGB'))
    assert (img.shape[1], img.shape[0]) == size
    assert img.std() > 20, 'nearly uniform picture'
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50, 'too few distinct colours'


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    """Pretrain 1 epoch (4 iterations), then a 2-epoch linear probe from its checkpoint."""
    from tools import train
    root = tmp_path_factory.mktemp('demo_run')
    pretrain = str(root / 'pretrain')
    train.main([DEMO, '--work-dir', pretrain, '--cfg-options', *TINY_PRETRAIN, *SMALL_DATA,
                'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1'])
    ckpt = f'{pretrain}/epoch_1.pth'
    probe = str(root / 'probe')
    train.main([PROBE, '--work-dir', probe, '--cfg-options', *TINY_MODEL,
                'model.backbone.frozen_stages=2', 'model.head.in_channels=32',
                f'model.backbone.init_cfg.checkpoint={ckpt}',
                'train_dataloader.dataset.num_labels=50', 'val_dataloader.dataset.indices=50',
                'train_cfg.max_epochs=2', 'train_cfg.val_interval=1',
                'default_hooks.logger.interval=1'])
    # the config as the run used it (mmengine dumps it into the work dir), as a user would pass
    return dict(pretrain=pretrain, probe=probe, ckpt=ckpt, cfg=f'{pretrain}/scott_jepa_demo.py')


def test_masks_follow_the_demo_pipeline(tmp_path):
    out = str(tmp_path / 'masks.png')
    samples = visualize_masks.main([DEMO, '--num', '3', '--out', out])
    assert len(samples) == 3
    for s in samples:
        assert s['image'].shape == (32, 32, 3)  # Fashion-MNIST resized to 32 px, as loaded
        assert s['view1'].shape == s['view2'].shape == (32, 32, 3)
        assert s['mask'].shape == (8, 8) and s['mask'].sum() == 38  # floor(0.6 * 64)
    assert_picture(out, visualize_masks.figure_pixels(3))


def test_masks_of_colour_photos_through_the_flowers_pipeline(tmp_path):
    """The paper's 224 px pipeline on real JPEGs; the pictures come out in RGB order."""
    for i, (name, img) in enumerate(skimage_photos().items()):
        save_jpeg(str(tmp_path / 'data' / 'train' / f'c{i % 2}' / f'{name}.jpg'), img)
    cfg = tmp_path / 'photos_jepa.py'
    cfg.write_text(
        f"_base_ = ['{REPO}/configs/_base_/default_runtime.py',\n"
        f"          '{REPO}/configs/_base_/datasets/flowers102_jepa.py']\n"
        "model = dict(data_preprocessor=dict(to_rgb=True))\n"
        "train_dataloader = dict(dataset=dict(\n"
        f"    _delete_=True, type='SCOTTImageFolder', data_root='{tmp_path / 'data'}',\n"
        "    split='pretrain', val_fraction=0, pipeline={{_base_.train_pipeline}}))\n")
    out = str(tmp_path / 'masks.png')
    samples = visualize_masks.main([str(cfg), '--num', '2', '--out', out])
    originals = [np.asarray(Image.open(p).convert('RGB'), dtype=np.float32)
                 for p in sorted((tmp_path / 'data' / 'train').rglob('*.jpg'))]
    for s in samples:
        assert s['view1'].shape == s['view2'].shape == (224, 224, 3)
        assert s['mask'].shape == (14, 14) and s['mask'].sum() == 117  # the paper's 79 visible
        shown = s['image'].astype(np.float32)
        match = min(originals, key=lambda o: np.inf if o.shape != shown.shape
                    else np.abs(o - shown).mean())
        assert np.abs(match - shown).mean() < 2  # the loaded photo, shown as RGB
        assert np.abs(match[..., ::-1] - shown).mean() > 10  # not as BGR
    assert_picture(out, visualize_masks.figure_pixels(2))


def test_features_of_the_demo_checkpoint(tmp_path, demo_run):
    out = str(tmp_path / 'features.png')
    result = visualize_features.main([demo_run['cfg'], demo_run['ckpt'], '--num', '3',
                                      '--out', out])
    state = torch.load(demo_run['ckpt'], weights_only=True)['state_dict']
    assert torch.equal(result['backbone'].tokenizer.conv1.weight,
                       state['backbone.tokenizer.conv1.weight'])
    assert result['pca'].shape == (3, 8, 8, 3) and result['pca'].std() > 0.1
    assert result['attention'].shape == (3, 2, 8, 8)
    np.testing.assert_allclose(result['attention'].sum(axis=(2, 3)), 1, atol=1e-5)
    assert_picture(out, visualize_features.figure_pixels(3, 2))


def test_features_of_colour_photos_with_the_ema_target(tmp_path, demo_run):
    paths = []
    for name, img in list(skimage_photos().items())[:2]:
        paths.append(str(tmp_path / f'{name}.jpg'))
        save_jpeg(paths[-1], img)
    out = str(tmp_path / 'features.png')
    result = visualize_features.main([demo_run['cfg'], demo_run['ckpt'], '--images', *paths,
                                      '--out', out, '--prefix', 'target_encoder.module.',
                                      '--query', '1', '6'])
    state = torch.load(demo_run['ckpt'], weights_only=True)['state_dict']
    assert torch.equal(result['backbone'].tokenizer.conv2.weight,
                       state['target_encoder.module.tokenizer.conv2.weight'])
    assert result['query'] == (1, 6)
    assert [img.shape for img in result['images']] == [(32, 32, 3)] * 2
    assert_picture(out, visualize_features.figure_pixels(2, 2))
    with pytest.raises(ValueError, match='backbone.'):
        visualize_features.main([demo_run['cfg'], demo_run['ckpt'], '--images', paths[0],
                                 '--prefix', 'encoder.', '--out', str(tmp_path / 'never.png')])


def test_curves_of_pretraining_and_probe(tmp_path, demo_run):
    pretrain = plot_logs.read_scalars(demo_run['pretrain'])
    assert [x for x, _, _ in pretrain['loss']] == [1, 2, 3, 4]  # 64 images / batch 16
    assert {'target_std', 'target_rank', 'lr'} <= set(pretrain)
    probe = plot_logs.read_scalars(demo_run['probe'])
    assert [x for x, _, by_iter in probe['accuracy/top1']] == [1, 2]  # epochs
    out = str(tmp_path / 'curves.png')
    keys = plot_logs.main([demo_run['pretrain'], demo_run['probe'], '--out', out])
    assert keys == ['loss', 'target_std', 'target_rank', 'lr', 'accuracy/top1',
                    'monitor/knn', 'monitor/losses', 'monitor/ranks']  # the demo's monitor
    assert_picture(out, plot_logs.figure_pixels(8))
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        plot_logs.read_scalars(str(tmp_path))


def test_masked_tokenizer_picture_is_the_sparse_computation(tmp_path):
    """Checked against MinkowskiEngine's sparse forward; masked sites hold exact zeros."""
    out = str(tmp_path / 'tokenizer.png')
    result = draw_masked_tokenizer.main(['--out', out, '--backend', 'minkowski'])
    mask = result['mask']
    assert (~mask).sum() == 79
    sizes = [a.shape[-1] for a in result['activations']]
    assert sizes == [112, 56, 28, 14]
    for act in result['activations']:
        masked = np.kron(mask, np.ones((act.shape[-1] // 14,) * 2, dtype=bool))
        assert (act[0][:, torch.from_numpy(masked)] == 0).all()
    tokens = result['activations'][-1][0]
    assert (tokens.abs().sum(dim=0)[torch.from_numpy(~mask)] > 0).all()  # every visible token
    assert_picture(out, draw_masked_tokenizer.figure_pixels())


def test_masked_tokenizer_picture_loads_a_checkpoint_or_says_what_is_wrong(tmp_path):
    torch.manual_seed(1)
    from scott_mm.models.tokenizers.scott_tokenizer import SCOTTTokenizer
    trained = SCOTTTokenizer(embed_dims=384)
    good, wrong = str(tmp_path / 'good.pth'), str(tmp_path / 'wrong.pth')
    torch.save({'state_dict': {f'backbone.tokenizer.{k}': v
                               for k, v in trained.state_dict().items()}}, good)
    torch.save({'state_dict': {f'encoder.{k}': v for k, v in trained.state_dict().items()}},
               wrong)
    loaded = draw_masked_tokenizer.build_tokenizer('dense', good)
    assert torch.equal(loaded.conv2.weight, trained.conv2.weight)
    with pytest.raises(ValueError, match=r"no weights under the prefix 'backbone\.tokenizer\.'"
                                         r".*\['encoder\.'\]"):
        draw_masked_tokenizer.build_tokenizer('dense', wrong)
