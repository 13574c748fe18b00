"""Is the learning benchmark's linear probe fair to pretrained features?

    python -m benchmarks.linear_probe_l2 \
        --work-dir work_dirs/learning/learning_flowers102_cpu_minkowski [--seeds 0 1] \
        [--config configs/scott_jepa_flowers_cpu.py] [--data-root ../shared/data/flowers-102]

``benchmarks.learning`` fits its linear probe with one fixed L2 (1e-3), so it chooses nothing
and needs no validation split. A fixed strength could still suit one encoder and not another.
This refits the same probe over a range of L2 on the train labels of Flowers-102, picks the
L2 on val and reports test at every value, for each seed's untrained encoder and the context
encoder of that seed's last pretraining checkpoint in ``--work-dir`` (a finished
``benchmarks.learning`` run). If the gap between the two moves little when each gets its own
best L2, the fixed probe is not what limits it.
"""
import argparse
import os

from benchmarks.common import machine, print_table, write_json
from benchmarks.probes import linear_probe_accuracy

L2S = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
FIXED_L2 = 1e-3  # benchmarks.probes.linear_probe_accuracy's default


def sweep(feats: dict, labels: dict, num_classes: int, l2s=L2S) -> dict:
    """Val and test accuracy at each L2 (probe fitted on ``train``); the chosen L2 is the best
    on val (the smallest of ties), never looked up on test."""
    rows = {l2: {split: linear_probe_accuracy(feats['train'], labels['train'], feats[split],
                                              labels[split], num_classes, l2=l2)
                 for split in ('val', 'test')} for l2 in l2s}
    chosen = max(l2s, key=lambda l2: (rows[l2]['val'], -l2))
    return dict(rows=rows, chosen_l2=chosen, test_at_chosen=rows[chosen]['test'])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', required=True, help='a finished benchmarks.learning run')
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--config', default='configs/scott_jepa_flowers_cpu.py')
    p.add_argument('--data-root', default='../shared/data/flowers-102')
    p.add_argument('--img-size', type=int, default=96)
    p.add_argument('--out', default='benchmarks/results/linear_probe_l2.json')
    args = p.parse_args()
    checkpoints = {}
    for seed in args.seeds:
        pointer = os.path.join(args.work_dir, f'mim_jepa_seed{seed}', 'last_checkpoint')
        if not os.path.exists(pointer):
            p.error(f'no pretraining checkpoint of seed {seed}: {pointer} does not exist; run '
                    f'benchmarks.learning with that seed into this work dir first')
        with open(pointer) as f:
            checkpoints[seed] = f.read().strip()

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import scott_mm  # noqa: F401  (registers everything)
    from benchmarks.learning import untrained_encoder
    from benchmarks.learning_eval import Encoder, eval_images, eval_pipeline
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(args.config)
    pipeline = eval_pipeline(args.img_size, load=True)
    data = {split: eval_images(dict(type='SCOTTFlowers102', data_root=args.data_root,
                                    split=split), pipeline,
                               os.path.join(args.work_dir, 'eval_cache'))
            for split in ('train', 'val', 'test')}
    labels = {split: d['labels'] for split, d in data.items()}
    table, runs = [], {}
    for seed in args.seeds:
        for name, encoder in (('untrained', untrained_encoder(args, cfg, seed)),
                              ('mim_jepa (context)', Encoder(cfg, checkpoints[seed],
                                                             'backbone.'))):
            feats = {s: encoder.tokens(d['images']).mean(dim=1) for s, d in data.items()}
            result = sweep(feats, labels, int(labels['train'].max()) + 1)
            runs[f'{name}/seed{seed}'] = dict(result, rows={str(k): v for k, v in
                                                            result['rows'].items()})
            table.append(dict(encoder=name, seed=seed, **{
                f'test@{l2:g}': f'{result["rows"][l2]["test"]:.2f}' for l2 in L2S},
                chosen=f'{result["chosen_l2"]:g}',
                **{'test@chosen': f'{result["test_at_chosen"]:.2f}'}))
            print(f'seed {seed} {name}: L2 {result["chosen_l2"]:g} chosen on val, test '
                  f'{result["test_at_chosen"]:.2f} (fixed {FIXED_L2:g}: '
                  f'{result["rows"][FIXED_L2]["test"]:.2f})', flush=True)
    columns = list(table[0])
    print_table(table, columns)
    write_json(args.out, dict(benchmark='linear_probe_l2', machine=machine(),
                              work_dir=args.work_dir, config=args.config, fixed_l2=FIXED_L2,
                              l2s=list(L2S), runs=runs, rows=table, columns=columns))


if __name__ == '__main__':
    main()
