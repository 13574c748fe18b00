"""VarianceCovarianceRegularizer and MIMJEPA(regularizer=...).

What must hold: the variance hinge is ~0 for spread-out, zero-mean features and large for
features that share one direction; the covariance term sees correlated channels; in MIMJEPA the
terms only reach the context encoder's outputs at visible patches (not masked pixels, not the
predictor), and minimising them spreads those outputs out; without a regulariser the loss is
the paper's alone.
"""
import math

import pytest
import torch
from mmengine.logging import MessageHub

from scott_mm.models.heads import VarianceCovarianceRegularizer
from scott_mm.models.heads.variance_covariance_regularizer import fade_factor
from tests.test_mim_jepa import real_batch, tiny_jepa
from tests.test_visible_context import masks_of, patch_pixels


@pytest.fixture(autouse=True)
def fresh_message_hub(request):
    return MessageHub.get_instance(f'test_vc_regularizer.{request.node.name}')


def test_variance_hinge_is_zero_for_spread_features_and_large_for_a_shared_direction():
    reg = VarianceCovarianceRegularizer(var_weight=1.0, cov_weight=1.0)
    torch.manual_seed(0)
    spread = torch.randn(4096, 16)
    shared = torch.randn(16) * 3 + 0.1 * torch.randn(4096, 16)  # one direction + small noise
    spread_terms, shared_terms = reg.loss(spread), reg.loss(shared)
    assert spread_terms['loss_variance'] < 0.03
    assert shared_terms['loss_variance'] > 0.8  # layer-normed, the shared part leaves std ~0.1
    # layer norm alone correlates channels by -1/(D-1): a floor of ~1/(D-1) = 0.067 here
    assert spread_terms['loss_covariance'] < 0.1

    correlated = spread.clone()
    correlated[:, :8] = correlated[:, :1]  # half the channels carry the same signal
    assert reg.loss(correlated)['loss_covariance'] > 5 * spread_terms['loss_covariance']


def test_weights_scale_the_terms_and_zero_weights_are_refused():
    torch.manual_seed(0)
    x = torch.randn(64, 8) + 2
    one, half = VarianceCovarianceRegularizer(1.0, 1.0), VarianceCovarianceRegularizer(0.5, 0.25)
    a, b = one.loss(x), half.loss(x)
    torch.testing.assert_close(b['loss_variance'], 0.5 * a['loss_variance'])
    torch.testing.assert_close(b['loss_covariance'], 0.25 * a['loss_covariance'])
    with pytest.raises(ValueError, match='leave model.regularizer unset'):
        VarianceCovarianceRegularizer(var_weight=0.0, cov_weight=0.0)


def test_over_images_sees_what_position_alone_spreads_and_over_tokens_does_not():
    """Every image has the same tokens, which differ only by position: spread out as tokens,
    identical as images (what a probe pools)."""
    torch.manual_seed(0)
    per_position = torch.randn(36, 16)
    context = per_position.expand(8, 36, 16) + 0.01 * torch.randn(8, 36, 16)
    visible = torch.ones(8, 36, dtype=torch.bool)
    tokens = VarianceCovarianceRegularizer(1.0, 1.0, over='tokens').loss_on(context, visible)
    images = VarianceCovarianceRegularizer(1.0, 1.0, over='images').loss_on(context, visible)
    assert tokens['loss_variance'] < 0.2
    assert images['loss_variance'] > 0.9


def test_over_images_pools_only_the_visible_layer_normed_tokens():
    torch.manual_seed(0)
    context = torch.randn(4, 9, 16) * 3 + 1
    visible = torch.rand(4, 9) > 0.5
    visible[:, 0] = True
    reg = VarianceCovarianceRegularizer(1.0, 1.0, over='images')
    normed = torch.nn.functional.layer_norm(context, (16,))
    pooled = torch.stack([normed[i][visible[i]].mean(0) for i in range(4)])
    terms, expected = reg.loss_on(context, visible), reg.loss(pooled)
    for name in ('loss_variance', 'loss_covariance'):
        torch.testing.assert_close(terms[name], expected[name])
    as_tokens = VarianceCovarianceRegularizer(1.0, 1.0).loss_on(context, visible)
    torch.testing.assert_close(as_tokens['loss_variance'],
                               reg.loss(context[visible])['loss_variance'])


def test_over_images_refuses_one_image_and_unknown_samples():
    with pytest.raises(ValueError, match="over='tokens'"):
        VarianceCovarianceRegularizer(over='images').loss_on(torch.randn(1, 9, 8),
                                                             torch.ones(1, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match="over='pixels' is not one of"):
        VarianceCovarianceRegularizer(over='pixels')


def test_fade_holds_the_weights_then_follows_a_half_cosine_to_zero():
    assert [fade_factor(t, 100, None) for t in (0, 50, 100)] == [1.0, 1.0, 1.0]
    assert [fade_factor(t, 100, 0.6) for t in (0, 60)] == [1.0, 1.0]
    assert fade_factor(80, 100, 0.6) == pytest.approx(0.5)  # half way through the fade
    assert fade_factor(90, 100, 0.6) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.75)))
    assert fade_factor(100, 100, 0.6) == pytest.approx(0.0)
    assert fade_factor(150, 100, 0.6) == pytest.approx(0.0)  # clamped past the end
    with pytest.raises(ValueError, match='fade_from must be None or in'):
        VarianceCovarianceRegularizer(fade_from=1.0)


def test_the_terms_fade_with_the_runners_iteration(fresh_message_hub):
    """The factor comes from MessageHub's iter / max_iters (what the Runner sets)."""
    torch.manual_seed(0)
    x = torch.randn(64, 8) + 2
    constant = VarianceCovarianceRegularizer(1.0, 1.0).loss(x)
    fading = VarianceCovarianceRegularizer(1.0, 1.0, fade_from=0.5)
    torch.testing.assert_close(fading.loss(x), constant)  # outside a Runner: not faded
    fresh_message_hub.update_info('max_iters', 100)
    for it, factor in [(30, 1.0), (75, 0.5), (100, 0.0)]:
        fresh_message_hub.update_info('iter', it)
        for name, value in fading.loss(x).items():
            torch.testing.assert_close(value, factor * constant[name], atol=1e-7, rtol=1e-5)


def test_without_a_regularizer_the_loss_is_the_papers_alone():
    inputs, samples = real_batch()
    losses = tiny_jepa(context='visible').loss(inputs, samples)
    assert [k for k in losses if 'loss' in k] == ['loss']


def test_the_optimised_loss_adds_the_terms_and_the_log_keeps_the_latent_loss():
    model = tiny_jepa(context='visible', regularizer=dict(type='VarianceCovarianceRegularizer'))
    inputs, samples = real_batch()
    losses = model.loss(inputs, samples)
    total, log = model.parse_losses(losses)
    torch.testing.assert_close(
        total, losses['loss'] + losses['loss_variance'] + losses['loss_covariance'])
    torch.testing.assert_close(log['loss'], losses['loss'])


@pytest.mark.parametrize('over', ['tokens', 'images'])
@pytest.mark.parametrize('context', ['visible', 'mask_token'])
def test_terms_reach_only_visible_outputs_of_the_context_encoder(context, over):
    model = tiny_jepa(context=context,
                      regularizer=dict(type='VarianceCovarianceRegularizer', over=over))
    inputs, samples = real_batch()
    mask = masks_of(samples)
    view = inputs[0].clone().requires_grad_(True)
    losses = model.loss([view, inputs[1]], samples)
    assert {'loss', 'loss_variance', 'loss_covariance'} <= set(losses)
    assert losses['loss_variance'] > 0
    model.zero_grad()
    (losses['loss_variance'] + losses['loss_covariance']).backward()
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in model.neck.parameters())
    assert any(p.grad is not None and p.grad.abs().max() > 0 for p in model.backbone.parameters())
    if context == 'visible':  # the paper's path lets masked slots reach visible outputs
        pixel_mask = patch_pixels(mask).expand_as(view)
        assert view.grad[pixel_mask].abs().max() == 0
        assert view.grad[~pixel_mask].abs().max() > 0


def test_minimising_the_terms_spreads_the_visible_outputs():
    model = tiny_jepa(context='visible', regularizer=dict(type='VarianceCovarianceRegularizer'))
    inputs, samples = real_batch(n=8)
    mask = masks_of(samples)
    inputs = [model.data_preprocessor({'inputs': v, 'data_samples': samples})['inputs']
              for v in inputs]

    def terms():
        context = model.context_latents(inputs[0], mask)[~mask.flatten(1)]
        return model.regularizer.loss(context)

    before = terms()
    optimizer = torch.optim.Adam(model.backbone.parameters(), lr=1e-3)
    for _ in range(30):
        optimizer.zero_grad()
        sum(terms().values()).backward()
        optimizer.step()
    after = terms()
    assert after['loss_variance'] < 0.7 * before['loss_variance']


@pytest.mark.parametrize('config', ['configs/scott_jepa_flowers_cpu_bf16_varcov.py',
                                    'configs/scott_jepa_demo.py'])
def test_the_current_cpu_recipes_build_with_their_terms_and_optimise_them(config):
    """The current CPU Flowers recipe and the demo: MMEngine builds the regulariser from the
    config, and the terms are part of what its training step optimises."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    from scott_mm.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    assert (model.regularizer.var_weight, model.regularizer.cov_weight) == (0.05, 0.002)
    size = cfg.model.backbone.img_size
    grid = size // cfg.model.backbone.patch_size
    inputs = [torch.nn.functional.interpolate(view, size=size, mode='bilinear')
              for view in real_batch(n=4, size=32)[0]]
    visible = grid * grid // 4  # as mask ratio 0.75 leaves
    samples = [DataSample().set_mask(
        torch.arange(grid * grid).roll(i).reshape(grid, grid) >= visible) for i in range(4)]
    losses = model.loss(inputs, samples)
    total, log = model.parse_losses(losses)
    assert losses['loss_variance'] > 0 and losses['loss_covariance'] > 0
    torch.testing.assert_close(
        total, losses['loss'] + losses['loss_variance'] + losses['loss_covariance'])
