"""The sparse tokenizer's operators on rows of active sites (scott_mm/models/sparse/site_ops.py)."""
import pytest
import torch

from scott_mm.models.sparse.site_ops import (SiteFilter, SiteMaxPool, site_conv, site_filter,
                                             site_max_pool)


def random_table(n_in, n_out, k, seed, missing=0.3):
    """Each output reads k distinct input rows (as a kernel map does); some are missing (n_in)."""
    g = torch.Generator().manual_seed(seed)
    table = torch.stack([torch.randperm(n_in, generator=g)[:k] for _ in range(n_out)])
    table[torch.rand(n_out, k, generator=g) < missing] = n_in
    return table


def explicit(rows, table, reduce):
    """Loop reference: reduce(list of (offset, row)) over the present neighbours of each output."""
    return torch.stack([reduce([(k, rows[i]) for k, i in enumerate(row.tolist())
                                if i < len(rows)]) for row in table])


@pytest.mark.parametrize('chunk_bytes', [16 * 2**20, 100])  # one chunk; chunks of 2 rows
def test_site_conv_is_the_sum_over_offsets_of_row_times_kernel(chunk_bytes):
    rows, kernel = torch.randn(12, 3), torch.randn(4, 3, 5)
    table = random_table(12, 7, 4, seed=0)
    expected = explicit(rows, table, lambda terms: sum((r @ kernel[k] for k, r in terms),
                                                       torch.zeros(5)))
    torch.testing.assert_close(site_conv(rows, table, kernel, chunk_bytes), expected)


def test_site_max_pool_ignores_missing_neighbours_even_below_zero():
    rows = -torch.rand(12, 3) - 1  # all negative: a zero for missing neighbours would win
    table = random_table(12, 7, 4, seed=1)
    table[:, 0] = torch.arange(7)  # every output has one neighbour at least (its own site)
    expected = explicit(rows, table, lambda terms: torch.stack([r for _, r in terms]).amax(0))
    torch.testing.assert_close(site_max_pool(rows, table), expected)


def test_site_filter_weights_each_offset():
    rows, weights = torch.randn(12, 3), torch.tensor([0.25, 0.5, 0.125, 0.125])
    table = random_table(12, 7, 4, seed=2)
    expected = explicit(rows, table, lambda terms: sum((weights[k] * r for k, r in terms),
                                                       torch.zeros(3)))
    torch.testing.assert_close(site_filter(rows, table, weights), expected)


def test_custom_backwards_pass_gradcheck():
    rows = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    table = random_table(10, 6, 4, seed=3)
    table[:, 0] = torch.arange(6)
    kernel = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    # chunk_bytes small enough that the 6 outputs come in several chunks
    assert torch.autograd.gradcheck(lambda r, k: site_conv(r, table, k, chunk_bytes=200),
                                    (rows, kernel))
    assert torch.autograd.gradcheck(lambda r: SiteMaxPool.apply(r, table), (rows,))
    weights = torch.tensor([1., 2., 3., 4.], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda r: SiteFilter.apply(r, table, weights), (rows,))


def test_bf16_gemms_sum_over_sites_in_fp32():
    """Under --amp the GEMMs round to bf16, but what sums over many sites stays fp32: 1,000
    outputs reading one input row give it a gradient of exactly 1,000 (a bf16 running sum stalls
    at 256), and the kernel's gradient, summed over 1,000 one-row chunks, is 1,000 too."""
    rows = torch.ones(1, 2, requires_grad=True)
    kernel = torch.ones(1, 2, 1, requires_grad=True)  # K=1, Cin=2, Cout=1
    table = torch.zeros(1000, 1, dtype=torch.long)
    out = site_conv(rows, table, kernel, chunk_bytes=4, dtype=torch.bfloat16)  # 1 row a chunk
    assert out.dtype == torch.float32 and torch.equal(out, torch.full((1000, 1), 2.))
    out.sum().backward()
    assert torch.equal(rows.grad, torch.full((1, 2), 1000.))
    assert torch.equal(kernel.grad, torch.full((1, 2, 1), 1000.))
