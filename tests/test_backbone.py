"""The SCOTT backbone: every arch trains, outputs have the documented shapes, mmpretrain can use it."""
import pytest
import torch

from scott_mm.models import SCOTT
from scott_mm.models.tokenizers.scott_tokenizer import LAYOUTS
from scott_mm.registry import MODELS
from tests.test_tokenizer import LOCALITY_IMAGE, visible_token_cosine


@pytest.mark.parametrize('arch', sorted(SCOTT.arch_zoo) + ['custom'])
def test_every_arch_trains(arch):
    torch.manual_seed(0)
    arch_cfg = dict(embed_dims=64, num_layers=2, num_heads=2) if arch == 'custom' else arch
    model = SCOTT(arch=arch_cfg, img_size=64, backend='dense')
    x = torch.randn(2, 3, 64, 64)
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[:, :2] = True  # some tokens masked, so the mask embedding is used
    out, = model(x, mask)
    assert out.shape == (2, 16, model.embed_dims)
    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, f'{name} got no gradient'
        assert torch.isfinite(param.grad).all(), f'{name} has a non-finite gradient'
        assert param.grad.abs().sum() > 0, f'{name} got an all-zero gradient'


def test_paper_model_size():
    """SCOTT-S is about 22M parameters (arXiv 2502.18056)."""
    n = sum(p.numel() for p in SCOTT(arch='small', backend='dense').parameters())
    assert 21e6 < n < 23e6


@pytest.mark.parametrize('out_type,shape', [('raw', (2, 16, 32)), ('featmap', (2, 32, 4, 4)),
                                            ('avg_featmap', (2, 32))])
def test_out_types(out_type, shape):
    model = SCOTT(arch=dict(embed_dims=32, num_layers=3, num_heads=2), img_size=32,
                  patch_size=8, backend='dense', out_type=out_type, out_indices=(0, -1))
    outs = model(torch.randn(2, 3, 32, 32))
    assert len(outs) == 2 and all(o.shape == shape for o in outs)


def test_masked_tokens_are_replaced_by_the_mask_embedding():
    model = SCOTT(arch=dict(embed_dims=32, num_layers=1, num_heads=2), img_size=32,
                  patch_size=8, backend='dense', drop_rate=0.).eval()
    x = torch.randn(1, 3, 32, 32)
    mask = torch.zeros(1, 16, dtype=torch.bool)
    mask[0, 5] = True
    tokens, _ = model.embed(x, mask)
    expected = model.mask_token[0, 0] + model.pos_embed[0, 5]
    torch.testing.assert_close(tokens[0, 5], expected)


def test_other_input_sizes_get_their_own_positions():
    model = SCOTT(arch=dict(embed_dims=32, num_layers=1, num_heads=2), img_size=32,
                  patch_size=8, backend='dense')
    out, = model(torch.randn(1, 3, 48, 64))
    assert out.shape == (1, 6 * 8, 32)


def test_frozen_stages_stay_frozen_and_in_eval():
    model = SCOTT(arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=32,
                  patch_size=8, backend='dense', frozen_stages=2)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.transformer.blocks[1].training and not model.tokenizer.training


@pytest.mark.parametrize('patch_size', sorted(LAYOUTS))
def test_hidden_patches_barely_change_visible_outputs(patch_size):
    """Locality end to end (eval mode, random weights; the tokenizer alone: >= 0.97). Lower than
    the tokenizer's because attention reads the mask embedding where hidden tokens were: 0.974
    for the paper's layout at 224 px; ~0.90 and ~0.83 for the old patch-8 and -4 layouts."""
    size = LOCALITY_IMAGE[patch_size]
    torch.manual_seed(0)
    model = SCOTT(arch=dict(embed_dims=128, num_layers=4, num_heads=4), img_size=size,
                  patch_size=patch_size, backend='dense').eval()
    assert visible_token_cosine(model, size, patch_size, lambda outs: outs[0]) >= 0.95


def test_bad_arch_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown arch 'huge'.*\['base', 'small', 'tiny'\]"):
        SCOTT(arch='huge')
    with pytest.raises(ValueError, match="out_type='cls_token'"):
        SCOTT(arch='tiny', out_type='cls_token', backend='dense')


def test_drops_into_mmpretrain_image_classifier():
    classifier = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='SCOTT', arch='tiny', img_size=64, backend='dense',
                      out_type='avg_featmap', final_norm=True),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=192)))
    logits = classifier(torch.randn(2, 3, 64, 64), mode='tensor')
    assert logits.shape == (2, 5)


def test_pretrained_init_cfg_with_prefix(tmp_path):
    """init_cfg=Pretrained loads backbone weights out of a whole-model checkpoint."""
    arch = dict(embed_dims=32, num_layers=1, num_heads=2)
    source = SCOTT(arch=arch, img_size=32, patch_size=8, backend='dense')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               tmp_path / 'ckpt.pth')
    target = SCOTT(arch=arch, img_size=32, patch_size=8, backend='dense', init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'ckpt.pth'), prefix='backbone.'))
    target.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value)
