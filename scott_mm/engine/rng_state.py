"""The process-global random number generators: capture, restore, and seed them for a moment.

Data transforms draw from Python's ``random``, numpy's global RNG and torch's CPU generator;
dropout and stochastic depth draw from torch's generator of the device the model runs on.
The captured state holds only tensors, ints and tuples, so it travels in a checkpoint that
torch's ``weights_only=True`` loader accepts without widening scott_mm's allow-list.
"""
import random
from contextlib import contextmanager

import numpy as np
import torch


def global_rng_state() -> dict:
    """Everything needed to continue every global random stream exactly where it is."""
    numpy_state = np.random.get_state(legacy=False)
    state = dict(
        python=random.getstate(),
        numpy=dict(key=torch.from_numpy(numpy_state['state']['key'].astype(np.int64)),
                   pos=int(numpy_state['state']['pos']),
                   has_gauss=int(numpy_state['has_gauss']),
                   gauss=float(numpy_state['gauss'])),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_global_rng_state(state: dict) -> None:
    """Undo ``global_rng_state``: the next draw of every stream is the one it would have been."""
    random.setstate(state['python'])
    numpy_state = state['numpy']
    np.random.set_state(dict(
        bit_generator='MT19937',
        state=dict(key=numpy_state['key'].numpy().astype(np.uint32), pos=numpy_state['pos']),
        has_gauss=numpy_state['has_gauss'], gauss=numpy_state['gauss']))
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)


@contextmanager
def seeded_global_rngs(seed: int):
    """Seed Python, numpy and torch's CPU generator with ``seed`` inside the block, then put
    every stream back as it was, so whoever else draws from them (e.g. dropout in the main
    process when data loads there, num_workers=0) sees no difference. CUDA is left alone."""
    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])
