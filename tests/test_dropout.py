"""The cheap CPU dropout (scott_mm/models/utils/dropout.py) and the attention that uses it."""
import pytest
import torch
import torch.nn.functional as F

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


def test_keep_mask_has_no_pattern_across_the_fields_of_a_word():
    """Each 64-bit draw feeds three neighbouring elements: each position within a triple, and
    neighbours within a word and across words, must behave like independent draws."""
    torch.manual_seed(1)
    p = 0.1
    q = rounded_drop_probability(p)
    drop = (~bernoulli_keep_mask((400_000, 3), p)).double()
    n = drop.shape[0]
    for col in range(3):
        assert abs(drop[:, col].mean().item() - q) < 5 * (q * (1 - q) / n) ** 0.5
    pairs = {'fields 0, 1': (drop[:, 0], drop[:, 1]), 'fields 1, 2': (drop[:, 1], drop[:, 2]),
             'field 2, next word 0': (drop[:-1, 2], drop[1:, 0])}
    for name, (a, b) in pairs.items():
        both = (a * b).mean().item()
        assert abs(both - q * q) < 5 * (q * q * (1 - q * q) / n) ** 0.5, name


def test_keep_mask_refuses_probabilities_that_round_to_0_or_1():
    for p in (0.0, 1e-6, 1.0, 1 - 1e-6):
        with pytest.raises(ValueError, match='must round into'):
            bernoulli_keep_mask((4,), p)


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
    with pytest.raises(ValueError, match='inplace'):
        Dropout(0.1, inplace=True)


def test_tiny_rates_keep_their_exact_probability():
    """1e-4 would round to 7/65536 (+7%): such rates take F.dropout, whose rate is exact."""
    torch.manual_seed(0)
    x = torch.ones(4_000_000)
    dropped = (dropout(x, 1e-4) == 0).double().mean().item()
    assert abs(dropped - 1e-4) < 5 * (1e-4 / x.numel()) ** 0.5


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


def test_training_attention_gradients_follow_the_drawn_mask(monkeypatch):
    """Input and weight gradients of the written-out CPU path equal plain autograd through
    softmax(q k^T / sqrt(d)) * mask / (1 - p) @ v with the very mask that was drawn."""
    from scott_mm.models.utils import dropout as dropout_module
    drawn = []

    def recording(*args, **kwargs):
        drawn.append(bernoulli_keep_mask(*args, **kwargs))
        return drawn[-1]
    monkeypatch.setattr(dropout_module, 'bernoulli_keep_mask', recording)
    torch.manual_seed(0)
    attn = Attention(embed_dims=16, num_heads=2, attn_drop_rate=0.3).double().train()
    x = torch.randn(2, 9, 16, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 9, 16, dtype=torch.float64)
    attn(x).backward(g)
    ours = (x.grad.clone(), attn.qkv.weight.grad.clone())
    x.grad, attn.qkv.weight.grad, attn.out_proj.weight.grad = None, None, None

    B, N, C = x.shape
    q, k, v = attn.qkv(x).view(B, N, 3, 2, -1).permute(2, 0, 3, 1, 4)
    weights = (q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5).softmax(-1)
    weights = weights * drawn[0] / (1 - rounded_drop_probability(0.3))
    out = attn.out_proj((weights @ v).transpose(1, 2).reshape(B, N, C))
    out.backward(g)
    assert len(drawn) == 1 and drawn[0].shape == (2, 2, 9, 9)
    assert torch.allclose(ours[0], x.grad) and torch.allclose(ours[1], attn.qkv.weight.grad)


def test_training_attention_under_bf16_autocast_matches_fp32():
    """The `--amp` path on CPU: same seed, same dropout mask; bf16 matmuls, fp32 softmax."""
    torch.manual_seed(0)
    attn = Attention(embed_dims=32, num_heads=4, attn_drop_rate=0.1).train()
    x = torch.randn(2, 16, 32)
    torch.manual_seed(1)
    reference = attn(x)
    torch.manual_seed(1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = attn(x)
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), reference, atol=0.02, rtol=0.05)
