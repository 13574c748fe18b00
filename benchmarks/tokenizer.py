"""SCOTT-S tokenizer forward+backward: time and peak memory per backend and mask ratio.

    python -m benchmarks.tokenizer [--batch 16] [--img 224] [--repeats 5] [--out PATH]

Rows: ``dense`` / ``minkowski`` at mask ratios 0, 0.4, 0.6, 0.75 (blockwise masks, the paper's
default) and the plain dense stack without a mask (what the target encoder runs). The ratio
column ``vs dense`` compares each sparse row with the dense row of the same ratio, measured in
the same run. GPU rows are added when a GPU is present (MinkowskiEngine needs a CUDA build there).
"""
import torch

from benchmarks.common import (benchmark_args, machine, measure, print_table,
                               run_case_in_subprocess, run_child_case, write_json)

RATIOS = (0.0, 0.4, 0.6, 0.75)


def blockwise_masks(batch, grid, ratio, seed=0):
    from scott_mm.datasets.transforms.masking import BlockwiseMaskGenerator
    if ratio == 0:
        return torch.zeros(batch, *grid, dtype=torch.bool)
    gen = BlockwiseMaskGenerator(input_size=grid, mask_ratio=ratio, seed=seed)
    return torch.stack([torch.from_numpy(gen.transform({})['mask']) for _ in range(batch)])


def run_case(case: dict) -> dict:
    """One measurement, in this (fresh) process."""
    from scott_mm.models.tokenizers.scott_tokenizer import SCOTTTokenizer
    device = torch.device(case['device'])
    torch.manual_seed(0)
    tok = SCOTTTokenizer(embed_dims=384, backend=case['backend']).to(device)
    x = torch.randn(case['batch'], 3, case['img'], case['img'], device=device)
    grid = (case['img'] // 16, case['img'] // 16)
    mask = None if case['ratio'] is None else blockwise_masks(case['batch'], grid,
                                                              case['ratio']).to(device)

    def step():
        tok.zero_grad(set_to_none=True)
        xi = x.clone().requires_grad_(True)
        tok(xi, mask).square().mean().backward()

    median, times, peak = measure(step, case['repeats'], device)
    return dict(case, seconds=median, all_seconds=times, peak_mib=peak)


def main():
    args = benchmark_args(__doc__.splitlines()[0], repeats=5,
                          out='benchmarks/results/tokenizer.json')
    if run_child_case(args, run_case):
        return

    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        base = dict(device=device, batch=args.batch, img=args.img, repeats=args.repeats,
                    threads=args.threads)
        cases = [dict(base, backend='dense', ratio=None)]
        cases += [dict(base, backend=b, ratio=r) for r in RATIOS for b in ('dense', 'minkowski')]
        for case in cases:
            try:
                result = run_case_in_subprocess('benchmarks.tokenizer', case)
            except RuntimeError as err:  # e.g. no CUDA build of MinkowskiEngine on a GPU host
                result = dict(case, seconds=float('nan'), peak_mib=float('nan'),
                              error=str(err).splitlines()[-1])
            rows.append(result)
            print(f"  {device} {case['backend']:<9} ratio={case['ratio']}: "
                  f"{result['seconds']:.3f} s", flush=True)

    for r in rows:
        dense = next(d for d in rows if d['device'] == r['device'] and d['backend'] == 'dense'
                     and d['ratio'] == r['ratio'])
        r['vs dense'] = f"{r['seconds'] / dense['seconds']:.2f}x"
        r['mask ratio'] = 'no mask' if r['ratio'] is None else r['ratio']
        r['fwd+bwd s'] = f"{r['seconds']:.3f}"
        r['img/s'] = f"{r['batch'] / r['seconds']:.1f}"
        r['peak MiB'] = f"{r['peak_mib']:.0f}"
    title = (f'SCOTT-S tokenizer, forward+backward, batch {args.batch}, {args.img} px, '
             f'{args.threads} threads, median of {args.repeats}')
    columns = ['device', 'backend', 'mask ratio', 'fwd+bwd s', 'img/s', 'peak MiB', 'vs dense']
    print(f'\n{title}')
    print_table(rows, columns)
    write_json(args.out, dict(benchmark='tokenizer', title=title, columns=columns,
                              machine=machine(), rows=rows))


if __name__ == '__main__':
    main()
