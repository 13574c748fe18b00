"""The SCOTT tokenizer: sparse and masked-dense backends compute the same function."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from scott_mm.models.sparse.dense import max_pool_2x2_stride_1
from scott_mm.models.tokenizers.scott_tokenizer import SCOTTTokenizer

BACKENDS = ['dense', 'minkowski']


def make_tokenizer(backend, patch_size=16, embed_dims=24, seed=0):
    torch.manual_seed(seed)
    return SCOTTTokenizer(embed_dims=embed_dims, stem_channels=8, patch_size=patch_size,
                          backend=backend)


def twin_tokenizers(patch_size=16):
    """A dense and a minkowski tokenizer with identical weights (one state_dict, two backends)."""
    dense = make_tokenizer('dense', patch_size)
    sparse = make_tokenizer('minkowski', patch_size)
    sparse.load_state_dict(dense.state_dict())
    return dense, sparse


def masks_for(grid, batch, generator):
    """Random patch masks plus the edge cases: nothing masked, and one single visible patch."""
    h, w = grid
    random = torch.rand(batch, h, w, generator=generator) < 0.6
    none_masked = torch.zeros(1, h, w, dtype=torch.bool)
    single_visible = torch.ones(1, h, w, dtype=torch.bool)
    single_visible[0, h - 1, 0] = False  # a border patch: the hardest case for padding
    return torch.cat([random, none_masked, single_visible])


@pytest.mark.parametrize('patch_size,image', [(16, 64), (16, 96), (8, 32), (4, 32)])
def test_backends_agree_on_features_and_gradients(patch_size, image):
    g = torch.Generator().manual_seed(patch_size + image)
    dense, sparse = twin_tokenizers(patch_size)
    grid = (image // patch_size, image // patch_size)
    mask = masks_for(grid, 3, g)
    x = torch.randn(mask.shape[0], 3, image, image, generator=g)
    weights = torch.randn(mask.shape[0], dense.embed_dims, *grid, generator=g)

    outs, grads = [], []
    for tok in (dense, sparse):
        xi = x.clone().requires_grad_(True)
        out = tok(xi, mask)
        (out * weights).sum().backward()
        outs.append(out)
        grads.append((xi.grad, tok.conv1.weight.grad, tok.conv2.weight.grad))

    visible = ~mask[:, None]
    scale = outs[0].detach().abs().max()
    assert scale > 0
    torch.testing.assert_close(outs[1], outs[0], atol=1e-4 * float(scale), rtol=1e-4)
    assert (outs[0] * ~visible).abs().max() == 0  # masked tokens are exactly zero
    assert (outs[1] * ~visible).abs().max() == 0
    for g_sparse, g_dense in zip(grads[1], grads[0]):
        torch.testing.assert_close(g_sparse, g_dense, atol=1e-4 * float(g_dense.detach().abs().max()), rtol=1e-4)


@pytest.mark.parametrize('backend', BACKENDS)
def test_masked_pixels_cannot_change_visible_tokens(backend):
    g = torch.Generator().manual_seed(1)
    tok = make_tokenizer(backend)
    mask = masks_for((4, 4), 2, g)
    x = torch.randn(mask.shape[0], 3, 64, 64, generator=g)
    pixel_mask = mask.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, None]
    x_other = torch.where(pixel_mask, torch.randn_like(x) * 100, x)
    assert torch.equal(tok(x_other, mask), tok(x, mask))


def test_sparse_backend_is_repeatable_bit_for_bit_with_several_threads():
    """What bit-identical resume needs (MinkowskiEngine's own kernels were not: ~1e-6 apart)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        tok = make_tokenizer('minkowski', embed_dims=64)
        g = torch.Generator().manual_seed(2)
        mask = masks_for((6, 6), 4, g)
        x = torch.randn(mask.shape[0], 3, 96, 96, generator=g)
        runs = []
        for _ in range(3):
            tok.zero_grad()
            out = tok(x, mask)
            (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
            runs.append([out.detach(), tok.conv1.weight.grad.clone(), tok.conv2.weight.grad.clone()])
    finally:
        torch.set_num_threads(threads)
    for run in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(run, runs[0]))


def plain_stack(tok, paper_compat=False):
    """The same tokenizer written as an ordinary nn.Sequential of torch layers."""
    blur = nn.Conv2d(tok.embed_dims, tok.embed_dims, 3, 2, 1, groups=tok.embed_dims, bias=False)
    blur1 = nn.Conv2d(tok.conv1.out_channels, tok.conv1.out_channels, 3, 2, 1,
                      groups=tok.conv1.out_channels, bias=False)
    for b in (blur, blur1):
        b.weight.data[:] = torch.tensor([[1., 2., 1.], [2., 4., 2.], [1., 2., 1.]]) / 16
    pad = nn.Identity() if paper_compat else nn.ZeroPad2d((0, 1, 0, 1))
    return nn.Sequential(tok.conv1, nn.ReLU(), pad, nn.MaxPool2d(2, 1), blur1,
                         tok.conv2, nn.ReLU(), pad, nn.MaxPool2d(2, 1), blur)


@pytest.mark.parametrize('backend', BACKENDS)
def test_no_mask_is_the_plain_dense_stack(backend):
    tok = make_tokenizer(backend)
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(tok(x), plain_stack(tok)(x))


def test_paper_compat_reproduces_the_authors_unpadded_max_pool():
    torch.manual_seed(0)
    tok = SCOTTTokenizer(embed_dims=24, stem_channels=8, backend='dense', paper_compat=True)
    x = torch.randn(2, 3, 64, 64)
    expected = plain_stack(tok, paper_compat=True)(x)
    torch.testing.assert_close(tok(x), expected)
    strict = make_tokenizer('dense')
    strict.load_state_dict(tok.state_dict())
    assert not torch.allclose(strict(x), expected)  # they differ at the borders, as documented


@pytest.mark.parametrize('bad,match', [
    (dict(patch_size=12), 'patch_size=12'),
    (dict(backend='cuda_sparse'), "Unknown tokenizer backend 'cuda_sparse'"),
    (dict(backend='minkowski', paper_compat=True), "paper_compat=True needs backend='dense'"),
])
def test_bad_arguments_name_the_key(bad, match):
    with pytest.raises(ValueError, match=match):
        SCOTTTokenizer(**bad)


def test_image_not_divisible_by_patch_size():
    with pytest.raises(ValueError, match='not divisible by the patch size 16'):
        make_tokenizer('dense')(torch.randn(1, 3, 60, 64))


def test_separable_max_pool_equals_max_pool2d():
    """Without autograd (the target encoder's path), including ties and strided inputs."""
    torch.manual_seed(0)
    x = torch.relu(torch.randn(2, 5, 13, 10)).round()  # many ties
    strided = torch.randn(2, 10, 13, 5).transpose(1, 3)
    with torch.no_grad():
        for t in (x, strided, F.pad(x, (0, 1, 0, 1))):
            assert torch.equal(max_pool_2x2_stride_1(t), F.max_pool2d(t, 2, stride=1))
