"""The documented MIM-JEPA pipeline on real JPEG photos: two views, one geometry, a mask."""
import copy

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

import scott_mm  # noqa: F401
# scott_mm/__init__.py does not import datasets yet: import the transforms directly.
import scott_mm.datasets.transforms as jepa_transforms
from scott_mm.datasets.transforms import JEPAColorAugment


def documented_pipeline():
    """The pipeline exactly as the transforms package docstring tells configs to write it."""
    doc = jepa_transforms.__doc__
    src = doc[doc.index('train_pipeline = ['):]
    src = src[:src.index('\n    ]') + len('\n    ]')].replace('\n    ', '\n')
    namespace = {}
    exec(src, {'dict': dict}, namespace)
    return namespace['train_pipeline']


def build(colour=None):
    """The documented pipeline, with the colour transform's arguments overridden."""
    init_default_scope('mmpretrain')  # what configs' default_scope does; MultiView needs it
    cfg = copy.deepcopy(documented_pipeline())
    view = next(t for t in cfg if t['type'] == 'MultiView')
    view['transforms'][0][0].update(colour or {})
    return Compose(cfg)


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    from PIL import Image
    from skimage import data
    root = tmp_path_factory.mktemp('jepa_photos')
    paths = []
    for name in ('astronaut', 'chelsea', 'coffee'):
        paths.append(str(root / f'{name}.jpg'))
        Image.fromarray(getattr(data, name)()).save(paths[-1])
    return paths


def gray(view):
    return view.float().mean(0).flatten().numpy()


def test_documented_pipeline_output(photos):
    pipeline = build()
    set_random_seed(0)
    for path in photos:
        out = pipeline(dict(img_path=path))
        views, mask = out['inputs'], out['data_samples'].mask
        assert isinstance(views, list) and len(views) == 2
        for view in views:
            assert view.shape == (3, 224, 224) and view.dtype == torch.uint8
        assert isinstance(mask, torch.Tensor)
        assert mask.shape == (14, 14) and mask.dtype == torch.bool
        assert int(mask.sum()) == 117


def test_views_identical_without_colour(photos):
    pipeline = build(dict(prob=0.0))
    set_random_seed(1)
    for path in photos:
        context, target = pipeline(dict(img_path=path))['inputs']
        assert torch.equal(context, target)


def test_views_differ_in_colour_but_share_geometry(photos):
    pipeline = build(dict(prob=1.0, jitter_prob=1.0))
    set_random_seed(2)
    for path in photos:
        context, target = pipeline(dict(img_path=path))['inputs']
        other_crop = pipeline(dict(img_path=path))['inputs'][0]
        assert (context.float() - target.float()).abs().mean() > 2  # colour changed
        same = np.corrcoef(gray(context), gray(target))[0, 1]
        other = np.corrcoef(gray(context), gray(other_crop))[0, 1]
        assert same > 0.9 and same > other  # same pixels under a colour change


def test_pipeline_is_reproducible_from_the_global_seed(photos):
    pipeline = build()

    def run(seed):
        set_random_seed(seed)
        outs = [pipeline(dict(img_path=p)) for p in photos]
        return [t for o in outs for t in (*o['inputs'], o['data_samples'].mask)]

    first = run(47)
    assert all(torch.equal(a, b) for a, b in zip(first, run(47)))
    assert not all(torch.equal(a, b) for a, b in zip(first, run(48)))


def test_grayscale_respects_bgr_order():
    blue_bgr = np.zeros((8, 8, 3), np.uint8)
    blue_bgr[..., 0] = 255
    only_gray = dict(prob=1.0, jitter_prob=0.0, gray_prob=1.0, blur_prob=0.0)
    out = JEPAColorAugment(**only_gray)(dict(img=blue_bgr.copy()))['img']
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert (out == out[..., :1]).all() and abs(int(out[0, 0, 0]) - 29) <= 1  # 0.114 * 255 for blue
    red = JEPAColorAugment(channel_order='rgb', **only_gray)(dict(img=blue_bgr.copy()))['img']
    assert abs(int(red[0, 0, 0]) - 76) <= 1  # the same array read as RGB is red: 0.299 * 255


def test_negative_hue_shift_works():
    """mmcv's hue shift raises OverflowError for negative factors under numpy 2; ours must not."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    hue_only = JEPAColorAugment(prob=1.0, jitter_prob=1.0, gray_prob=0.0, blur_prob=0.0,
                                brightness=0, contrast=0, saturation=0, hue=(-0.1, -0.05))
    out = hue_only(dict(img=img.copy()))['img']
    assert out.shape == img.shape and not np.array_equal(out, img)


def test_invalid_probability():
    with pytest.raises(ValueError, match='gray_prob'):
        JEPAColorAugment(gray_prob=1.5)
