"""MIM-JEPA: loss, gradients, EMA schedule and backend equivalence on real photos."""
import copy

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample

from scott_mm.models.utils.ema import linear_momentum
from scott_mm.registry import MODELS
from tests.conftest import skimage_photos


@pytest.fixture(autouse=True)
def fresh_message_hub(request):
    """A MessageHub of this test's own: the EMA schedule reads iter/max_iters from the current
    one, and Runners in other tests leave theirs behind."""
    return MessageHub.get_instance(f'test_mim_jepa.{request.node.name}')


def tiny_jepa(backend='dense', **kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MIMJEPA',
        backbone=dict(type='SCOTT', arch=dict(embed_dims=32, num_layers=2, num_heads=2),
                      img_size=32, patch_size=8, backend=backend),
        neck=dict(type='JEPAPredictor', in_channels=32, embed_dims=32, num_layers=1,
                  num_heads=2, layer_id_offset=2),
        head=dict(type='LatentPredictionHead'),
        data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3), **kwargs))


def real_batch(n=4, size=32, seed=0):
    """Two views (a crop and a shifted crop) of real photos, and blockwise-ish masks."""
    rng = np.random.default_rng(seed)
    photos = [np.asarray(p, dtype=np.float32) for p in skimage_photos().values()]
    views = ([], [])
    for i in range(n):
        img = photos[i % len(photos)]
        img = img[..., None].repeat(3, -1) if img.ndim == 2 else img[..., :3]
        y, x = rng.integers(0, img.shape[0] - 4 * size), rng.integers(0, img.shape[1] - 4 * size)
        crop = torch.from_numpy(img[y:y + 4 * size:4, x:x + 4 * size:4].copy()).permute(2, 0, 1)
        views[0].append(crop)
        views[1].append(crop * 0.9 + 10)  # same geometry, other colours
    masks = []
    for _ in range(n):
        m = np.zeros((4, 4), dtype=bool)
        m.flat[rng.choice(16, 10, replace=False)] = True
        masks.append(DataSample().set_mask(torch.from_numpy(m)))
    inputs = [(torch.stack(v) - 127.5) / 127.5 for v in views]
    return inputs, masks


def test_loss_is_finite_and_decreases(fresh_message_hub):
    model = tiny_jepa()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    inputs, samples = real_batch()
    fresh_message_hub.update_info('max_iters', 30)
    losses = []
    for i in range(30):
        fresh_message_hub.update_info('iter', i)  # as the Runner does
        out = model.loss(inputs, samples)
        optim.zero_grad()
        out['loss'].backward()
        optim.step()
        losses.append(out['loss'].item())
    assert all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses


def test_gradients_reach_context_encoder_and_predictor_not_target():
    model = tiny_jepa()
    inputs, samples = real_batch()
    model.loss(inputs, samples)['loss'].backward()
    for name, p in model.named_parameters():
        if name.startswith('target_encoder.'):
            assert not p.requires_grad and p.grad is None, name
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, f'{name} got no gradient'


def test_ema_step_follows_the_linear_schedule(fresh_message_hub):
    model = tiny_jepa()
    inputs, samples = real_batch()
    hub = fresh_message_hub
    hub.update_info('max_iters', 100)
    hub.update_info('iter', 0)
    model.loss(inputs, samples)  # first update: target = online
    with torch.no_grad():  # move the online encoder away from the target
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    before = copy.deepcopy(model.target_encoder.module.state_dict())
    online = copy.deepcopy(model.backbone.state_dict())
    hub.update_info('iter', 40)
    out = model.loss(inputs, samples)
    m = linear_momentum(40, 100, 0.996, 1.0)
    assert m == pytest.approx(0.996 + 0.004 * 0.4)
    assert out['momentum'].item() == pytest.approx(m)
    after = model.target_encoder.module.state_dict()
    for name, _ in model.backbone.named_parameters():
        torch.testing.assert_close(after[name], m * before[name] + (1 - m) * online[name])


def test_both_backends_give_the_same_loss():
    inputs, samples = real_batch()
    losses = []
    for backend in ('dense', 'minkowski'):
        model = tiny_jepa(backend).eval()  # no dropout: the same function
        losses.append(model.loss(inputs, samples)['loss'].item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_collapse_diagnostics_are_logged():
    out = tiny_jepa().loss(*real_batch())
    assert out['target_std'] > 0 and 1 <= out['target_rank'] <= 4


def test_backbone_must_return_tokens():
    with pytest.raises(ValueError, match="out_type='raw'"):
        MODELS.build(dict(type='MIMJEPA',
                          backbone=dict(type='SCOTT', arch='tiny', backend='dense',
                                        out_type='avg_featmap'),
                          neck=dict(type='JEPAPredictor', in_channels=192, embed_dims=192),
                          head=dict(type='LatentPredictionHead')))


def test_a_batch_with_an_unmasked_image_is_refused():
    """A custom mask generator that masks nothing would train on a loss of 0 without a word."""
    inputs, samples = real_batch()
    samples[1].set_mask(torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='no masked patch'):
        tiny_jepa().loss(inputs, samples)


def test_target_blocks_average_the_last_blocks_of_the_ema_encoder():
    """K=1 is the paper's target (the last block, layer-normed); K=2 averages both blocks of the
    tiny encoder, each layer-normed, then layer-norms the mean. The context encoder still returns
    its last block only."""
    inputs, _ = real_batch()
    view = inputs[1]
    paper, averaged = tiny_jepa().eval(), tiny_jepa(target_blocks=2).eval()
    averaged.load_state_dict(paper.state_dict())
    with torch.no_grad():
        blocks = paper.target_encoder.module.transformer.blocks
        tokens, _ = paper.target_encoder.module.embed(view)
        first = blocks[0](tokens)
        last = blocks[1](first)
    ln = lambda t: torch.nn.functional.layer_norm(t, t.shape[-1:])  # noqa: E731
    torch.testing.assert_close(paper.target_latents(view), ln(last))
    torch.testing.assert_close(averaged.target_latents(view), ln((ln(first) + ln(last)) / 2))
    assert not torch.allclose(averaged.target_latents(view), paper.target_latents(view))
    assert len(averaged.backbone(view)) == 1


def test_target_blocks_beyond_the_encoder_depth_is_refused():
    with pytest.raises(ValueError, match='model.target_blocks=3 must be between 1 and'):
        tiny_jepa(target_blocks=3)
