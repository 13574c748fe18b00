"""Own data, end to end through tools/train.py and tools/test.py and the real Runner: MIM-JEPA
pretraining on a folder of odd photos (nested folders, grey, RGBA, palette, CMYK, PNG + JPG,
different sizes, hidden junk), then a linear probe and kNN on a labelled class-per-folder tree,
with only data_root (and the checkpoint) on the command line."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from scott_mm.engine.config_variables import ConfigVariableError, fill_config_variables
from scott_mm.evaluation import read_state_dict, select_encoder_weights
from tests.conftest import REPO
from tests.data_utils import make_image_folder, make_odd_photo_tree, photo, save_odd
from tests.test_evaluation_checkpoints import TINY, single_thread  # noqa: F401

CONFIGS = osp.join(REPO, 'configs')
LOADER = ['batch_size=4', 'num_workers=0', 'persistent_workers=False']


def loader_options(*loaders):
    return [f'{loader}.{option}' for loader in loaders for option in LOADER]


def image_paths(dataset):
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def tiny(name, folder) -> str:
    """The shipped config with a tiny SCOTT (arch is a name there, so --cfg-options cannot
    swap it for a dict); everything else, data included, is the config as shipped."""
    model = dict(backbone=dict(arch=dict(_delete_=True, **TINY)))
    if name == 'scott_jepa_folder':
        model['neck'] = dict(in_channels=32, embed_dims=32, num_layers=1, num_heads=2,
                             layer_id_offset=1)
    elif name == 'linear_probe_folder':
        model['head'] = dict(in_channels=32)
    path = osp.join(folder, f'{name}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(CONFIGS, name + '.py')!r}]\nmodel = {model!r}\n")
    return path


@pytest.fixture(scope='module')
def labelled(tmp_path_factory):
    """train/<class>/ (with a nested folder and odd images) and test/<class>/; 3 classes."""
    root = tmp_path_factory.mktemp('labelled')
    make_image_folder(str(root), {'train': {'cat': 3, 'coffee': 3, 'rocket': 3},
                                  'test': {'cat': 2, 'coffee': 1, 'rocket': 2}}, size=40)
    for i, (rel, mode) in enumerate((('train/cat/2021/grey.png', 'L'),
                                     ('train/rocket/alpha.PNG', 'RGBA'),
                                     ('test/coffee/palette.png', 'P'))):
        save_odd(str(root / rel), photo('coffee', i, 56), mode)
    return root


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """A MIM-JEPA checkpoint from configs/scott_jepa_folder.py on a folder of odd photos."""
    from tools import train
    photos = tmp_path_factory.mktemp('photos')
    images = make_odd_photo_tree(str(photos))
    work_dir = str(tmp_path_factory.mktemp('scott_jepa_folder'))
    with pytest.MonkeyPatch.context() as monkeypatch:
        from tests.test_evaluation_checkpoints import skip_config_formatting, torch_threads
        skip_config_formatting(monkeypatch)
        with torch_threads(1):
            runner = train.main([
                tiny('scott_jepa_folder', work_dir), '--work-dir', work_dir, '--cfg-options',
                f'data_root={photos}', *loader_options('train_dataloader'),
                'train_cfg.max_epochs=1'])
    return dict(runner=runner, images=images, ckpt=osp.join(work_dir, 'epoch_1.pth'))


def test_pretraining_reads_every_photo_of_the_folder(pretrained):
    runner = pretrained['runner']
    assert sorted(image_paths(runner.train_dataloader.dataset)) == pretrained['images']
    assert runner.iter == 2  # 7 photos, batches of 4 and 3: no photo dropped
    assert osp.isfile(pretrained['ckpt'])
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))


def test_linear_probe_then_test_with_data_root_only(pretrained, labelled, tmp_path):
    from tools import test, train
    config = tiny('linear_probe_folder', tmp_path)
    common = [f'data_root={labelled}',
              *loader_options('train_dataloader', 'val_dataloader', 'test_dataloader')]
    runner = train.main([config, '--work-dir', str(tmp_path), '--cfg-options', *common,
                         f'model.backbone.init_cfg.checkpoint={pretrained["ckpt"]}',
                         'train_cfg.max_epochs=1'])
    assert runner.model.head.num_classes == 3  # counted from train/'s class folders
    assert runner.train_dataloader.dataset.metainfo['classes'] == ('cat', 'coffee', 'rocket')
    # 11 training photos: 3 carved for val (one per class), 8 to fit; test/ is the test split
    assert len(runner.train_dataloader.dataset) == 8 and len(runner.val_dataloader.dataset) == 3
    assert all('/train/' in p for p in image_paths(runner.val_dataloader.dataset))
    assert all('/test/' in p for p in image_paths(runner.test_dataloader.dataset))
    expected = select_encoder_weights(read_state_dict(pretrained['ckpt']), 'backbone.',
                                      runner.model.backbone)
    assert all(torch.equal(v, expected[k]) for k, v in runner.model.backbone.state_dict().items())
    best = tmp_path / 'best_accuracy_top1_epoch_1.pth'
    metrics = test.main([config, str(best), '--work-dir', str(tmp_path), '--cfg-options',
                         *common])
    assert set(metrics) == {'accuracy/top1'} and 0 <= metrics['accuracy/top1'] <= 100


def test_knn_with_data_root_only(pretrained, labelled, tmp_path):
    from tools import test
    metrics = test.main([
        tiny('knn_folder', tmp_path), pretrained['ckpt'], '--work-dir', str(tmp_path),
        '--cfg-options', f'data_root={labelled}',
        *loader_options('test_dataloader', 'model.bank_dataloader')])
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_a_train_and_val_tree_reports_on_val(pretrained, tmp_path):
    """Imagenette's layout (train/ + val/): val/ is the test split, val is carved from train."""
    from tools import test
    make_image_folder(str(tmp_path / 'data'), {'train': {'a': 2, 'b': 2}, 'val': {'a': 1, 'b': 1}})
    config = Config.fromfile(osp.join(CONFIGS, 'knn_folder.py'))
    config.merge_from_dict(dict(data_root=str(tmp_path / 'data')))
    filled = fill_config_variables(config)
    assert filled.model.num_classes == 2
    from scott_mm.registry import DATASETS
    test_set = DATASETS.build(filled.test_dataloader.dataset)
    bank = DATASETS.build(filled.model.bank_dataloader.dataset)
    assert len(test_set) == 2 and all('/val/' in p for p in image_paths(test_set))
    assert len(bank) == 2 and all('/train/' in p for p in image_paths(bank))  # 2 carved off
    metrics = test.main([tiny('knn_folder', tmp_path), pretrained['ckpt'], '--work-dir',
                         str(tmp_path / 'work'), '--cfg-options',
                         f'data_root={tmp_path / "data"}',
                         *loader_options('test_dataloader', 'model.bank_dataloader')])
    assert 0 <= metrics['accuracy/top1'] <= 100


@pytest.mark.parametrize('name', ['scott_jepa_folder', 'linear_probe_folder', 'knn_folder'])
def test_without_data_root_the_message_says_what_to_add(name):
    cfg = Config.fromfile(osp.join(CONFIGS, f'{name}.py'))
    with pytest.raises(ConfigVariableError, match='add --cfg-options data_root=/path/to/them'):
        fill_config_variables(cfg)


def test_config_variables_fill_every_placeholder_and_nothing_else(labelled):
    cfg = Config.fromfile(osp.join(CONFIGS, 'linear_probe_folder.py'))
    cfg.merge_from_dict(dict(data_root=str(labelled), num_classes=7))
    filled = fill_config_variables(cfg)
    assert '{' not in filled.pretty_text.replace('{{', '')  # no placeholder left anywhere
    loaders = [filled[k] for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    assert all(loader.dataset.data_root == str(labelled) for loader in loaders)
    assert filled.model.head.num_classes == 7  # given: wins over counting
    assert cfg.train_dataloader.dataset.data_root == '{data_root}'  # the input is untouched
    plain = Config.fromfile(osp.join(CONFIGS, 'linear_probe_flowers.py'))
    assert fill_config_variables(plain) is plain
    for bad in (0, 'three', 2.5):
        cfg.num_classes = bad
        with pytest.raises(ConfigVariableError, match=f"num_classes must be .* got {bad!r}"):
            fill_config_variables(cfg)


def test_mask_pictures_of_ones_own_photos(tmp_path):
    """tools/visualize_masks.py takes data_root like the training command: the paper's 224 px
    views and masks of grey, RGBA, palette and CMYK photos, all in colour."""
    from tools import visualize_masks
    make_odd_photo_tree(str(tmp_path / 'photos'))
    samples = visualize_masks.main([osp.join(CONFIGS, 'scott_jepa_folder.py'), '--num', '7',
                                    '--out', str(tmp_path / 'masks.png'), '--cfg-options',
                                    f'data_root={tmp_path / "photos"}'])
    assert len(samples) == 7 and (tmp_path / 'masks.png').stat().st_size > 0
    for s in samples:
        assert s['view1'].shape == s['view2'].shape == (224, 224, 3)
        assert s['image'].ndim == 3 and s['image'].shape[2] == 3
