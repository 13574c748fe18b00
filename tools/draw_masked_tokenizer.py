"""Draw how the sparse tokenizer sees a masked image (docs/masked_tokenizer.png).

    python tools/draw_masked_tokenizer.py [--out docs/masked_tokenizer.png] [--seed 3]

A real photo (scikit-image's Chelsea, 224 px) gets a blockwise mask on the 14x14 patch grid,
as in pretraining. The tokenizer's layers then run one by one with the tokenizer's own modules
and re-masking (``DenseMaskedBackend``): after conv1 (112 px), MaxBlurPool (56), conv2 (28) and
MaxBlurPool (14 = the tokens). Each panel shows the activation strength at the sites the layer
computes; masked sites (grey) hold exactly zero, so no masked pixel reaches a visible token.
The bottom strip is the token sequence the transformer gets: visible tokens (coloured by the
PCA of their features) and the learned mask embedding in every masked slot (grey), 196 long.
The step-by-step result is checked against the tokenizer's own forward pass (``--backend``
picks which: 'dense' or 'minkowski'), so the picture is the real computation. Weights are
random (Kaiming) unless ``--checkpoint`` gives a SCOTT-S checkpoint (prefix backbone.).
"""
import argparse
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from scott_mm.cli import add_debug_flag, run  # noqa: E402

IMG_SIZE = 224
PATCH = 16
DPI = 100
FIG_INCHES = (13.2, 3.4)  # 6 panels of 2.2 in, plus the token strip below
LAYERS = ('conv1 + ReLU', 'MaxBlurPool', 'conv2 + ReLU', 'MaxBlurPool = tokens')
MASKED_GREY = np.array([0.82, 0.82, 0.82])


def figure_pixels():
    return (round(FIG_INCHES[0] * DPI), round(FIG_INCHES[1] * DPI))


def photo(size=IMG_SIZE):
    """Chelsea the cat (scikit-image, public domain), centre-cropped to a square."""
    from skimage import data
    img = Image.fromarray(data.chelsea())
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return np.array(img.crop((left, top, left + side, top + side))
                      .resize((size, size), Image.BICUBIC))


def blockwise_mask(seed, grid=IMG_SIZE // PATCH):
    """The paper's mask: 60% of the patches hidden, the visible ones grown as blocks."""
    from scott_mm.datasets.transforms import BlockwiseMaskGenerator
    return BlockwiseMaskGenerator(input_size=(grid, grid), mask_ratio=0.6, seed=seed)({})['mask']


def layer_by_layer(tokenizer, x, mask):
    """Outputs of each tokenizer layer on the masked image, with the tokenizer's own modules.

    Returns the four activations (B, C, H, W) and checks the last against ``tokenizer(x, mask)``.
    """
    from scott_mm.models.sparse.dense import DenseMaskedBackend, expand_mask
    visible = ~mask

    def remask(t):
        return t * expand_mask(visible, t.shape[-2:]).to(t.dtype)

    outs, h = [], remask(x)
    for conv, pool_stride in ((tokenizer.conv1, tokenizer.strides[1]),
                              (tokenizer.conv2, tokenizer.strides[3])):
        h = F.relu(remask(conv(h)))
        outs.append(h)
        h = DenseMaskedBackend.max_blur_pool(tokenizer, h, pool_stride, remask)
        outs.append(h)
    reference = tokenizer(x, mask)
    if not torch.allclose(h, reference, atol=1e-4, rtol=1e-4):
        raise AssertionError('layer-by-layer tokenizer differs from its forward pass: '
                             f'{(h - reference).abs().max().item():.2e}')
    return outs


def site_map(activation, visible_sites):
    """RGB (H, W, 3): activation strength (viridis) at computed sites, grey at masked ones."""
    strength = activation.abs().mean(dim=0).numpy()
    high = np.percentile(strength[visible_sites], 99) if visible_sites.any() else 1.0
    rgb = plt.get_cmap('viridis')((strength / max(high, 1e-8)).clip(0, 1))[..., :3]
    rgb[~visible_sites] = MASKED_GREY
    return rgb


def token_colours(tokens, mask):
    """(N, 3) colours of the token sequence: PCA of visible tokens, grey for mask tokens."""
    feats = tokens.flatten(1).T.double()  # (N, D)
    visible = ~mask.flatten()
    vis = feats[visible] - feats[visible].mean(dim=0)
    _, _, v = torch.linalg.svd(vis, full_matrices=False)
    proj = (vis @ v[:3].T).numpy()
    low, high = proj.min(axis=0), proj.max(axis=0)
    colours = np.tile(MASKED_GREY, (feats.shape[0], 1))
    colours[visible] = (proj - low) / np.maximum(high - low, 1e-8)
    return colours


def draw(image, mask, activations, tokens, out):
    fig = plt.figure(figsize=FIG_INCHES)
    grid = fig.add_gridspec(2, 6, height_ratios=(2.2, 0.45), left=0.01, right=0.99, bottom=0.06,
                            top=0.9, wspace=0.06, hspace=0.35)
    grid_h, grid_w = mask.shape
    patch_mask = np.kron(mask, np.ones((PATCH, PATCH), dtype=bool))
    masked_image = image / 255.0
    masked_image[patch_mask] = 0.3 * masked_image[patch_mask] + 0.7 * MASKED_GREY
    panels = [(image, 'image (224 px)'),
              (masked_image, f'patch mask: {int((~mask).sum())} of {mask.size} visible')]
    for act, name in zip(activations, LAYERS):
        size = act.shape[-1]
        visible_sites = np.kron(~mask, np.ones((size // grid_h, size // grid_w), dtype=bool))
        panels.append((site_map(act[0], visible_sites), f'{name}: {size}x{size}'))
    for k, (picture, title) in enumerate(panels):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(picture, interpolation='nearest')
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 1:  # patch grid
            for i in range(1, grid_h):
                ax.axhline(i * PATCH - 0.5, color='white', linewidth=0.3)
            for j in range(1, grid_w):
                ax.axvline(j * PATCH - 0.5, color='white', linewidth=0.3)
    strip = fig.add_subplot(grid[1, :])
    strip.imshow(token_colours(tokens[0], torch.from_numpy(mask))[None], aspect='auto',
                 interpolation='nearest')
    strip.set_title(f'token sequence to the transformer ({mask.size} tokens, row by row): '
                    'visible tokens (PCA colours) and the mask embedding (grey)', fontsize=8)
    strip.set_xticks([])
    strip.set_yticks([])
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def build_tokenizer(backend, checkpoint=None):
    from scott_mm.models.tokenizers.scott_tokenizer import SCOTTTokenizer
    torch.manual_seed(0)
    tokenizer = SCOTTTokenizer(embed_dims=384, patch_size=PATCH, backend=backend)
    if checkpoint:
        import scott_mm  # noqa: F401  (allow-lists mmengine checkpoint objects)
        from scott_mm.evaluation.encoder_checkpoint import load_encoder
        load_encoder(tokenizer, checkpoint, prefix='backbone.tokenizer.', key='--checkpoint',
                     prefix_key='fixed', how='pass --checkpoint PATH with a MIM-JEPA SCOTT-S '
                     'checkpoint, or leave it out for random weights',
                     prefix_how="This tool draws the context encoder's tokenizer of a MIM-JEPA "
                     'SCOTT-S checkpoint (keys backbone.tokenizer.*).')
    return tokenizer.eval()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='docs/masked_tokenizer.png', help='output PNG')
    parser.add_argument('--seed', type=int, default=3, help='seed of the blockwise mask')
    parser.add_argument('--backend', default='dense', choices=('dense', 'minkowski'),
                        help='backend whose forward pass the drawing is checked against')
    parser.add_argument('--checkpoint', help='optional SCOTT-S checkpoint (224 px, stride 16)')
    add_debug_flag(parser)
    return parser.parse_args(argv)


@torch.no_grad()
def main(argv=None):
    args = parse_args(argv)
    image = photo()
    mask = blockwise_mask(args.seed)
    tokenizer = build_tokenizer(args.backend, args.checkpoint)
    x = (torch.from_numpy(image).permute(2, 0, 1)[None].float() - 127.5) / 127.5
    activations = layer_by_layer(tokenizer, x, torch.from_numpy(mask)[None])
    draw(image, mask, activations, activations[-1], args.out)
    print(f'wrote {args.out} ({figure_pixels()} px)')
    return dict(image=image, mask=mask, activations=activations)


if __name__ == '__main__':
    sys.exit(run(main))
