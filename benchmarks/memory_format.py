"""The dense tokenizer on CPU with the image in channels-last memory layout, against NCHW.

    python -m benchmarks.memory_format [--img 96] [--repeats 10] [--threads 2] [--out PATH]

Why it exists: ``DenseMaskedBackend`` hands oneDNN a channels-last image on CPU
(scott_mm/models/sparse/dense.py). Rows: the forward without a mask and without autograd (what
the EMA target encoder runs every step) and the masked forward+backward (weight gradients; the
context encoder on the ``dense`` backend, supervised training), in bf16 autocast and fp32, at
batch 32 and 64 (the Flowers CPU recipes' sizes; D=192). Both layouts run in one process,
alternating; ``time_vs_nchw`` is the median of the per-round ratios. The batch sizes are fixed
(``--batch`` is ignored).
"""
import torch

from benchmarks.common import benchmark_args, median, paired_ratio, report, time_interleaved
from benchmarks.tokenizer import blockwise_masks

BATCHES = (32, 64)
DTYPES = ('bf16', 'fp32')


def steps(batch, img, dtype, masked):
    from scott_mm.models.sparse.dense import DenseMaskedBackend
    from scott_mm.models.tokenizers.scott_tokenizer import SCOTTTokenizer
    torch.manual_seed(0)
    tokenizer = SCOTTTokenizer(embed_dims=192, backend='dense')
    image = torch.randn(batch, 3, img, img)
    mask = blockwise_masks(batch, (img // 16, img // 16), 0.6) if masked else None
    autocast = dict(device_type='cpu', dtype=torch.bfloat16, enabled=dtype == 'bf16')

    def step_for(channels_last):
        def step():
            default = DenseMaskedBackend.channels_last_on_cpu
            DenseMaskedBackend.channels_last_on_cpu = channels_last
            try:
                with torch.autocast(**autocast), torch.set_grad_enabled(masked):
                    out = tokenizer(image, mask)
                if masked:
                    tokenizer.zero_grad(set_to_none=True)
                    out.float().square().mean().backward()
            finally:
                DenseMaskedBackend.channels_last_on_cpu = default
        return step

    return {'nchw': step_for(False), 'channels_last': step_for(True)}


def main():
    args = benchmark_args(__doc__.splitlines()[0], repeats=10,
                          out='benchmarks/results/memory_format.json', img=96)
    torch.set_num_threads(args.threads)
    rows = []
    for masked in (False, True):
        for dtype in DTYPES:
            for batch in BATCHES:
                times = time_interleaved(steps(batch, args.img, dtype, masked), args.repeats,
                                         warmup=2)
                rows.append({'pass': ('masked forward+backward' if masked
                                      else 'forward, no mask, no grad'),
                             'dtype': dtype, 'batch': batch, 'img': args.img,
                             'nchw_ms': 1e3 * median(times['nchw']),
                             'channels_last_ms': 1e3 * median(times['channels_last']),
                             'time_vs_nchw': paired_ratio(times, 'channels_last', 'nchw'),
                             'all_seconds': times})
    report(args.out, 'memory_format',
           f'python -m benchmarks.memory_format --img {args.img} --repeats {args.repeats} '
           f'--threads {args.threads}',
           ['pass', 'dtype', 'batch', 'img', 'nchw_ms', 'channels_last_ms', 'time_vs_nchw'], rows,
           repeats=args.repeats)


if __name__ == '__main__':
    main()
