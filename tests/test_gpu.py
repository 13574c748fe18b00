"""On a CUDA device: both backends, bfloat16, the Runner, kill-and-resume and a probe.

Each test takes the ``gpu`` fixture (tests/conftest.py): without CUDA it is skipped with the
reason "no CUDA device". tools/gpu_check.sh runs this file on the device; its CPU rehearsal runs
it on the CPU (``SCOTT_MM_GPU_TESTS_ON_CPU=1``) so the tests themselves are checked before a GPU
is lent. On the GPU the ``minkowski`` backend builds its maps on the CPU (unless MinkowskiEngine
was built with CUDA) and computes on the GPU.
"""
import copy
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import REPO
from tests.data_utils import make_flowers
from tests.test_amp import BACKENDS, amp_pretraining, assert_bf16_matches_fp32, own_name
from tests.test_kill_resume import SLOW_DISK, logged, quick_runs, write_jepa_config  # noqa: F401
from tests.test_mim_jepa import fresh_message_hub, real_batch, tiny_jepa  # noqa: F401
from tests.test_probe_configs import build_runner, tiny_config
from tests.test_tokenizer import masks_for, twin_tokenizers


@pytest.fixture
def exact_fp32():
    """fp32 comparisons in fp32: no TF32 in cuDNN convolutions (on by default) or matmuls."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def on(device, samples):
    return [sample.to(device) for sample in samples]


@pytest.mark.parametrize('patch_size,image', [(16, 96), (8, 48)])
def test_backends_agree_on_the_gpu_and_with_the_cpu(gpu, exact_fp32, patch_size, image):
    """Features and all gradients of both backends on the GPU equal the dense CPU reference."""
    tokenizers = dict(zip(BACKENDS, twin_tokenizers(patch_size)))
    g = torch.Generator().manual_seed(patch_size + image)
    grid = (image // patch_size,) * 2
    mask = masks_for(grid, 3, g)
    x = torch.randn(mask.shape[0], 3, image, image, generator=g)
    weights = torch.randn(mask.shape[0], tokenizers['dense'].embed_dims, *grid, generator=g)
    results = {}
    for device in (torch.device('cpu'), gpu):
        for backend, cpu_tokenizer in tokenizers.items():
            tok = copy.deepcopy(cpu_tokenizer).to(device)
            xi = x.to(device).requires_grad_(True)
            out = tok(xi, mask.to(device))
            assert out.device.type == device.type
            (out * weights.to(device)).sum().backward()
            results[device.type, backend] = [t.detach().cpu() for t in (
                out, xi.grad, tok.conv1.weight.grad, tok.conv2.weight.grad)]
    reference = results['cpu', 'dense']
    assert len(results) == (2 if gpu.type == 'cpu' else 4)
    for key, tensors in results.items():
        for got, expected in zip(tensors, reference):
            scale = float(expected.abs().max())
            torch.testing.assert_close(got, expected, atol=1e-4 * scale, rtol=1e-4, msg=str(key))


@pytest.mark.parametrize('backend', BACKENDS)
def test_bf16_on_the_gpu_equals_fp32_within_tolerance(gpu, exact_fp32, backend):
    """test_amp's tolerance (loss 1 %, gradient 2 %) under CUDA autocast. Eval mode: CUDA's
    attention kernels draw dropout differently in bf16 and fp32."""
    inputs, samples = real_batch()
    model = tiny_jepa(backend).to(gpu).eval()
    assert_bf16_matches_fp32(model, [v.to(gpu) for v in inputs], on(gpu, samples), gpu)


@pytest.mark.parametrize('backend', BACKENDS)
def test_mim_jepa_steps_in_bf16_through_the_runner(gpu, backend, tmp_path, photo_folder,
                                                  quick_runs):  # noqa: F811
    config = write_jepa_config(own_name(tmp_path), photo_folder, max_epochs=2)
    runner = amp_pretraining(config, tmp_path / 'work', backend)
    assert runner.iter == 8
    assert all(p.device.type == gpu.type for p in runner.model.parameters())


def test_kill_then_resume_on_the_gpu_is_correct(gpu, tmp_path, photo_folder,
                                               quick_runs):  # noqa: F811
    """test_kill_resume's run (killed while writing the checkpoint of iteration 6, resumed from
    iteration 3) on the GPU with the minkowski backend. GPU kernels (atomic adds, cuDNN) are not
    bit-reproducible, so the check is: the same schedule, the same logged learning rate and
    momentum, losses within 0.1 %, and final weights whose distance to the uninterrupted run's is
    under 5 % of how far that run moved after iteration 3."""
    from tools import train
    sparse = ['--cfg-options', 'model.backbone.backend=minkowski']
    (tmp_path / 'stalling_disk.py').write_text(SLOW_DISK)
    killed_cfg = write_jepa_config(
        tmp_path / 'gpu_killed.py', photo_folder, num_workers=1,
        checkpoint="backend_args=dict(backend='scott_test_stalling_disk')",
        extra="custom_imports = dict(imports=['scott_mm', 'stalling_disk'])\n")
    work, marker = tmp_path / 'work', tmp_path / 'saving_iter_6'
    env = dict(os.environ, SCOTT_TEST_MARKER=str(marker), OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), str(REPO),
                                                        os.environ.get('PYTHONPATH')])))
    with open(tmp_path / 'killed.out', 'w') as out:
        proc = subprocess.Popen([sys.executable, 'tools/train.py', killed_cfg, '--work-dir',
                                 str(work), *sparse], cwd=REPO, env=env, stdout=out, stderr=out)
    try:
        reference = tmp_path / 'reference'
        train.main([write_jepa_config(tmp_path / 'gpu_reference.py', photo_folder),
                    '--work-dir', str(reference), *sparse])
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert proc.poll() is None, (tmp_path / 'killed.out').read_text()[-3000:]
            assert time.monotonic() < deadline, 'the training process never reached iteration 6'
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')
    at_3 = torch.load(work / 'iter_3.pth', weights_only=True, map_location='cpu')['state_dict']

    runner = train.main([write_jepa_config(tmp_path / 'gpu_resumed.py', photo_folder),
                         '--work-dir', str(work), '--resume', *sparse])
    assert all(p.device.type == gpu.type for p in runner.model.parameters())
    log = open(f'{runner.log_dir}/{runner.timestamp}.log').read()
    assert 'resumed epoch: 0, iter: 3' in log
    expected = torch.load(reference / 'iter_12.pth', weights_only=True, map_location='cpu')
    resumed = torch.load(work / 'iter_12.pth', weights_only=True, map_location='cpu')
    assert expected['param_schedulers'] == resumed['param_schedulers']
    for key in ('train/lr', 'train/momentum'):
        assert torch.equal(logged(expected, key), logged(resumed, key)), key
    losses = logged(resumed, 'train/loss')
    assert len(losses) == 12 and torch.isfinite(losses).all()
    torch.testing.assert_close(losses, logged(expected, 'train/loss'), rtol=1e-3, atol=1e-5)
    final, ours = expected['state_dict'], resumed['state_dict']
    assert final.keys() == ours.keys() == at_3.keys()
    floats = [k for k in final if final[k].is_floating_point()]
    apart = sum(float((ours[k] - final[k]).norm() ** 2) for k in floats) ** 0.5
    moved = sum(float((final[k] - at_3[k]).norm() ** 2) for k in floats) ** 0.5
    assert moved > 0 and apart <= 0.05 * moved, (apart, moved)


def test_linear_probe_on_the_gpu_from_a_gpu_pretraining(gpu, tmp_path, photo_folder,
                                                       quick_runs):  # noqa: F811
    """Pretrain (--amp, minkowski, the paper's patch-16 tokenizer) on the GPU, then train and
    test a linear probe of the frozen encoder there with --amp, on real photos."""
    from tools import train
    config = write_jepa_config(own_name(tmp_path), photo_folder, max_epochs=2)
    patch16 = ['model.backbone.patch_size=16', 'model.backbone.img_size=64',
               'train_dataloader.dataset.pipeline.1.scale=64']
    amp_pretraining(config, tmp_path / 'jepa', 'minkowski', *patch16)
    checkpoint = (tmp_path / 'jepa' / 'last_checkpoint').read_text()

    flowers = tmp_path / 'flowers'
    make_flowers(str(flowers), per_part=(2, 2, 2))
    cfg = tiny_config('linear_probe_flowers', str(flowers), tmp_path / 'probe',
                      checkpoint=checkpoint, prefix='backbone.')
    runner = build_runner(train.merge_args(cfg, train.parse_args(['probe', '--amp'])))
    runner.train()
    model = runner.model
    assert all(p.device.type == gpu.type for p in model.parameters())
    assert all(p in runner.optim_wrapper.optimizer.state for p in model.head.parameters())
    pretrained = torch.load(checkpoint, weights_only=True, map_location='cpu')['state_dict']
    for key, value in model.backbone.state_dict().items():  # frozen: the checkpoint's, exactly
        assert torch.equal(value.cpu(), pretrained[f'backbone.{key}']), key
    assert 0 <= runner.test()['accuracy/top1'] <= 100
