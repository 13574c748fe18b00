"""The cheap CPU dropout (scott_mm/models/utils/dropout.py) and the attention that uses it."""
import pytest
import torch
import torch.nn.functional as F

from scott_mm.models.sparse.dense import max_pool_2x2_stride_1
from scott_mm.models.utils.dropout import (Dropout, bernoulli_keep_mask, dropout,
                                           rounded_drop_probability)
from scott_mm.models.utils.transformer import Attention


@pytest.mark.parametrize('p', [0.1, 0.2, 0.5, 0.9])
def test_keep_mask_drops_at_the_requested_rate(p):
    torch.manual_seed(0)
    n = 600_000
    keep = bernoulli_keep_mask((n,), p)
    assert keep.dtype == torch.bool and keep.shape == (n,)
    q = rounded_drop_probability(p)
    assert abs(q - p) <= 2 ** -17
    sd = (q * (1 - q) / n) ** 0.5
    assert abs((~keep).float().mean().item() - q) < 5 * sd


def test_keep_mask_has_no_pattern_across_the_three_fields_of_a_word():
    """Each 64-bit draw feeds three neighbouring elements: every position within a triple, and
    pairs of neighbours, must behave like independent draws."""
    torch.manual_seed(1)
    keep = bernoulli_keep_mask((300_000, 3), 0.5).float()
    n = keep.shape[0]
    for col in range(3):
        assert abs(keep[:, col].mean().item() - 0.5) < 5 * (0.25 / n) ** 0.5
    both = (keep[:, 0] * keep[:, 1]).mean().item()
    assert abs(both - 0.25) < 5 * (0.25 * 0.75 / n) ** 0.5


def test_keep_mask_is_seeded_and_changes_between_draws():
    torch.manual_seed(3)
    first, second = bernoulli_keep_mask((7, 11), 0.3), bernoulli_keep_mask((7, 11), 0.3)
    torch.manual_seed(3)
    assert torch.equal(bernoulli_keep_mask((7, 11), 0.3), first)
    assert not torch.equal(first, second)


def test_dropout_scales_kept_values_and_passes_gradients_through_the_same_mask():
    torch.manual_seed(0)
    x = torch.randn(64, 97, dtype=torch.float64, requires_grad=True)
    p = 0.2
    y = dropout(x, p)
    kept = y != 0
    scale = 1 / (1 - rounded_drop_probability(p))
    assert torch.allclose(y[kept], x[kept] * scale)
    assert 0.7 < kept.double().mean() < 0.9
    g = torch.randn_like(y)
    y.backward(g)
    assert torch.allclose(x.grad, g * kept * scale)


def test_dropout_is_unbiased():
    torch.manual_seed(0)
    x = torch.ones(2_000_000)
    assert abs(dropout(x, 0.2).mean().item() - 1) < 5 * (0.2 / 0.8 / x.numel()) ** 0.5


def test_dropout_is_identity_in_eval_and_at_zero_rate():
    x = torch.randn(5, 6)
    module = Dropout(0.5).eval()
    assert module(x) is x
    assert dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))  # the plain path handles p = 1


def test_training_attention_with_dropout_averages_to_the_attention_without_it():
    """The written-out CPU path is the same maths as SDPA: averaged over many dropout draws it
    gives SDPA's output without dropout, and with the rate at 0 it equals SDPA exactly."""
    torch.manual_seed(0)
    attn = Attention(embed_dims=16, num_heads=2, attn_drop_rate=0.3)
    x = torch.randn(2, 9, 16)
    with torch.no_grad():
        reference = attn.eval()(x)
        attn.train()
        draws = torch.stack([attn(x) for _ in range(3000)])
        B, N, C = x.shape
        q, k, v = attn.qkv(x).view(B, N, 3, 2, -1).permute(2, 0, 3, 1, 4)
        assert torch.allclose(attn.attention_map(q, k) @ v,
                              F.scaled_dot_product_attention(q, k, v), atol=1e-6)
    assert not torch.allclose(draws[0], reference, atol=1e-3)  # dropout is really on
    spread = draws.std(0) / 3000 ** 0.5
    assert ((draws.mean(0) - reference).abs() < 5 * spread + 1e-6).all()


def test_separable_max_pool_equals_max_pool2d():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 13, 10)
    with torch.no_grad():
        assert torch.equal(max_pool_2x2_stride_1(x), F.max_pool2d(x, 2, stride=1))
    x.requires_grad_(True)
    assert torch.equal(max_pool_2x2_stride_1(x), F.max_pool2d(x, 2, stride=1))
