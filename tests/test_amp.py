"""``--amp`` on the CPU: bfloat16 autocast, the code path a GPU runs too.

Stated tolerance, for both tokenizer backends against fp32 on the same weights, images, masks
and dropout draws: the MIM-JEPA loss within 1 % and the gradient within 2 % (relative norm of the
difference). Measured here: 0.02 % and 0.3 %; bfloat16 keeps 8 significant bits (0.4 % per
rounding), and only the GEMMs round to it (sums, softmax, norms and the loss stay fp32).
"""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from torch.utils._python_dispatch import TorchDispatchMode

from scott_mm.engine import BF16OptimWrapper
from tests.test_kill_resume import quick_runs, write_jepa_config  # noqa: F401
from tests.test_mim_jepa import fresh_message_hub, real_batch, tiny_jepa  # noqa: F401
from tests.test_probe_configs import build_runner, ckpt, ckpt16, roots, tiny_config  # noqa: F401
from tests.test_tokenizer import masks_for, twin_tokenizers

BACKENDS = ('dense', 'minkowski')
LOSS_TOLERANCE = 0.01
GRADIENT_TOLERANCE = 0.02


def loss_and_gradient(model, inputs, samples, amp_device=None):
    """The MIM-JEPA loss (training mode, dropout seeded) and its flat gradient."""
    torch.manual_seed(5)
    with torch.autocast(amp_device or 'cpu', dtype=torch.bfloat16, enabled=amp_device is not None):
        loss = model.loss(inputs, samples)['loss']
    loss.backward()
    return loss.detach(), torch.cat([p.grad.flatten() for p in model.parameters()
                                     if p.grad is not None])


def assert_bf16_matches_fp32(model, inputs, samples, device):
    """``model`` (fp32) and a copy of it under bf16 autocast on ``device``."""
    loss32, grad32 = loss_and_gradient(model, inputs, samples)
    loss16, grad16 = loss_and_gradient(copy.deepcopy(model), inputs, samples, device.type)
    assert torch.isfinite(loss16) and torch.isfinite(grad16).all()
    assert loss16 != loss32  # autocast did engage
    assert abs(loss16 - loss32) <= LOSS_TOLERANCE * abs(loss32)
    assert (grad16 - grad32).norm() <= GRADIENT_TOLERANCE * grad32.norm()


@pytest.mark.parametrize('backend', BACKENDS)
def test_bf16_loss_and_gradient_equal_fp32_within_tolerance(backend):
    model = tiny_jepa(backend).train()
    assert_bf16_matches_fp32(model, *real_batch(), torch.device('cpu'))


def test_sparse_tokenizer_runs_its_convolutions_in_bf16_and_sums_in_fp32():
    """Under autocast the sparse tokenizer's GEMMs round to bf16 (its output moves) yet stay
    within bf16 error of the dense backend under the same autocast; its output is fp32."""
    dense, sparse = twin_tokenizers(16)
    g = torch.Generator().manual_seed(3)
    mask = masks_for((6, 6), 3, g)
    x = torch.randn(mask.shape[0], 3, 96, 96, generator=g)
    fp32 = sparse(x, mask)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out, reference = sparse(x, mask), dense(x, mask)
    assert out.dtype == torch.float32 and not torch.equal(out, fp32)
    scale = fp32.norm()
    assert (out - fp32).norm() <= 0.01 * scale
    assert (out - reference.float()).norm() <= 0.01 * scale
    assert (out * mask[:, None]).abs().max() == 0  # masked tokens stay exactly zero


class AttentionKernelDtypes(TorchDispatchMode):
    """Records the dtype of every SDPA kernel call (forward and backward) below autocast."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if 'scaled_dot_product' in func.__name__:
            self.seen.append((func.__name__.split('.')[0], args[0].dtype))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('padded', [False, True])
def test_training_attention_under_bf16_runs_sdpa_in_fp32(padded):
    """On CPU, SDPA's bf16 backward is slow for short sequences (benchmarks.attention), so the
    training attention casts q, k, v to fp32: forward and backward run SDPA's fp32 kernels and
    the result is SDPA in fp32 on the bf16 projections, rounded to bf16. Without autograd (the
    target encoder) the bf16 kernel stays."""
    from scott_mm.models.utils.transformer import Attention
    torch.manual_seed(0)
    attn = Attention(embed_dims=32, num_heads=4).train()
    x = torch.randn(2, 9, 32)
    padding = None
    if padded:
        padding = torch.zeros(2, 9, dtype=torch.bool)
        padding[1, 6:] = True
    with torch.autocast('cpu', dtype=torch.bfloat16):
        with AttentionKernelDtypes() as training:
            out = attn(x, padding=padding)
            out.float().sum().backward()
        with torch.no_grad(), AttentionKernelDtypes() as frozen:
            attn(x, padding=padding)
        q, k, v = attn.qkv(x).view(2, 9, 3, 4, -1).permute(2, 0, 3, 1, 4)
        with torch.autocast('cpu', enabled=False):
            core = torch.nn.functional.scaled_dot_product_attention(
                q.float(), k.float(), v.float(),
                attn_mask=None if padding is None else ~padding[:, None, None, :])
        expected = attn.out_proj(core.to(torch.bfloat16).transpose(1, 2).reshape(2, 9, 32))
    assert len(training.seen) == 2 and {dtype for _, dtype in training.seen} == {torch.float32}
    assert any('backward' in name for name, _ in training.seen)
    assert [dtype for _, dtype in frozen.seen] == [torch.bfloat16]
    assert out.dtype == torch.bfloat16 and torch.equal(out, expected)
    assert torch.isfinite(attn.qkv.weight.grad).all()


def own_name(tmp_path):
    """A config file named after this test: Runners of configs named alike that start within
    one second share a MessageHub (mmengine names them config name + timestamp)."""
    return tmp_path / f'{tmp_path.name}.py'


def amp_pretraining(config, work_dir, backend, *options):
    """A tools/train.py --amp MIM-JEPA run (built as train.main builds it, then trained); checks
    the bfloat16 wrapper, the transformer's GEMMs in bf16 and finite logged losses."""
    from tools import train
    args = train.parse_args([str(config), '--work-dir', str(work_dir), '--amp', '--cfg-options',
                             f'model.backbone.backend={backend}', *options])
    runner = RUNNERS.build(train.merge_args(Config.fromfile(args.config), args))
    seen = set()
    runner.model.backbone.transformer.blocks[0].attn.qkv.register_forward_hook(
        lambda module, inputs, output: seen.add(output.dtype))
    runner.train()
    assert isinstance(runner.optim_wrapper, BF16OptimWrapper)
    assert seen == {torch.bfloat16}
    losses = torch.as_tensor(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == runner.iter and torch.isfinite(losses).all()
    return runner


@pytest.mark.parametrize('backend', BACKENDS)
def test_runner_iterations_with_amp(backend, tmp_path, photo_folder, quick_runs):  # noqa: F811
    config = write_jepa_config(own_name(tmp_path), photo_folder, max_epochs=2)
    assert amp_pretraining(config, tmp_path / 'work', backend).iter == 8


@pytest.mark.parametrize('name', ['linear_probe_flowers', 'attentive_probe_flowers'])
def test_probe_trains_and_tests_with_amp(name, ckpt16, roots, tmp_path):  # noqa: F811
    """A probe under --amp: the frozen encoder (no mask, so the tokenizer's dense path whatever
    the backend) and the head in bf16 autocast; the head trains, the test metric is valid."""
    from tools import train
    cfg = tiny_config(name, roots['flowers'], tmp_path, checkpoint=ckpt16, prefix='backbone.')
    runner = build_runner(train.merge_args(cfg, train.parse_args([name, '--amp'])))
    runner.train()
    assert isinstance(runner.optim_wrapper, BF16OptimWrapper)
    assert all(p in runner.optim_wrapper.optimizer.state for p in runner.model.head.parameters())
    assert 0 <= runner.test()['accuracy/top1'] <= 100


@pytest.mark.parametrize('has_units', [False, True])
def test_bf16_on_an_x86_cpu_without_bf16_units_warns_to_train_in_fp32(has_units, tmp_path,
                                                                       monkeypatch):
    """Without AMX / AVX512-BF16 torch emulates bfloat16 (14x slower measured on AVX2), so the
    wrapper says so and what to do; with them it says nothing. The CPU's answer is the edge."""
    from mmengine.logging import MMLogger

    from scott_mm.engine import bf16_optim_wrapper
    monkeypatch.setattr(bf16_optim_wrapper.platform, 'machine', lambda: 'x86_64')
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: False)
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: has_units)
    log_file = tmp_path / 'log.txt'
    logger = MMLogger.get_instance(f'bf16_units_{has_units}', log_file=str(log_file))
    model = torch.nn.Linear(2, 2)
    BF16OptimWrapper(torch.optim.AdamW(model.parameters()))
    for handler in logger.handlers:
        handler.flush()
    text = log_file.read_text()
    if has_units:
        assert 'bfloat16 units' not in text
    else:
        assert 'without bfloat16 units' in text and 'optim_wrapper.type=OptimWrapper' in text
