"""What a pretrained SCOTT encoder has learnt, in pictures: the first three PCA components of its
patch features as an RGB map, and last-layer attention maps.

    python tools/visualize_features.py configs/scott_jepa_demo.py \
        work_dirs/demo/pretrain/epoch_4.pth --num 6 --out features.png
    python tools/visualize_features.py configs/scott_jepa_flowers.py CKPT \
        --images a.jpg b.jpg --prefix target_encoder.module.

Rows are images; columns: the image as the encoder sees it, the PCA map (fitted jointly on all
shown images, so equal colours mean similar features across images) and, per attention head,
where the query patch (cyan square, the centre by default) attends. SCOTT has no CLS token, so
attention is shown from a patch. Token maps are upsampled nearest-neighbour for display.
Without ``--images`` the images come from the config's pretraining dataset, loaded but not
augmented. ``--prefix backbone.`` (default) is the context encoder, the one the paper evaluates;
``target_encoder.module.`` is the EMA target.
"""
import argparse
import sys
import copy

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from PIL import Image  # noqa: E402

from scott_mm.cli import add_debug_flag, run  # noqa: E402
from scott_mm.engine.config_variables import fill_config_variables  # noqa: E402

PANEL_INCHES = 1.6
DPI = 100
TITLE_INCHES = 0.3


def figure_pixels(num_images, num_heads):
    """(width, height) of the PNG in pixels: image + PCA + one column per head."""
    return (round((2 + num_heads) * PANEL_INCHES * DPI),
            round((num_images * PANEL_INCHES + TITLE_INCHES) * DPI))


def build_backbone(cfg, checkpoint, prefix):
    """The config's SCOTT with the checkpoint's weights under ``prefix``, in eval mode.

    The mask-free forward is the plain dense stack for every backend, so the dense backend is
    used (no MinkowskiEngine needed to look at a checkpoint).
    """
    import scott_mm  # noqa: F401  (registers SCOTT, allow-lists mmengine checkpoint objects)
    from scott_mm.evaluation.encoder_checkpoint import load_encoder
    from scott_mm.registry import MODELS
    backbone_cfg = dict(cfg.model.backbone, backend='dense', out_type='raw', out_indices=-1,
                        final_norm=True, frozen_stages=0, init_cfg=None)
    backbone = MODELS.build(backbone_cfg)
    load_encoder(backbone, checkpoint, prefix, key='checkpoint', prefix_key='--prefix',
                 how='pass a MIM-JEPA checkpoint file as the second argument, e.g. '
                     '"$(cat work_dirs/<run>/last_checkpoint)"')
    return backbone.eval()


def square(img, size):
    """Resize the shorter side to ``size`` (bicubic) and crop the centre: (size, size, 3)."""
    pil = Image.fromarray(img)
    scale = size / min(pil.size)
    pil = pil.resize((max(size, round(pil.width * scale)), max(size, round(pil.height * scale))),
                     Image.BICUBIC)
    left, top = (pil.width - size) // 2, (pil.height - size) // 2
    return np.asarray(pil.crop((left, top, left + size, top + size)))


def read_images(paths):
    return [np.asarray(Image.open(p).convert('RGB')) for p in paths]


def dataset_images(cfg, num):
    """The first ``num`` images of the config's pretraining dataset, loaded, not augmented."""
    from mmpretrain.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    inner = dataset_cfg
    while 'pipeline' not in inner and 'dataset' in inner:  # a wrapper: dataset=dict(...)
        inner = inner['dataset']
    inner['pipeline'] = [t for t in inner.get('pipeline', []) if 'Load' in t['type']]
    dataset = DATASETS.build(dataset_cfg)
    bgr = cfg.model.get('data_preprocessor', {}).get('to_rgb', False)
    images = []
    for i in range(min(num, len(dataset))):
        img = dataset[i]['img']
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
        images.append(np.ascontiguousarray(img[..., ::-1] if bgr else img))
    return images


def normalise(images, cfg):
    """uint8 RGB (B, H, W, 3) -> the float tensor the model was trained on."""
    pre = cfg.model.get('data_preprocessor', {})
    mean = torch.tensor(pre.get('mean', [0.] * 3), dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(pre.get('std', [1.] * 3), dtype=torch.float32).view(1, 3, 1, 1)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return (x - mean) / std


def pca_rgb(features):
    """(B, N, D) features -> (B, N, 3) in [0, 1]: first 3 principal components, jointly fitted."""
    B, N, D = features.shape
    flat = features.reshape(B * N, D).double()
    flat = flat - flat.mean(dim=0)
    _, _, v = torch.linalg.svd(flat, full_matrices=False)
    proj = (flat @ v[:3].T).numpy()
    if proj.shape[1] < 3:
        proj = np.pad(proj, ((0, 0), (0, 3 - proj.shape[1])))
    low, high = np.percentile(proj, 1, axis=0), np.percentile(proj, 99, axis=0)
    rgb = ((proj - low) / np.maximum(high - low, 1e-8)).clip(0, 1)
    return rgb.reshape(B, N, 3)


@torch.no_grad()
def compute(backbone, x, query=None):
    """PCA maps (B, h, w, 3), attention of the query patch (B, heads, h, w) and the query."""
    tokens = backbone(x)[-1]
    h, w = backbone.tokenizer.grid_size(x.shape[-2:])
    query = (h // 2, w // 2) if query is None else tuple(query)
    attn = backbone.last_attention(x)[:, :, query[0] * w + query[1]]
    return (pca_rgb(F.layer_norm(tokens, tokens.shape[-1:])).reshape(-1, h, w, 3),
            attn.reshape(attn.shape[0], attn.shape[1], h, w).numpy(), query)


def draw(images, pca, attention, query, out):
    rows, heads = len(images), attention.shape[1]
    width, height = figure_pixels(rows, heads)
    fig, axes = plt.subplots(rows, 2 + heads, squeeze=False,
                             figsize=(width / DPI, height / DPI))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01,
                        top=1 - TITLE_INCHES * DPI / height, wspace=0.05, hspace=0.05)
    size = images[0].shape[0]
    extent = (-0.5, size - 0.5, size - 0.5, -0.5)
    h, w = pca.shape[1:3]
    for i, row in enumerate(axes):
        row[0].imshow(images[i], interpolation='nearest')
        row[1].imshow(pca[i], interpolation='nearest', extent=extent)
        grey = images[i].mean(axis=2)
        for head in range(heads):
            ax = row[2 + head]
            ax.imshow(grey, cmap='gray', interpolation='nearest')
            ax.imshow(attention[i, head], cmap='inferno', alpha=0.7, interpolation='nearest',
                      extent=extent)
            ax.add_patch(Rectangle((query[1] * size / w - 0.5, query[0] * size / h - 0.5),
                                   size / w, size / h, fill=False, edgecolor='cyan',
                                   linewidth=1))
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    titles = ['image', 'PCA of patch features'] + [f'attention, head {k + 1}'
                                                   for k in range(heads)]
    for ax, title in zip(axes[0], titles):
        ax.set_title(title, fontsize=7)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='an mmengine checkpoint (.pth)')
    parser.add_argument('--images', nargs='+', help='image files (default: the dataset)')
    parser.add_argument('--num', type=int, default=6,
                        help='how many dataset images when --images is not given')
    parser.add_argument('--prefix', default='backbone.',
                        help="weights to load: 'backbone.' (context encoder) or "
                        "'target_encoder.module.' (EMA target)")
    parser.add_argument('--query', type=int, nargs=2, metavar=('ROW', 'COL'),
                        help='query patch of the attention maps (default: the centre)')
    parser.add_argument('--out', default='features.png', help='output PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg = fill_config_variables(cfg)  # data_root=... of the own-data configs
    backbone = build_backbone(cfg, args.checkpoint, args.prefix)
    size = backbone.img_size[0]
    raw = read_images(args.images) if args.images else dataset_images(cfg, args.num)
    images = [square(img, size) for img in raw]
    pca, attention, query = compute(backbone, normalise(images, cfg), args.query)
    draw(images, pca, attention, query, args.out)
    print(f'wrote {args.out} ({len(images)} images, {figure_pixels(*attention.shape[:2])} px)')
    return dict(backbone=backbone, images=images, pca=pca, attention=attention, query=query)


if __name__ == '__main__':
    sys.exit(run(main))
