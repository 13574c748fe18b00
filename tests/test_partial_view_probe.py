"""benchmarks.partial_view_probe pools what it says: all tokens, or the visible ones only."""
import pytest
import torch
import torch.nn.functional as F

from benchmarks.partial_view_probe import fixed_masks, pooled_features


@pytest.fixture(scope='module')
def encoder():
    from scott_mm.models import SCOTT
    torch.manual_seed(0)
    return SCOTT(arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=64,
                 backend='dense', out_type='raw', final_norm=False).eval()


def test_with_nothing_masked_every_mode_is_the_full_probe(encoder):
    x = torch.randn(3, 3, 64, 64)
    none = torch.zeros(3, 4, 4, dtype=torch.bool)
    full = pooled_features(encoder, x, none, 'full')
    tokens = encoder(x)[-1]
    torch.testing.assert_close(full, F.layer_norm(tokens, tokens.shape[-1:]).mean(1))
    for mode in ('visible', 'mask_token'):
        torch.testing.assert_close(pooled_features(encoder, x, none, mode), full)


def test_partial_modes_ignore_masked_pixels_and_differ_from_the_full_probe(encoder):
    masks = fixed_masks(3, 4, stream=0)
    counts = masks.flatten(1).sum(1)
    assert (counts == counts[0]).all() and 0 < counts[0] < 16  # blockwise: one exact count
    x = torch.randn(3, 3, 64, 64)
    pixels = masks.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, None].expand_as(x)
    noisy = torch.where(pixels, torch.randn_like(x) * 10, x)
    for mode in ('visible', 'mask_token'):
        clean = pooled_features(encoder, x, masks, mode)
        torch.testing.assert_close(pooled_features(encoder, noisy, masks, mode), clean)
        assert not torch.allclose(clean, pooled_features(encoder, x, masks, 'full'), atol=1e-3)
    assert not torch.allclose(pooled_features(encoder, noisy, masks, 'full'),
                              pooled_features(encoder, x, masks, 'full'), atol=1e-3)


def test_masks_are_fixed_per_stream():
    assert torch.equal(fixed_masks(4, 6, stream=1), fixed_masks(4, 6, stream=1))
    assert not torch.equal(fixed_masks(4, 6, stream=0), fixed_masks(4, 6, stream=1))
