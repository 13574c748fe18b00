"""Datasets: real photos on miniature on-disk trees, honest splits, the offline Fashion-MNIST
default, and the promised messages for bad input."""
import gzip
import os
import os.path as osp
import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

import scott_mm  # noqa: F401  (registers the datasets)
from scott_mm.datasets import DatasetLayoutError, UnreadableImageError
from scott_mm.datasets import fashion_mnist as fm_module
from scott_mm.datasets.idx import read_idx
from scott_mm.datasets.imagenet100 import imagenet100_wnids
from scott_mm.datasets.splits import balanced_subset, carve_val
from scott_mm.registry import DATASETS
from tests.data_utils import (PET_BREEDS, make_flowers, make_image_folder, make_odd_photo_tree,
                              make_pets, photo, write_idx)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=32),
            dict(type='PackInputs')]


def build(**cfg):
    return DATASETS.build(cfg)


def paths(ds):
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def labels(ds):
    return [int(ds.get_data_info(i)['gt_label']) for i in range(len(ds))]


@pytest.fixture(scope='module')
def flowers(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'flowers-102')
    return root, make_flowers(root)


@pytest.fixture(scope='module')
def pets(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'oxford-iiit-pet')
    return root, make_pets(root)


# ----------------------------------------------------------------------------- split logic

def test_carve_val_is_stratified_seeded_and_disjoint():
    infos = [dict(i=i, gt_label=i % 4) for i in range(200)]
    train, val = carve_val(infos, 0.1, seed=0)
    assert len(val) == 20 and len(train) == 180
    assert np.bincount([x['gt_label'] for x in val]).tolist() == [5, 5, 5, 5]
    assert {x['i'] for x in train}.isdisjoint(x['i'] for x in val)
    assert carve_val(infos, 0.1, seed=0) == (train, val)
    assert carve_val(infos, 0.1, seed=1)[1] != val


def test_balanced_subset_counts_and_seed():
    infos = [dict(i=i, gt_label=i % 10) for i in range(1000)]
    sub = balanced_subset(infos, 105, seed=3)
    counts = np.bincount([x['gt_label'] for x in sub], minlength=10)
    assert len(sub) == 105 and counts.min() == 10 and counts.max() == 11
    assert balanced_subset(infos, 105, seed=3) == sub
    assert balanced_subset(infos, 105, seed=4) != sub
    uneven = [dict(gt_label=0)] * 5 + [dict(gt_label=1)] * 100
    with pytest.raises(ValueError, match='needs 10 samples of class 0, but the split has only 5'):
        balanced_subset(uneven, 20, seed=0)


def test_unknown_split_names_the_valid_ones(flowers):
    with pytest.raises(ValueError, match='all_including_test'):
        build(type='SCOTTFlowers102', data_root=flowers[0], split='everything')


# ----------------------------------------------------------------------------- Flowers-102

def test_flowers_splits_follow_setid(flowers):
    root, ids = flowers
    expect = {'train': ids['trnid'], 'val': ids['valid'], 'test': ids['tstid'],
              'trainval': ids['trnid'] + ids['valid'], 'pretrain': ids['trnid'] + ids['valid'],
              'all_including_test': ids['trnid'] + ids['valid'] + ids['tstid']}
    for split, want in expect.items():
        ds = build(type='SCOTTFlowers102', data_root=root, split=split)
        got = [int(osp.basename(p)[6:11]) for p in paths(ds)]
        assert sorted(got) == sorted(want), split
    pretrain = set(paths(build(type='SCOTTFlowers102', data_root=root, split='pretrain')))
    test = set(paths(build(type='SCOTTFlowers102', data_root=root, split='test')))
    assert pretrain.isdisjoint(test)


def test_flowers_labels_and_torchvision_parent_root(flowers):
    root, ids = flowers
    ds = build(type='SCOTTFlowers102', data_root=osp.dirname(root), split='train')  # parent dir
    assert ds.data_root == root
    # make_flowers gives class c (label c + 1 in the .mat) two consecutive train ids
    assert labels(ds) == [0, 0, 1, 1, 2, 2]
    assert len(ds.metainfo['classes']) == 102


def test_flowers_real_pipeline(flowers):
    root, _ = flowers
    ds = build(type='SCOTTFlowers102', data_root=root, split='train', pipeline=PIPELINE)
    out = ds[0]
    assert out['inputs'].shape == (3, 32, 32) and out['inputs'].dtype == torch.uint8
    assert out['data_samples'].gt_label.tolist() == [0]
    assert out['inputs'].float().std() > 10  # a real photo, not a blank
    # LoadImageFromFile gives back the photo that was written (BGR; JPEG error only)
    plain = build(type='SCOTTFlowers102', data_root=root, split='train',
                  pipeline=[dict(type='LoadImageFromFile')])
    img = plain[0]['img'][..., ::-1].astype(int)
    assert np.abs(img - photo('astronaut', 1)).mean() < 8
    assert np.abs(img - photo('chelsea', 1)).mean() > 30


def test_flowers_missing_root_one_message(tmp_path):
    bad = str(tmp_path / 'nowhere')
    with pytest.raises(DatasetLayoutError) as e:
        build(type='SCOTTFlowers102', data_root=bad, lazy_init=True)
    msg = str(e.value)
    assert bad in msg and 'not a directory' in msg
    assert 'jpg/image_00001.jpg' in msg and 'setid.mat' in msg      # expected layout
    assert 'robots.ox.ac.uk/~vgg/data/flowers/102' in msg              # where to get it


def test_flowers_wrong_root_names_missing_entries(flowers, tmp_path):
    shutil.copytree(flowers[0], tmp_path / 'f')
    os.remove(tmp_path / 'f' / 'setid.mat')
    with pytest.raises(DatasetLayoutError, match=r'missing setid\.mat') as e:
        build(type='SCOTTFlowers102', data_root=str(tmp_path / 'f'))
    assert str(tmp_path / 'f') in str(e.value)


def test_flowers_missing_image_named(flowers, tmp_path):
    shutil.copytree(flowers[0], tmp_path / 'f')
    os.remove(tmp_path / 'f' / 'jpg' / 'image_00004.jpg')
    with pytest.raises(DatasetLayoutError, match=r'1 image\(s\).*jpg/image_00004\.jpg'):
        build(type='SCOTTFlowers102', data_root=str(tmp_path / 'f'))


@pytest.mark.parametrize('parts', [('trnid', 'tstid'), ('valid', 'tstid'), ('trnid', 'valid')])
def test_flowers_overlapping_setid_refused(flowers, tmp_path, parts):
    """Issue 19: an image in 'trnid' and 'tstid' landed in split='pretrain' and in 'test'."""
    from scipy.io import savemat
    shutil.copytree(flowers[0], tmp_path / 'f')
    ids = {k: list(v) for k, v in flowers[1].items()}
    ids[parts[0]].append(ids[parts[1]][0])
    savemat(tmp_path / 'f' / 'setid.mat', {k: np.array([v], dtype=np.uint16)
                                           for k, v in ids.items()})
    for split in ('pretrain', 'test', 'train'):
        with pytest.raises(DatasetLayoutError) as e:
            build(type='SCOTTFlowers102', data_root=str(tmp_path / 'f'), split=split)
        assert (f"{tmp_path / 'f' / 'setid.mat'} lists 1 image id(s) in both {parts[0]!r} and "
                f"{parts[1]!r}: [{ids[parts[1]][0]}]") in str(e.value)


def test_pets_image_in_trainval_and_test_refused(pets, tmp_path):
    shutil.copytree(pets[0], tmp_path / 'p')
    test_line = open(tmp_path / 'p' / 'annotations' / 'test.txt').readline()
    with open(tmp_path / 'p' / 'annotations' / 'trainval.txt', 'a') as f:
        f.write(test_line)
    with pytest.raises(DatasetLayoutError, match=r'more than one split \(train and test: .*'
                       + test_line.split()[0] + r'\.jpg\): test images would leak'):
        build(type='SCOTTOxfordIIITPet', data_root=str(tmp_path / 'p'), split='pretrain')


# ----------------------------------------------------------------------------- Pets

def test_pets_val_carved_from_trainval_never_test(pets):
    root, names = pets
    split = {s: build(type='SCOTTOxfordIIITPet', data_root=root, split=s)
             for s in ('train', 'val', 'pretrain', 'test', 'all_including_test')}
    stem = {s: {osp.basename(p)[:-4] for p in paths(d)} for s, d in split.items()}
    assert stem['pretrain'] == set(names['trainval.txt'])
    assert stem['test'] == set(names['test.txt'])
    assert stem['train'] | stem['val'] == stem['pretrain']
    assert not stem['train'] & stem['val']
    assert sorted(labels(split['val'])) == [0, 1, 2]          # one per breed, stratified
    assert stem['all_including_test'] == stem['pretrain'] | stem['test']
    other = build(type='SCOTTOxfordIIITPet', data_root=root, split='val', split_seed=1)
    assert len(other) == 3  # same size, seed-dependent choice (checked in the unit test)
    assert split['val'].test_mode and not split['train'].test_mode


def test_pets_labels_match_breeds_and_pipeline(pets):
    root, _ = pets
    ds = build(type='SCOTTOxfordIIITPet', data_root=osp.dirname(root), split='test',
               pipeline=PIPELINE)
    classes = ds.metainfo['classes']
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        breed = osp.basename(info['img_path']).rsplit('_', 1)[0]
        assert classes[info['gt_label']] == breed
    out = ds[len(ds) - 1]
    assert out['inputs'].shape == (3, 32, 32)
    assert out['data_samples'].gt_label.item() == PET_BREEDS[-1][0] - 1


def test_pets_malformed_line_reported(pets, tmp_path):
    shutil.copytree(pets[0], tmp_path / 'p')
    with open(tmp_path / 'p' / 'annotations' / 'test.txt', 'a') as f:
        f.write('Abyssinian_99 cat\n')
    with pytest.raises(DatasetLayoutError) as e:
        build(type='SCOTTOxfordIIITPet', data_root=str(tmp_path / 'p'))
    msg = str(e.value)
    assert 'test.txt, line 7' in msg and 'Abyssinian_99 cat' in msg
    assert 'robots.ox.ac.uk/~vgg/data/pets' in msg


def test_pets_empty_root(tmp_path):
    with pytest.raises(DatasetLayoutError) as e:
        build(type='SCOTTOxfordIIITPet', data_root=str(tmp_path))
    assert 'missing images/, annotations/trainval.txt, annotations/test.txt' in str(e.value)
    assert str(tmp_path) in str(e.value)


# ----------------------------------------------------------------------------- ImageNet-100

def test_imagenet100_list():
    wnids = imagenet100_wnids()
    assert len(wnids) == 100 == len(set(wnids))
    assert wnids[:4] == ['n02869837', 'n01749939', 'n02488291', 'n02107142']
    assert wnids[-1] == 'n02090622'
    assert all(len(w) == 9 and w[0] == 'n' and w[1:].isdigit() for w in wnids)


@pytest.fixture(scope='module')
def imagenet(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('imagenet'))
    wnids = imagenet100_wnids()
    extra = ['n01440764', 'n15075141']  # tench, toilet tissue: not in ImageNet-100
    make_image_folder(root, {'train': {w: 2 for w in wnids + extra},
                             'val': {w: 1 for w in wnids + extra}}, size=16)
    return root, wnids, extra


def test_imagenet100_filters_and_splits(imagenet):
    root, wnids, extra = imagenet
    ds = {s: build(type='ImageNet100', data_root=root, split=s)
          for s in ('train', 'val', 'pretrain', 'test', 'all_including_test')}
    assert {s: len(d) for s, d in ds.items()} == dict(
        train=100, val=100, pretrain=200, test=100, all_including_test=300)
    assert ds['test'].metainfo['classes'] == tuple(sorted(wnids))
    for d in ds.values():
        for i in range(len(d)):
            info = d.get_data_info(i)
            wnid = osp.basename(osp.dirname(info['img_path']))
            assert wnid not in extra
            assert d.metainfo['classes'][info['gt_label']] == wnid
    assert all('/val/' in p for p in paths(ds['test']))
    assert not any('/val/' in p for p in paths(ds['pretrain']))


def test_imagenet100_premade_copy_and_pipeline(imagenet, tmp_path):
    root, wnids, _ = imagenet
    for part in ('train', 'val'):  # a ready 100-class copy: only the listed folders
        for w in wnids:
            shutil.copytree(osp.join(root, part, w), tmp_path / part / w)
    full = build(type='ImageNet100', data_root=root, split='pretrain')
    made = build(type='ImageNet100', data_root=str(tmp_path), split='pretrain', pipeline=PIPELINE)
    assert [osp.relpath(p, root) for p in paths(full)] == \
        [osp.relpath(p, str(tmp_path)) for p in paths(made)]
    assert labels(full) == labels(made)
    assert made[0]['inputs'].shape == (3, 32, 32)


def test_imagenet100_missing_class_named(imagenet, tmp_path):
    root, wnids, _ = imagenet
    shutil.copytree(root, tmp_path / 'in')
    shutil.rmtree(tmp_path / 'in' / 'train' / wnids[5])
    with pytest.raises(DatasetLayoutError) as e:
        build(type='ImageNet100', data_root=str(tmp_path / 'in'))
    msg = str(e.value)
    assert '1 of the 100 listed classes' in msg and wnids[5] in msg and 'image-net.org' in msg


def test_imagenet100_val_must_be_sorted_into_folders(imagenet, tmp_path):
    root, wnids, _ = imagenet
    shutil.copytree(osp.join(root, 'train'), tmp_path / 'train')
    (tmp_path / 'val').mkdir()
    (tmp_path / 'val' / 'ILSVRC2012_val_00000001.JPEG').write_bytes(b'')  # flat layout
    with pytest.raises(DatasetLayoutError, match='no images .* class folders of .*val'):
        build(type='ImageNet100', data_root=str(tmp_path), split='test')


# ----------------------------------------------------------------------------- any image folder

def test_image_folder_carves_val_and_rejects_unknown_classes(tmp_path):
    make_image_folder(str(tmp_path), {'train': {'cat': 4, 'rocket': 4}, 'test': {'cat': 1}})
    val = build(type='SCOTTImageFolder', data_root=str(tmp_path), split='val')
    train = build(type='SCOTTImageFolder', data_root=str(tmp_path), split='train')
    test = build(type='SCOTTImageFolder', data_root=str(tmp_path), split='test',
                 pipeline=PIPELINE)
    assert val.metainfo['classes'] == ('cat', 'rocket')
    assert sorted(labels(val)) == [0, 1] and len(train) == 6
    assert set(paths(val)).isdisjoint(paths(train))
    assert len(test) == 1 and test[0]['inputs'].shape == (3, 32, 32)
    make_image_folder(str(tmp_path), {'test': {'dog': 1}})
    with pytest.raises(DatasetLayoutError, match=r"train folder lacks: \['dog'\]"):
        build(type='SCOTTImageFolder', data_root=str(tmp_path), split='test')


def test_image_folder_wrong_root(tmp_path):
    (tmp_path / 'images').mkdir()
    with pytest.raises(DatasetLayoutError) as e:
        build(type='SCOTTImageFolder', data_root=str(tmp_path))
    msg = str(e.value)
    assert 'missing train/' in msg and str(tmp_path) in msg and 'train/<class name>/' in msg


def test_image_folder_takes_val_as_test_when_there_is_no_test_folder(tmp_path):
    """test=('test', 'val'): a train/ + val/ tree (ImageNet, Imagenette) reports on val/ and
    selects on a part carved from train; with a test/ folder too, every folder keeps its role."""
    dirs = dict(train='train', val='val', test=('test', 'val'))
    make_image_folder(str(tmp_path), {'train': {'cat': 4, 'rocket': 4}, 'val': {'cat': 2}})
    parts = {s: build(type='SCOTTImageFolder', data_root=str(tmp_path), split=s,
                      split_dirs=dirs) for s in ('train', 'val', 'test')}
    assert all(p.startswith(str(tmp_path / 'val')) for p in paths(parts['test']))
    assert len(parts['test']) == 2 and len(parts['val']) == 2 and len(parts['train']) == 6
    assert all('/train/' in p for p in paths(parts['val']) + paths(parts['train']))
    make_image_folder(str(tmp_path), {'test': {'rocket': 3}})
    parts = {s: build(type='SCOTTImageFolder', data_root=str(tmp_path), split=s,
                      split_dirs=dirs) for s in ('train', 'val', 'test')}
    assert len(parts['test']) == 3 and paths(parts['val'])[0].startswith(str(tmp_path / 'val'))
    assert len(parts['train']) == 8
    layout = r'train/<class name>/.*\n.*val/.*\n.*test\|val/'
    with pytest.raises(DatasetLayoutError, match=layout):
        build(type='SCOTTImageFolder', data_root=str(tmp_path / 'nothing'), split_dirs=dirs)


def test_unlabelled_folder_reads_any_tree_and_holds_out_test(tmp_path):
    photos = make_odd_photo_tree(str(tmp_path / 'photos'))
    ds = build(type='SCOTTUnlabelledFolder', data_root=str(tmp_path / 'photos'),
               pipeline=[dict(type='SCOTTLoadImageFromFile'),
                         dict(type='RandomResizedCrop', scale=32), dict(type='PackInputs')])
    assert sorted(paths(ds)) == photos  # nested, any case, no hidden junk, no text file
    os.symlink(tmp_path / 'photos' / 'holiday', tmp_path / 'photos' / 'misc' / 'link')
    os.symlink(tmp_path / 'photos', tmp_path / 'photos' / 'misc' / 'loop')
    linked = build(type='SCOTTUnlabelledFolder', data_root=str(tmp_path / 'photos'))
    assert len(linked) == len(photos)  # a linked folder counts once; a loop ends
    for i in range(len(ds)):  # grey, RGBA, palette, CMYK: all decode to 3 channels
        assert ds[i]['inputs'].shape == (3, 32, 32)
        assert 'gt_label' not in ds.get_data_info(i)
    # a labelled tree: train/ (and val/ when there is a test/) pretrain, test/ is held out
    root = str(tmp_path / 'labelled')
    make_image_folder(root, {'train': {'cat': 3}, 'val': {'cat': 2}, 'test': {'cat': 1}})
    pretrain = build(type='SCOTTUnlabelledFolder', data_root=root)
    test = build(type='SCOTTUnlabelledFolder', data_root=root, split='test')
    everything = build(type='SCOTTUnlabelledFolder', data_root=root, split='all_including_test')
    assert len(pretrain) == 5 and not any('/test/' in p for p in paths(pretrain))
    assert len(test) == 1 and len(everything) == 6
    shutil.rmtree(osp.join(root, 'test'))  # train/ + val/: val/ is the held-out split
    assert all('/train/' in p for p in paths(build(type='SCOTTUnlabelledFolder', data_root=root)))
    assert len(build(type='SCOTTUnlabelledFolder', data_root=root, test_dirs=())) == 5


def test_unlabelled_folder_bad_roots(tmp_path):
    with pytest.raises(DatasetLayoutError, match='data_root is not a directory'):
        build(type='SCOTTUnlabelledFolder', data_root=str(tmp_path / 'missing'))
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    (tmp_path / 'empty' / 'sub' / 'notes.txt').write_text('no photos here')
    with pytest.raises(DatasetLayoutError, match=r'no images \(.jpg.*\) under the root'):
        build(type='SCOTTUnlabelledFolder', data_root=str(tmp_path / 'empty'))
    make_image_folder(str(tmp_path / 'only_val'), {'val': {'cat': 1}})
    with pytest.raises(DatasetLayoutError, match='outside the held-out .*only_val/val'):
        build(type='SCOTTUnlabelledFolder', data_root=str(tmp_path / 'only_val'))


# ----------------------------------------------------------------------------- bad image files

@pytest.fixture
def broken_flowers(flowers, tmp_path):
    root = str(tmp_path / 'f')
    shutil.copytree(flowers[0], root)
    with open(osp.join(root, 'jpg', 'image_00001.jpg'), 'wb') as f:
        f.write(b'this is not a JPEG' * 10)
    open(osp.join(root, 'jpg', 'image_00002.jpg'), 'wb').close()  # empty file
    with open(osp.join(root, 'jpg', 'image_00007.jpg'), 'rb+') as f:  # a real photo, cut short
        f.truncate(os.path.getsize(f.name) - 200)
    return root


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('image_id', [1, 2, 7])
def test_unreadable_image_fails_fast_with_path(broken_flowers, image_id, backend):
    ds = build(type='SCOTTFlowers102', data_root=broken_flowers, split='all_including_test',
               pipeline=[dict(type='SCOTTLoadImageFromFile', imdecode_backend=backend),
                         dict(type='PackInputs')])
    path = osp.join(broken_flowers, 'jpg', f'image_{image_id:05d}.jpg')
    with pytest.raises(UnreadableImageError, match=f'cannot read image {path}'):
        ds[paths(ds).index(path)]
    good = osp.join(broken_flowers, 'jpg', 'image_00008.jpg')
    assert ds[paths(ds).index(good)]['inputs'].shape[0] == 3


def test_unreadable_images_skipped_and_counted(broken_flowers):
    ds = build(type='SCOTTFlowers102', data_root=broken_flowers, split='train',
               pipeline=[dict(type='SCOTTLoadImageFromFile', on_error='skip'),
                         dict(type='PackInputs')])
    loader = ds.pipeline.transforms[0]
    bad = {osp.join(broken_flowers, 'jpg', f'image_{i:05d}.jpg') for i in (1, 2, 7)}
    assert bad <= set(paths(ds))
    for i in range(len(ds)):  # training mode: a readable sample comes back instead
        out = ds[i]
        assert out['data_samples'].img_path not in bad
        assert out['inputs'].shape[0] == 3 and out['inputs'].float().std() > 10
    assert loader.num_skipped >= 3


# ----------------------------------------------------------------------------- Fashion-MNIST

def test_idx_round_trip_and_truncation(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(str(tmp_path / 'a.gz'), arr)
    assert np.array_equal(read_idx(str(tmp_path / 'a.gz')), arr)
    write_idx(str(tmp_path / 'b.gz'), arr)
    raw = gzip.open(tmp_path / 'b.gz').read()
    with gzip.open(tmp_path / 'b.gz', 'wb') as f:
        f.write(raw[:-5])
    with pytest.raises(ValueError, match=f'{tmp_path / "b.gz"}.*truncated'):
        read_idx(str(tmp_path / 'b.gz'))


def test_fashion_mnist_explicit_root_and_bad_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (('train', 40), ('t10k', 10)):
        write_idx(str(tmp_path / f'{prefix}-images-idx3-ubyte.gz'),
                  rng.integers(0, 256, (n, 28, 28)))
        write_idx(str(tmp_path / f'{prefix}-labels-idx1-ubyte.gz'), np.arange(n) % 10)
    ds = build(type='SCOTTFashionMNIST', data_root=str(tmp_path), split='val', img_size=28)
    assert len(ds) == 10 and sorted(labels(ds)) == list(range(10))
    write_idx(str(tmp_path / 't10k-labels-idx1-ubyte.gz'), np.arange(9))
    with pytest.raises(ValueError, match='do not match'):
        build(type='SCOTTFashionMNIST', data_root=str(tmp_path))
    os.remove(tmp_path / 't10k-labels-idx1-ubyte.gz')
    with pytest.raises(DatasetLayoutError, match='missing t10k-labels-idx1-ubyte.gz') as e:
        build(type='SCOTTFashionMNIST', data_root=str(tmp_path))
    assert 'fetch_fashion_mnist.sh' in str(e.value)


def test_fashion_mnist_not_found_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(fm_module, 'SYSTEM_DIR', str(tmp_path / 'system'))
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('SCOTT_MM_DATA', str(tmp_path / 'data'))
    with pytest.raises(DatasetLayoutError) as e:
        build(type='SCOTTFashionMNIST')
    msg = str(e.value)
    assert str(tmp_path / 'data' / 'fashion-mnist') in msg
    assert 'tools/fetch_fashion_mnist.sh' in msg and 'train-images-idx3-ubyte.gz' in msg


def test_fetch_script_is_idempotent_without_network(tmp_path):
    cache = tmp_path / 'fashion-mnist'
    cache.mkdir()
    for name in fm_module.FILES:
        (cache / name).write_bytes(b'x')
    out = subprocess.run(['bash', osp.join(REPO, 'tools', 'fetch_fashion_mnist.sh')],
                         env=dict(os.environ, SCOTT_MM_DATA=str(tmp_path)),
                         capture_output=True, text=True, check=True).stdout.strip()
    system_has_it = all(osp.isfile(osp.join(fm_module.SYSTEM_DIR, f)) for f in fm_module.FILES)
    assert out == (fm_module.SYSTEM_DIR if system_has_it else str(cache))


@pytest.fixture(scope='module')
def fashion_root():
    root = fm_module.find_fashion_mnist()
    if root is None:
        pytest.fail('Fashion-MNIST data not found in ' + ', '.join(fm_module.fashion_mnist_dirs())
                    + ': run tools/fetch_fashion_mnist.sh (Debian package dataset-fashion-mnist)')
    return root


def test_fashion_mnist_default_loads_offline(fashion_root):
    ds = build(type='SCOTTFashionMNIST', split='all_including_test', img_size=32)
    assert ds.data_root == fashion_root
    n_train = 60000
    assert len(ds) == 70000
    assert np.bincount(labels(ds)[n_train:]).tolist() == [1000] * 10  # the real test set
    assert labels(ds)[:5] == [9, 0, 0, 3, 0] and ds.metainfo['classes'][9] == 'Ankle boot'
    img = ds.prepare_data(0)['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert (img[..., 0] == img[..., 2]).all() and img.std() > 20
    native = build(type='SCOTTFashionMNIST', split='test').prepare_data(0)['img']
    assert native.shape == (28, 28, 3)
    resized = Image.fromarray(native[..., 0]).resize((32, 32), Image.BICUBIC)
    assert np.array_equal(ds.prepare_data(n_train)['img'][..., 1], np.asarray(resized))


def test_fashion_mnist_through_pipeline(fashion_root):
    ds = build(type='SCOTTFashionMNIST', split='val', img_size=64,
               pipeline=[dict(type='RandomResizedCrop', scale=48), dict(type='PackInputs')])
    out = ds[0]
    assert out['inputs'].shape == (3, 48, 48) and out['inputs'].dtype == torch.uint8
    assert out['data_samples'].gt_label.item() == ds.get_data_info(0)['gt_label']


def test_fashion_mnist_labelled_subset(fashion_root):
    few = build(type='SCOTTFashionMNIST', split='train', num_labels=1000, label_seed=0)
    assert len(few) == 1000 and np.bincount(labels(few)).tolist() == [100] * 10
    val = build(type='SCOTTFashionMNIST', split='val')
    assert len(val) == 6000
    val_idx = {val.get_data_info(i)['img_index'] for i in range(len(val))}
    assert val_idx.isdisjoint(few.get_data_info(i)['img_index'] for i in range(len(few)))
    assert max(val_idx) < 60000  # carved from train, never from test
