"""Training attention with bf16 q, k, v on CPU: SDPA's bf16 kernel against its fp32 kernel.

    python -m benchmarks.attention [--repeats 30] [--threads 2] [--out PATH]

Why it exists: under bf16 autocast on CPU the backward of SDPA's bf16 kernel was several times
slower than its fp32 kernel for the short sequences of the CPU recipes, so ``Attention`` casts
q, k, v to fp32 there (scott_mm/models/utils/transformer.py). Rows: the shapes a training step
sees (batch, tokens, heads; head width 64): the visible context of the Flowers CPU recipes (14
of 36 tokens, batch 32 and 64), their full grid (36: predictor, mask-token context), SCOTT-S at
224 px (79 visible of 196 tokens, and all 196). Forward and backward from bf16 q, k, v (what
autocast's linear layers hand the attention; no autocast is needed to time the kernels) to a
bf16 output, without a padding mask. Both kernels run in one process, alternating;
``time_vs_bf16`` is the median of the per-round ratios (fp32 / bf16). The shapes are fixed
(``--batch`` and ``--img`` are ignored).
"""
import torch
import torch.nn.functional as F

from benchmarks.common import benchmark_args, median, paired_ratio, report, time_interleaved

SHAPES = ((32, 14, 3), (64, 14, 3), (32, 36, 3), (16, 79, 6), (16, 196, 6))


def sdpa_in_fp32(q, k, v):
    return F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(q.dtype)


def measure(batch, tokens, heads, repeats):
    qkv = torch.randn(batch, tokens, 3 * heads * 64, dtype=torch.bfloat16, requires_grad=True)

    def step_for(attend):
        def step():
            q, k, v = qkv.view(batch, tokens, 3, heads, -1).permute(2, 0, 3, 1, 4)
            attend(q, k, v).float().sum().backward()
            qkv.grad = None
        return step

    return time_interleaved({'bf16': step_for(F.scaled_dot_product_attention),
                             'fp32': step_for(sdpa_in_fp32)}, repeats, warmup=3)


def main():
    args = benchmark_args(__doc__.splitlines()[0], repeats=30,
                          out='benchmarks/results/attention.json')
    torch.set_num_threads(args.threads)
    rows = []
    for batch, tokens, heads in SHAPES:
        times = measure(batch, tokens, heads, args.repeats)
        rows.append(dict(batch=batch, tokens=tokens, heads=heads,
                         bf16_ms=1e3 * median(times['bf16']), fp32_ms=1e3 * median(times['fp32']),
                         time_vs_bf16=paired_ratio(times, 'fp32', 'bf16'), all_seconds=times))
    report(args.out, 'attention',
           f'python -m benchmarks.attention --repeats {args.repeats} --threads {args.threads}',
           ['batch', 'tokens', 'heads', 'bf16_ms', 'fp32_ms', 'time_vs_bf16'], rows,
           repeats=args.repeats)


if __name__ == '__main__':
    main()
