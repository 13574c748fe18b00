"""MIMJEPA(context='visible'): the context encoder runs the visible tokens only.

What must hold: nothing masked (pixels or the mask embedding) reaches a visible output or the
context path of the loss; with nothing masked it is the paper's path; images with different
visible counts are padded without changing any image's result; both backends agree; it trains,
resumes bit for bit and runs under DDP like the paper's path.
"""
import shutil

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample

from scott_mm.datasets.transforms.masking import BlockwiseMaskGenerator, RandomMaskGenerator
from tests.test_distributed import free_port, load_probe, probe_config, run, tiny_options
from tests.test_kill_resume import assert_same, quick_runs, write_jepa_config  # noqa: F401
from tests.test_mim_jepa import real_batch, tiny_jepa


@pytest.fixture(autouse=True)
def fresh_message_hub(request):
    return MessageHub.get_instance(f'test_visible_context.{request.node.name}')


def masks_of(samples):
    return torch.stack([s.mask for s in samples]).bool()


def patch_pixels(mask, patch=8):
    """(B, h, w) patch mask -> (B, 1, H, W) pixel mask."""
    return mask.repeat_interleave(patch, 1).repeat_interleave(patch, 2)[:, None]


@pytest.mark.parametrize('backend', ['dense', 'minkowski'])
def test_nothing_masked_reaches_a_visible_output_or_the_loss(backend):
    model = tiny_jepa(backend, context='visible').eval()
    inputs, samples = real_batch()
    mask = masks_of(samples)
    view = inputs[0].clone().requires_grad_(True)
    context = model.visible_context(view, mask)
    visible = ~mask.flatten(1)
    model.zero_grad()
    context[visible].sum().backward()
    assert view.grad[patch_pixels(mask).expand_as(view)].abs().max() == 0
    assert view.grad[~patch_pixels(mask).expand_as(view)].abs().max() > 0
    assert model.backbone.mask_token.grad is None or model.backbone.mask_token.grad.abs().max() == 0
    # Masked slots hold exactly the mask embedding.
    torch.testing.assert_close(context[~visible],
                               model.backbone.mask_token[0].expand(int((~visible).sum()), -1))

    # The loss's context path: masked pixels of the context view get no gradient.
    view.grad = None
    model.head.loss(model.predict_latents(view, mask), model.target_latents(inputs[1]),
                    mask.flatten(1)).backward()
    assert view.grad[patch_pixels(mask).expand_as(view)].abs().max() == 0


def test_the_paper_path_lets_the_mask_embedding_reach_visible_outputs():
    """The property above is the variant's, not a given: the paper's encoder mixes them."""
    model = tiny_jepa(context='mask_token').eval()
    inputs, samples = real_batch()
    mask = masks_of(samples)
    out = model.backbone(inputs[0], mask)[-1]
    out[~mask.flatten(1)].sum().backward()
    assert model.backbone.mask_token.grad.abs().max() > 0


def test_with_nothing_masked_it_is_the_paper_path():
    inputs, _ = real_batch()
    mask = torch.zeros(inputs[0].shape[0], 4, 4, dtype=torch.bool)
    paper = tiny_jepa(context='mask_token').eval().predict_latents(inputs[0], mask)
    visible = tiny_jepa(context='visible').eval().predict_latents(inputs[0], mask)
    torch.testing.assert_close(visible, paper)


def test_padding_for_unequal_visible_counts_changes_no_image():
    """Visible counts 6, 3 and 10 in one batch give what each image gives alone (no pads)."""
    model = tiny_jepa(context='visible').eval()
    inputs, _ = real_batch(n=3)
    rng = np.random.default_rng(1)
    mask = torch.ones(3, 16, dtype=torch.bool)
    for i, count in enumerate([6, 3, 10]):
        mask[i, rng.choice(16, count, replace=False)] = False
    mask = mask.view(3, 4, 4)
    outs, index, padding = model.backbone.forward_visible(inputs[0], mask)
    assert padding is not None and padding.sum(1).tolist() == [4, 7, 0]
    batched = model.predict_latents(inputs[0], mask)
    for i in range(3):
        alone = model.predict_latents(inputs[0][i:i + 1], mask[i:i + 1])
        torch.testing.assert_close(batched[i:i + 1], alone, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('generator', [BlockwiseMaskGenerator, RandomMaskGenerator])
def test_blockwise_and_random_masks_need_no_padding(generator):
    """Both give exactly round(0.4 * 196) = 79 visible patches, so a batch needs no pad."""
    gen = generator(input_size=(14, 14), mask_ratio=0.6)
    masks = torch.stack([torch.from_numpy(gen.transform({})['mask']) for _ in range(8)]).bool()
    assert ((~masks).flatten(1).sum(1) == 79).all()
    from scott_mm.models import SCOTT
    model = SCOTT(arch=dict(embed_dims=32, num_layers=1, num_heads=2), img_size=224,
                  backend='dense')
    outs, index, padding = model.forward_visible(torch.randn(8, 3, 224, 224), masks)
    assert outs[-1].shape == (8, 79, 32) and padding is None


def test_both_backends_give_the_same_loss():
    inputs, samples = real_batch()
    losses = [tiny_jepa(b, context='visible').eval().loss(inputs, samples)['loss'].item()
              for b in ('dense', 'minkowski')]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_every_trainable_parameter_gets_a_gradient():
    """DDP (find_unused_parameters=False) needs this; the mask embedding is used after the
    encoder instead of before it."""
    model = tiny_jepa(context='visible')
    model.loss(*real_batch())['loss'].backward()
    for name, p in model.named_parameters():
        if not name.startswith('target_encoder.'):
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_loss_decreases(fresh_message_hub):
    model = tiny_jepa(context='visible')
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    inputs, samples = real_batch()
    fresh_message_hub.update_info('max_iters', 30)
    losses = []
    for i in range(30):
        fresh_message_hub.update_info('iter', i)
        out = model.loss(inputs, samples)
        optim.zero_grad()
        out['loss'].backward()
        optim.step()
        losses.append(out['loss'].item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses


def test_unknown_context_is_refused():
    with pytest.raises(ValueError, match=r"model.context='tokens' is not one of"):
        tiny_jepa(context='tokens')


def test_resume_matches_an_uninterrupted_run(tmp_path, photo_folder, quick_runs):  # noqa: F811
    """12 iterations straight vs resumed from the checkpoint of iteration 6: bit-identical."""
    from tools import train
    extra = ("model['context'] = 'visible'\n"
             "default_hooks['checkpoint']['max_keep_ckpts'] = 4\n")
    straight = tmp_path / 'straight'
    train.main([write_jepa_config(tmp_path / 'a.py', photo_folder, extra=extra),
                '--work-dir', str(straight)])
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(straight / 'iter_6.pth', resumed / 'iter_6.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_6.pth'))
    runner = train.main([write_jepa_config(tmp_path / 'b.py', photo_folder, extra=extra),
                         '--work-dir', str(resumed), '--resume'])
    assert runner.model.context == 'visible'
    expected = torch.load(straight / 'iter_12.pth', weights_only=True)
    got = torch.load(resumed / 'iter_12.pth', weights_only=True)
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state'):
        assert_same(expected[key], got[key], key)


def test_two_ddp_ranks_train_and_stay_identical(tmp_path):
    work = tmp_path / 'ddp'
    run(['bash', 'tools/dist_train.sh', probe_config(tmp_path), '2', '--work-dir', str(work)]
        + tiny_options(8, num_images=32) + ['model.context=visible'],
        tmp_path / 'ddp.log', PORT=str(free_port()))
    r0, r1 = load_probe(work, 0), load_probe(work, 1)
    assert r0['wrapped'] == 'MMDistributedDataParallel' and len(r0['losses']) == 2
    assert all(np.isfinite(r0['losses'] + r1['losses']))
    for part in ('online', 'target'):
        for name, w in r0[part].items():
            assert torch.equal(w, r1[part][name]), (part, name)
    name = 'tokenizer.conv1.weight'
    assert not torch.equal(r0['online'][name], r0['init_online'][name])
