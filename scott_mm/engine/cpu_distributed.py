"""CPU distributed training (gloo) for configs written for GPUs (nccl).

Used by tools/train.py and tools/test.py before the Runner is built.
"""
import datetime
import logging
import os
import subprocess

import torch
from mmengine.logging import print_log


def setup_cpu_distributed(cfg):
    """Let ``--launcher pytorch|slurm`` run on a host without CUDA (CPU DDP over gloo).

    mmengine 0.10.7 assumes GPUs once a launcher is set: its ``init_dist`` calls
    ``torch.cuda.set_device`` and it wraps the model in DDP with ``device_ids=[LOCAL_RANK]``, and
    both fail on CPU; the configs also ask for nccl, which needs GPUs. So, without CUDA only,
    start the gloo process group here (the Runner then skips its own) and wrap without device
    ids. GPU hosts go through mmengine unchanged.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available() or torch.distributed.is_initialized():
        return cfg
    env = os.environ
    if cfg.launcher == 'slurm':  # what mmengine's slurm init does, minus the GPU
        env.setdefault('MASTER_ADDR', subprocess.getoutput(
            f"scontrol show hostname {env['SLURM_NODELIST']} | head -n1"))
        env.setdefault('MASTER_PORT', '29500')
        env['RANK'], env['WORLD_SIZE'] = env['SLURM_PROCID'], env['SLURM_NTASKS']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
    elif cfg.launcher != 'pytorch':
        raise SystemExit(f'--launcher {cfg.launcher} needs CUDA; on CPU use pytorch or slurm')
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    timeout = dist_cfg.get('timeout')
    torch.distributed.init_process_group(
        'gloo', **({} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))))
    if dist_cfg.get('backend', 'nccl') != 'gloo':
        print_log(f"No CUDA device: distributed backend 'gloo' instead of the config's "
                  f"{dist_cfg.get('backend', 'nccl')!r}.", logger='current', level=logging.WARNING)
    if cfg.get('model_wrapper_cfg') is None:  # mmengine's default wrapper, on CPU
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return cfg
