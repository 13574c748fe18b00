"""``--amp``: mixed precision in bfloat16, on a GPU or on the CPU.

The forward pass (model and loss) runs under ``autocast(bfloat16)``; parameters, gradients and
optimizer state stay fp32. No loss scaling: bfloat16 has fp32's exponent range, so gradients do
not underflow the way float16's do. mmengine's ``AmpOptimWrapper`` is not used for bfloat16
because it refuses to be built without a GPU and always adds a float16 ``GradScaler``.

On an x86 CPU without bfloat16 units (no AMX, no AVX512-BF16) torch emulates bfloat16, and the
step gets much slower instead of faster, so the wrapper warns there.
"""
import logging
import platform
from contextlib import contextmanager

import torch
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast

from ..registry import OPTIM_WRAPPERS

SLOW_CPU_BF16 = (
    'BF16OptimWrapper: bfloat16 autocast on a CPU without bfloat16 units (neither AMX nor '
    'AVX512-BF16; torch reports {capability}). torch emulates bfloat16 there: a SCOTT training '
    'step ran 14x slower than in fp32 on such a CPU (AMD EPYC, AVX2; '
    'benchmarks/results/pretrain_step_flowers_cpu_avx2.json). Train in fp32 on this machine: '
    'drop --amp, or add --cfg-options optim_wrapper.type=OptimWrapper (what '
    'configs/scott_jepa_flowers_cpu_bf16.py needs here).')


def cpu_has_bf16_units() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware: Intel AMX or AVX512-BF16 on x86. Other
    architectures are not judged (True): torch has no such query for them."""
    if platform.machine().lower() not in ('x86_64', 'amd64'):
        return True
    return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()


def slow_bf16_warning():
    """What to tell a user about to train in bfloat16 here, or None where bfloat16 is fast."""
    if get_device() == 'cpu' and not cpu_has_bf16_units():
        return SLOW_CPU_BF16.format(capability=torch.backends.cpu.get_cpu_capability())
    return None


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward context is bfloat16 autocast on the current device
    (mmengine's ``get_device()``: CUDA when present, else the CPU). Its state dict is the plain
    wrapper's, so a run can resume with or without ``--amp``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        warning = slow_bf16_warning()
        if warning:
            print_log(warning, logger='current', level=logging.WARNING)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), autocast(dtype=torch.bfloat16):
            yield
