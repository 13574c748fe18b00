"""SCOTT-S tokenizer forward+backward: time and peak memory per backend and mask ratio.

    python -m benchmarks.tokenizer [--batch 16] [--img 224] [--repeats 7] [--out PATH]

Rows: ``dense`` / ``minkowski`` at mask ratios 0, 0.4, 0.6, 0.75 (blockwise masks, the paper's
default) and the plain dense stack without a mask (what the target encoder runs). For each ratio
both backends run in one process, alternating; ``vs dense`` is the median of the per-round time
ratios (see benchmarks/common.py). GPU rows are added when a GPU is present (MinkowskiEngine
needs a CUDA build there).

The backward computes the convolution weights' gradients, not the image's: training never
differentiates with respect to its input images (the first version of this benchmark did, which
charged both backends a full-resolution input gradient of conv1 that training never pays).
"""
import torch

from benchmarks.common import (benchmark_args, machine, measure_backends, peak_memory_mib,
                               print_table, run_child_case, time_interleaved, write_json)

RATIOS = (0.0, 0.4, 0.6, 0.75)


def blockwise_masks(batch, grid, ratio, seed=0):
    from scott_mm.datasets.transforms.masking import BlockwiseMaskGenerator
    if ratio == 0:
        return torch.zeros(batch, *grid, dtype=torch.bool)
    gen = BlockwiseMaskGenerator(input_size=grid, mask_ratio=ratio, seed=seed)
    return torch.stack([torch.from_numpy(gen.transform({})['mask']) for _ in range(batch)])


def run_case(case: dict) -> dict:
    """``case['backends']`` timed alternately, or (``measure='memory'``) one backend's peak."""
    from scott_mm.models.tokenizers.scott_tokenizer import SCOTTTokenizer
    device = torch.device(case['device'])
    x = torch.randn(case['batch'], 3, case['img'], case['img'], device=device)
    grid = (case['img'] // 16, case['img'] // 16)
    mask = None if case['ratio'] is None else blockwise_masks(case['batch'], grid,
                                                              case['ratio']).to(device)

    def step_for(backend):
        torch.manual_seed(0)  # the same weights for every backend
        tok = SCOTTTokenizer(embed_dims=384, backend=backend).to(device)

        def step():
            tok.zero_grad(set_to_none=True)
            tok(x, mask).square().mean().backward()
        return step

    steps = {b: step_for(b) for b in case['backends']}
    if case['measure'] == 'memory':
        return dict(case, peak_mib=peak_memory_mib(steps[case['backends'][0]], device))
    return dict(case, times=time_interleaved(steps, case['repeats']))


def main():
    args = benchmark_args(__doc__.splitlines()[0], repeats=7,
                          out='benchmarks/results/tokenizer.json')
    if run_child_case(args, run_case):
        return

    rows = []
    for device in ['cpu'] + (['cuda'] if torch.cuda.is_available() else []):
        base = dict(device=device, batch=args.batch, img=args.img, repeats=args.repeats,
                    threads=args.threads)
        for ratio in (None, ) + RATIOS:
            backends = ['dense'] if ratio is None else ['dense', 'minkowski']
            for row in measure_backends('benchmarks.tokenizer', dict(base, ratio=ratio),
                                        backends, f'{device} ratio={ratio}'):
                rows.append(row)
                print(f"  {device} {row['backend']:<9} ratio={ratio}: {row['seconds']:.3f} s, "
                      f"{row['ratio_vs_dense']:.2f}x dense", flush=True)

    for r in rows:
        r['vs dense'] = f"{r['ratio_vs_dense']:.2f}x"
        r['mask ratio'] = 'no mask' if r['ratio'] is None else r['ratio']
        r['fwd+bwd s'] = f"{r['seconds']:.3f}"
        r['img/s'] = f"{r['batch'] / r['seconds']:.1f}"
        r['peak MiB'] = f"{r['peak_mib']:.0f}"
    title = (f'SCOTT-S tokenizer, forward+backward (weight gradients), batch {args.batch}, '
             f'{args.img} px, {args.threads} threads, median of {args.repeats} alternating rounds')
    columns = ['device', 'backend', 'mask ratio', 'fwd+bwd s', 'img/s', 'peak MiB', 'vs dense']
    print(f'\n{title}')
    print_table(rows, columns)
    write_json(args.out, dict(benchmark='tokenizer', title=title, columns=columns,
                              machine=machine(), rows=rows))


if __name__ == '__main__':
    main()
