"""Does an encoder trained on visible tokens only suit short sequences better?

    python -m benchmarks.partial_view_probe \
        paper=work_dirs/learning/learning_flowers102/mim_jepa_seed2/iter_1200.pth \
        visible=work_dirs/learning/learning_flowers102_visible/mim_jepa_seed2/iter_1200.pth \
        [--config configs/scott_jepa_flowers_cpu_mask_token.py] [--out FILE]

``MIMJEPA(context='visible')`` trains its context encoder on the ~40% visible tokens of each
photo, while every probe feeds it all of them. If that mismatch cost the visible path accuracy,
its encoder would do relatively better when probed the way it was trained. This scores kNN on
Flowers-102 test (k=20, cosine, train labels) for each checkpoint with features pooled three
ways, one fixed blockwise mask (ratio 0.6, as in training) per photo:
``full`` all tokens (what benchmarks.learning probes), ``visible`` the visible tokens run alone
(``forward_visible``), ``mask_token`` the paper's sequence (mask embedding in masked slots)
pooled over the visible slots.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.common import machine, print_table, write_json

MODES = ('full', 'visible', 'mask_token')


@torch.no_grad()
def pooled_features(backbone, x: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """(B, D) mean of layer-normed last-layer tokens; ``mask`` (B, h, w) bool, True = masked."""
    if mode == 'full':
        tokens, keep = backbone(x)[-1], None
    elif mode == 'visible':
        outs, _, padding = backbone.forward_visible(x, mask)
        tokens, keep = outs[-1], None if padding is None else ~padding
    elif mode == 'mask_token':
        tokens, keep = backbone(x, mask)[-1], ~mask.reshape(len(mask), -1)
    else:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    tokens = F.layer_norm(tokens, tokens.shape[-1:])
    if keep is None:
        return tokens.mean(1)
    keep = keep.float()
    return (tokens * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)


def fixed_masks(n: int, grid: int, stream: int) -> torch.Tensor:
    """One blockwise mask per image, drawn from its own seed so reruns see the same masks."""
    from scott_mm.datasets.transforms.masking import BlockwiseMaskGenerator
    gen = BlockwiseMaskGenerator(input_size=(grid, grid), mask_ratio=0.6)
    return torch.from_numpy(np.stack([gen.generate(np.random.default_rng([stream, i]))
                                      for i in range(n)]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('checkpoints', nargs='+', help='NAME=PATH of benchmarks.learning checkpoints')
    p.add_argument('--config', default='configs/scott_jepa_flowers_cpu_mask_token.py')
    p.add_argument('--data-root', default='../shared/data/flowers-102')
    p.add_argument('--img-size', type=int, default=96)
    p.add_argument('--cache', default='work_dirs/learning/learning_flowers102/eval_cache')
    p.add_argument('--out', default='benchmarks/results/partial_view_probe.json')
    args = p.parse_args()
    bad = [c for c in args.checkpoints if '=' not in c]
    if bad:
        p.error(f'checkpoints are NAME=PATH, got {bad[0]!r}')
    named = dict(c.split('=', 1) for c in args.checkpoints)
    for name, path in named.items():
        if not os.path.exists(path):
            p.error(f'{name}: checkpoint {path} does not exist')

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import scott_mm  # noqa: F401  (registers everything)
    from benchmarks.learning_eval import Encoder, eval_images, eval_pipeline
    from scott_mm.evaluation import knn_accuracy
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(args.config)
    pipeline = eval_pipeline(args.img_size, load=True)
    data = {split: eval_images(dict(type='SCOTTFlowers102', data_root=args.data_root,
                                    split=split), pipeline, args.cache)
            for split in ('train', 'test')}
    grid = args.img_size // 16
    masks = {split: fixed_masks(len(d['labels']), grid, stream)
             for stream, (split, d) in enumerate(data.items())}
    num_classes = int(data['train']['labels'].max()) + 1

    def features(encoder, split, mode):
        images = data[split]['images']
        return torch.cat([pooled_features(encoder.backbone, encoder.normalise(images[i:i + 256]),
                                          masks[split][i:i + 256], mode)
                          for i in range(0, len(images), 256)])

    table = []
    for name, path in named.items():
        encoder = Encoder(cfg, path, 'backbone.')
        row = dict(checkpoint=name)
        for mode in MODES:
            row[mode] = round(float(knn_accuracy(
                features(encoder, 'test', mode), data['test']['labels'],
                features(encoder, 'train', mode), data['train']['labels'], num_classes)), 2)
        print(row, flush=True)
        table.append(row)
    print_table(table, ['checkpoint', *MODES])
    command = 'python -m benchmarks.partial_view_probe ' + ' '.join(sys.argv[1:])
    write_json(args.out, dict(benchmark='partial_view_probe', machine=machine(), command=command,
                              config=args.config, checkpoints=named, metric='kNN top-1 % (test)',
                              rows=table, columns=['checkpoint', *MODES]))


if __name__ == '__main__':
    main()
