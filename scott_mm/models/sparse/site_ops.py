"""Operators on the rows of active sites, given a neighbour table (the sparse tokenizer's maths).

A layer with ``N_in`` active input sites and ``N_out`` active output sites is described by a
neighbour table: an (N_out, K) integer tensor whose entry ``[o, k]`` is the input row at kernel
offset ``k`` of output ``o``, or ``N_in`` where that neighbour is not active. Every layer is then
one gather of whole channel rows plus one reduction:

- convolution: gather (rows, K * Cin) and multiply once by the (K * Cin, Cout) weight: large
  GEMMs instead of K small gather-GEMM-scatter passes (what makes it pay on CPU);
- max pooling: the running max over offsets (missing neighbours are -inf, i.e. ignored);
- fixed depthwise filter (the blur): a weighted sum over offsets.

Backward passes scatter with ``index_add_``: autograd's own backward of advanced indexing (an
accumulating ``index_put_``) and of ``amax`` (tie masks) was several times slower here.

Mixed precision: ``site_conv`` may run its GEMMs in a lower ``dtype`` (bf16 under ``--amp``), as
autocast runs ``nn.Conv2d``; rows, outputs, gradients and every ``index_add_`` stay in the rows'
own dtype (fp32), so sums over many offsets and sites are not rounded to 8 bits.
"""
import torch


def _pad(rows: torch.Tensor, fill: float) -> torch.Tensor:
    """Append the row that missing neighbours (index N_in) read."""
    return torch.cat([rows, rows.new_full((1, rows.shape[1]), fill)])


class SiteMaxPool(torch.autograd.Function):
    """Max over the active neighbours, one offset at a time. The gradient goes to the neighbour
    that gave the max (the first one on ties): the last offset that strictly improved it."""

    @staticmethod
    def forward(ctx, rows, table):
        padded = _pad(rows, float('-inf'))
        values = padded.index_select(0, table[:, 0])
        improved = []  # bool masks: cheaper to keep and to use than an argmax index
        for k in range(1, table.shape[1]):
            candidate = padded.index_select(0, table[:, k])
            improved.append(candidate > values)
            torch.maximum(values, candidate, out=values)
        ctx.save_for_backward(table, *improved)
        ctx.num_rows = rows.shape[0]
        return values

    @staticmethod
    def backward(ctx, grad):
        table, *improved = ctx.saved_tensors
        grad_rows = grad.new_zeros(ctx.num_rows + 1, grad.shape[1])
        for k in range(len(improved), 0, -1):
            won = grad * improved[k - 1]
            grad_rows.index_add_(0, table[:, k], won)
            grad = grad - won
        grad_rows.index_add_(0, table[:, 0], grad)
        return grad_rows[:-1], None


class SiteConvolution(torch.autograd.Function):
    """Sparse convolution as an implicit GEMM over chunks of output rows: each chunk's gathered
    columns stay small (cache- and allocator-friendly) and are gathered again in the backward
    instead of being kept, so no (N_out, K * Cin) tensor ever exists. The GEMMs run in
    ``dtype``; their results are accumulated in the dtype of ``rows``."""

    @staticmethod
    def forward(ctx, rows, table, kernel, chunk, dtype):
        padded = _pad(rows.to(dtype), 0.)
        weights = kernel.to(dtype)
        out = rows.new_empty(table.shape[0], kernel.shape[1])
        for start in range(0, table.shape[0], chunk):
            part = table[start:start + chunk]
            cols = padded.index_select(0, part.reshape(-1)).view(len(part), -1)
            _mm_into(out[start:start + chunk], cols, weights)
        ctx.save_for_backward(rows, table, kernel)
        ctx.chunk, ctx.dtype = chunk, dtype
        return out

    @staticmethod
    def backward(ctx, grad):
        rows, table, kernel = ctx.saved_tensors
        want_rows, _, want_kernel, _, _ = ctx.needs_input_grad  # e.g. a frozen tokenizer: neither
        weights = kernel.to(ctx.dtype)
        padded = _pad(rows.to(ctx.dtype), 0.) if want_kernel else None
        grad_rows = rows.new_zeros(rows.shape[0] + 1, rows.shape[1]) if want_rows else None
        grad_kernel = torch.zeros_like(kernel) if want_kernel else None
        for start in range(0, table.shape[0], ctx.chunk):
            part = table[start:start + ctx.chunk]
            g = grad[start:start + ctx.chunk].to(ctx.dtype)
            if want_kernel:
                cols = padded.index_select(0, part.reshape(-1)).view(len(part), -1)
                if cols.dtype == grad_kernel.dtype:
                    grad_kernel.addmm_(cols.t(), g)
                else:
                    grad_kernel.add_(cols.t() @ g)
            if want_rows:
                grad_rows.index_add_(0, part.reshape(-1),
                                     (g @ weights.t()).view(-1, rows.shape[1]).to(grad_rows.dtype))
        return grad_rows[:-1] if want_rows else None, None, grad_kernel, None, None


def _mm_into(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor):
    """``out[:] = a @ b``, written in place when the dtypes agree (no temporary)."""
    if a.dtype == out.dtype:
        torch.mm(a, b, out=out)
    else:
        out.copy_(a @ b)


def site_conv(rows: torch.Tensor, table: torch.Tensor, kernel: torch.Tensor,
              chunk_bytes: int = 16 * 2**20, dtype=None) -> torch.Tensor:
    """Sparse convolution. ``kernel``: (K, Cin, Cout), offsets in the order of ``table``.
    ``dtype``: of the GEMMs (default: that of ``rows``); the output has the dtype of ``rows``."""
    K, cin, cout = kernel.shape
    dtype = rows.dtype if dtype is None else dtype
    chunk = max(1, chunk_bytes // (K * cin * dtype.itemsize))
    return SiteConvolution.apply(rows, table, kernel.reshape(K * cin, cout), chunk, dtype)


def site_max_pool(rows: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Max pooling over existing neighbours (every output site must have at least one)."""
    return SiteMaxPool.apply(rows, offset_major(table))


class SiteFilter(torch.autograd.Function):
    """The same fixed (K,) filter on every channel, one offset at a time: no (N_out, K, C)
    temporary, and the backward is K weighted ``index_add_``."""

    @staticmethod
    def forward(ctx, rows, table, weights):
        padded = _pad(rows, 0.)
        out = rows.new_zeros(table.shape[0], rows.shape[1])
        for k, w in enumerate(weights.tolist()):
            out.add_(padded.index_select(0, table[:, k]), alpha=w)
        ctx.save_for_backward(table, weights)
        ctx.num_rows = rows.shape[0]
        return out

    @staticmethod
    def backward(ctx, grad):
        table, weights = ctx.saved_tensors
        grad_rows = grad.new_zeros(ctx.num_rows + 1, grad.shape[1])
        for k, w in enumerate(weights.tolist()):
            grad_rows.index_add_(0, table[:, k], grad, alpha=w)
        return grad_rows[:-1], None, None


def site_filter(rows: torch.Tensor, table: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The same fixed (K,) filter on every channel (a depthwise convolution, e.g. a blur)."""
    return SiteFilter.apply(rows, offset_major(table), weights.to(rows.dtype))


def offset_major(table: torch.Tensor) -> torch.Tensor:
    """The same table with each offset's column contiguous, for the per-offset loops."""
    return table.t().contiguous().t()
