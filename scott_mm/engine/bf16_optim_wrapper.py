"""``--amp``: mixed precision in bfloat16, on a GPU or on the CPU.

The forward pass (model and loss) runs under ``autocast(bfloat16)``; parameters, gradients and
optimizer state stay fp32. No loss scaling: bfloat16 has fp32's exponent range, so gradients do
not underflow the way float16's do. mmengine's ``AmpOptimWrapper`` is not used for bfloat16
because it refuses to be built without a GPU and always adds a float16 ``GradScaler``.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast

from ..registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward context is bfloat16 autocast on the current device
    (mmengine's ``get_device()``: CUDA when present, else the CPU). Its state dict is the plain
    wrapper's, so a run can resume with or without ``--amp``."""

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), autocast(dtype=torch.bfloat16):
            yield
