"""Show what MIM-JEPA pretraining sees: each image, its two views and its patch mask, exactly as
the config's pretraining pipeline produces them (same dataset, same transforms, same order).

    python tools/visualize_masks.py configs/scott_jepa_demo.py --num 6 --out masks.png
    python tools/visualize_masks.py configs/scott_jepa_flowers.py \
        --cfg-options train_dataloader.dataset.data_root=/data/flowers-102

Columns: the image as loaded (before any augmentation), view 1 = the context view with its
masked patches greyed and hatched (what the context encoder does *not* see), view 2 = the
target view (the EMA encoder sees all of it), and the mask on the token grid (black = masked).
"""
import argparse
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import set_random_seed  # noqa: E402

from scott_mm.cli import add_debug_flag, run  # noqa: E402
from scott_mm.engine.config_variables import fill_config_variables  # noqa: E402

PANEL_INCHES = 1.6  # one image panel; the PNG is cols * PANEL x rows * PANEL inches at DPI
DPI = 100
COLUMNS = ('image', 'view 1 (context, masked)', 'view 2 (target)', 'mask')


def figure_pixels(num_images):
    """(width, height) of the PNG in pixels, so callers and tests know it in advance."""
    return (round(len(COLUMNS) * PANEL_INCHES * DPI), round(num_images * PANEL_INCHES * DPI))


def is_loading(transform):
    return 'Load' in type(transform).__name__


def innermost(dataset):
    """The dataset that owns the pipeline, inside wrappers that hold it as ``.dataset``."""
    while not hasattr(dataset, 'pipeline') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


def run_pipeline(dataset, index):
    """One sample through the dataset's own pipeline, keeping the image as loaded.

    The dataset prepares the sample as in training; only its pipeline is swapped for a copy
    that runs the same transforms in the same order and snapshots the image just before the
    first augmentation.
    """
    compose, snapshot = dataset.pipeline, {}

    def recording(results):
        for transform in compose.transforms:
            if 'img' not in snapshot and not is_loading(transform):
                snapshot['img'] = results['img'].copy()
            results = transform(results)
            if results is None:
                raise RuntimeError(f'{transform!r} dropped sample {index}')
        return results

    dataset.pipeline = recording
    try:
        packed = dataset.prepare_data(index)
    finally:
        dataset.pipeline = compose
    return snapshot['img'], packed


def to_display(chw_or_hwc, bgr):
    """uint8 (H, W, 3) RGB for matplotlib from a packed (C, H, W) tensor or an (H, W, C) array."""
    img = np.asarray(chw_or_hwc)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[2] not in (1, 3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 2 or img.shape[2] == 1:
        img = np.repeat(img.reshape(img.shape[0], img.shape[1], 1), 3, axis=2)
    img = img[..., ::-1] if bgr else img
    return np.ascontiguousarray(img.clip(0, 255).astype(np.uint8))


def collect_samples(cfg, num, seed=0):
    """``num`` samples from the config's pretraining dataset: dicts of image, view1, view2, mask."""
    from mmpretrain.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    set_random_seed(seed)
    dataset = innermost(DATASETS.build(cfg.train_dataloader.dataset))
    bgr = cfg.model.get('data_preprocessor', {}).get('to_rgb', False)
    samples = []
    for index in range(min(num, len(dataset))):
        loaded, packed = run_pipeline(dataset, index)
        views = packed['inputs']
        if not isinstance(views, (list, tuple)) or len(views) != 2:
            raise ValueError('visualize_masks: the pipeline must produce two views '
                             f'(MultiView, num_views=2); got {type(views).__name__}')
        mask = packed['data_samples'].mask
        samples.append(dict(image=to_display(loaded, bgr), view1=to_display(views[0], bgr),
                            view2=to_display(views[1], bgr),
                            mask=np.asarray(mask, dtype=bool)))
    return samples


def hatch_masked(ax, mask, image_shape):
    """Grey out and hatch the masked patches of the panel's image."""
    h, w = mask.shape
    ph, pw = image_shape[0] / h, image_shape[1] / w
    for r, c in zip(*np.nonzero(mask)):
        ax.add_patch(Rectangle((c * pw - 0.5, r * ph - 0.5), pw, ph, facecolor=(0.5, 0.5, 0.5),
                               alpha=0.8, edgecolor='none'))
        ax.add_patch(Rectangle((c * pw - 0.5, r * ph - 0.5), pw, ph, fill=False,
                               hatch='///', edgecolor=(0.25, 0.25, 0.25), linewidth=0))


def draw(samples, out):
    """Write the grid to ``out``; one row per sample."""
    rows = len(samples)
    fig, axes = plt.subplots(rows, len(COLUMNS), squeeze=False,
                             figsize=(len(COLUMNS) * PANEL_INCHES, rows * PANEL_INCHES))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.22 / rows, wspace=0.05,
                        hspace=0.15)
    for row, s in zip(axes, samples):
        row[0].imshow(s['image'], interpolation='nearest')
        row[1].imshow(s['view1'], interpolation='nearest')
        hatch_masked(row[1], s['mask'], s['view1'].shape)
        row[2].imshow(s['view2'], interpolation='nearest')
        row[3].imshow(~s['mask'], cmap='gray', vmin=0, vmax=1, interpolation='nearest')
        h, w = s['mask'].shape
        row[3].set_xticks(np.arange(w + 1) - 0.5, minor=True)
        row[3].set_yticks(np.arange(h + 1) - 0.5, minor=True)
        row[3].grid(which='minor', color=(0.6, 0.6, 0.6), linewidth=0.3)
        row[3].tick_params(which='minor', length=0)
        row[3].text(0.98, 0.02, f"{int(s['mask'].sum())}/{s['mask'].size}", color='red',
                    fontsize=7, ha='right', va='bottom', transform=row[3].transAxes)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, title in zip(axes[0], COLUMNS):
        ax.set_title(title, fontsize=7)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a pretraining config (MultiView + a mask generator)')
    parser.add_argument('--num', type=int, default=6, help='how many images (rows)')
    parser.add_argument('--out', default='masks.png', help='output PNG')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random augmentations')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_dataloader.dataset.data_root=...')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg = fill_config_variables(cfg)  # data_root=... of the own-data configs
    samples = collect_samples(cfg, args.num, args.seed)
    draw(samples, args.out)
    print(f'wrote {args.out} ({len(samples)} images, {figure_pixels(len(samples))} px)')
    return samples


if __name__ == '__main__':
    sys.exit(run(main))
