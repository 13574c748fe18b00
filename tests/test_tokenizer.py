"""The SCOTT tokenizer: sparse and masked-dense backends compute the same function, and every
layout keeps tokens local (receptive field ~4 patches)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from scott_mm.datasets.transforms.masking import BlockwiseMaskGenerator
from scott_mm.models.sparse.dense import max_pool_2x2_stride_1
from scott_mm.models.tokenizers.scott_tokenizer import LAYOUTS, SCOTTTokenizer, TokenizerLayout
from tests.data_utils import PHOTOS, photo

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


@pytest.mark.parametrize('patch_size,image', [(16, 64), (16, 96), (8, 32), (8, 48), (4, 32),
                                              (4, 24)])
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
    def blur(channels, stride):
        conv = nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)
        conv.weight.data[:] = torch.tensor([[1., 2., 1.], [2., 4., 2.], [1., 2., 1.]]) / 16
        return conv

    pad = nn.Identity() if paper_compat else nn.ZeroPad2d((0, 1, 0, 1))
    return nn.Sequential(tok.conv1, nn.ReLU(), pad, nn.MaxPool2d(2, 1),
                         blur(tok.conv1.out_channels, tok.layout.pool1_stride),
                         tok.conv2, nn.ReLU(), pad, nn.MaxPool2d(2, 1),
                         blur(tok.embed_dims, tok.layout.pool2_stride))


@pytest.mark.parametrize('patch_size', sorted(LAYOUTS))
@pytest.mark.parametrize('backend', BACKENDS)
def test_no_mask_is_the_plain_dense_stack(backend, patch_size):
    tok = make_tokenizer(backend, patch_size)
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(tok(x), plain_stack(tok)(x))


def test_patch_16_is_the_papers_layout():
    """conv7x7/s2 -> MaxBlurPool/s2 -> conv7x7/s2 -> MaxBlurPool/s2: paper checkpoints still fit."""
    tok = SCOTTTokenizer(embed_dims=384, backend='dense')
    assert tok.strides == (2, 2, 2, 2)
    assert {k: tuple(v.shape) for k, v in tok.state_dict().items()} == {
        'conv1.weight': (64, 3, 7, 7), 'conv2.weight': (384, 64, 7, 7)}
    for conv in (tok.conv1, tok.conv2):
        assert (conv.stride, conv.padding, conv.bias) == ((2, 2), (3, 3), None)


#: The receptive field of one token, in pixels (see LAYOUTS in scott_tokenizer.py).
RECEPTIVE_FIELD = {16: 61, 8: 29, 4: 16}


@pytest.mark.parametrize('patch_size', sorted(LAYOUTS))
@pytest.mark.parametrize('backend', BACKENDS)
def test_receptive_field_is_the_documented_window(backend, patch_size):
    """A token's input gradient is non-zero exactly on its documented window (~4 patches)."""
    layout = LAYOUTS[patch_size]
    first, size = layout.receptive_window()
    assert size == layout.receptive_field == RECEPTIVE_FIELD[patch_size]
    assert all(k % 2 for k in (layout.conv1_kernel, layout.conv2_kernel))  # centred: pad k // 2
    grid = 5
    tok = make_tokenizer(backend, patch_size)
    x = torch.randn(2, 3, grid * patch_size, grid * patch_size, requires_grad=True)
    out = tok(x, torch.zeros(2, grid, grid, dtype=torch.bool))  # all visible: the masked path
    out[:, :, 2, 2].sum().backward()
    rows, cols = (x.grad.abs().sum((0, 1)) > 0).nonzero().unbind(1)
    start = 2 * patch_size + first
    assert (rows.min(), rows.max()) == (start, start + size - 1)
    assert (cols.min(), cols.max()) == (start, start + size - 1)


#: Image size per patch size for the locality tests: the paper's 224 px, and the small-image
#: settings (8x8 tokens) that patch 8 and 4 are for.
LOCALITY_IMAGE = {16: 224, 8: 64, 4: 32}


def photo_batch(size, n=16):
    """n crops of scikit-image's bundled photos, normalised with ImageNet's statistics."""
    images = np.stack([photo(PHOTOS[i % len(PHOTOS)], variant=i, size=size) for i in range(n)])
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    return (x - torch.tensor([123.7, 116.3, 103.5]).view(3, 1, 1)) / 58


@torch.no_grad()
def visible_token_cosine(model, size, patch_size, tokens):
    """Mean cosine similarity of the visible tokens computed with and without a blockwise mask
    (ratio 0.6, the paper's) on real photos: 1 when hiding patches does not change what the
    visible ones say. ``tokens`` turns the model's output into (B, N, D)."""
    x = photo_batch(size)
    generator = BlockwiseMaskGenerator(input_size=size // patch_size, mask_ratio=0.6, seed=0)
    mask = torch.stack([torch.from_numpy(generator({})['mask']) for _ in range(len(x))])
    cosine = F.cosine_similarity(tokens(model(x)), tokens(model(x, mask)), dim=-1)
    return cosine[~mask.flatten(1)].mean().item()


def tokenizer_tokens(feats):
    return feats.flatten(2).transpose(1, 2)


@pytest.mark.parametrize('patch_size', sorted(LAYOUTS))
def test_hidden_patches_barely_change_visible_tokens(patch_size):
    """Locality: a visible token depends mostly on its own patch and its neighbours (paper layout
    at 224 px: 0.98), so masked targets cannot be computed from visible pixels."""
    torch.manual_seed(0)
    tok = SCOTTTokenizer(embed_dims=128, patch_size=patch_size, backend='dense')
    assert visible_token_cosine(tok, LOCALITY_IMAGE[patch_size], patch_size,
                                tokenizer_tokens) >= 0.97


def test_locality_test_catches_a_tokenizer_that_sees_the_whole_image(monkeypatch):
    """The old patch-4 layout (the paper's minus its last two downsamplings, RF 49 px on 32 px
    images): visible tokens change with the mask (cosine ~0.90)."""
    monkeypatch.setitem(LAYOUTS, 4, TokenizerLayout(7, 2, 2, 7, 1, 1))
    torch.manual_seed(0)
    tok = SCOTTTokenizer(embed_dims=128, patch_size=4, backend='dense')
    assert visible_token_cosine(tok, 32, 4, tokenizer_tokens) < 0.93


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
    (dict(backend='dense', paper_compat=True, patch_size=4), 'patch-16 layout only'),
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


@pytest.mark.parametrize('masked', [False, True])
def test_channels_last_on_cpu_is_the_same_function_as_nchw(masked, monkeypatch):
    """The dense backend hands oneDNN a channels-last image on CPU (faster, benchmarks.
    memory_format); the layout must change neither features nor gradients."""
    from scott_mm.models.sparse.dense import DenseMaskedBackend
    g = torch.Generator().manual_seed(3)
    tok = make_tokenizer('dense')
    mask = masks_for((4, 4), 1, g) if masked else None
    x = torch.randn(3, 3, 64, 64, generator=g)
    layouts = []
    tok.conv1.register_forward_pre_hook(lambda module, inputs: layouts.append(
        inputs[0].is_contiguous(memory_format=torch.channels_last)))
    results = []
    for channels_last in (False, True):
        monkeypatch.setattr(DenseMaskedBackend, 'channels_last_on_cpu', channels_last)
        tok.zero_grad()
        xi = x.clone().requires_grad_(True)
        out = tok(xi, mask)
        assert layouts.pop() == channels_last
        out.square().sum().backward()
        results.append((out.detach(), xi.grad, tok.conv1.weight.grad.clone(),
                        tok.conv2.weight.grad.clone()))
    for nchw, channels_last in zip(*results):
        assert nchw.abs().max() > 0
        torch.testing.assert_close(channels_last, nchw, rtol=1e-4,
                                   atol=1e-5 * float(nchw.abs().max()))
