"""Backends that run the SCOTT tokenizer only at visible (unmasked) sites.

``dense``: masked dense emulation in plain PyTorch (always available, the reference).
``minkowski``: computes at visible sites only, on MinkowskiEngine coordinate and kernel maps
(imported lazily, only there).
"""
from .dense import DenseMaskedBackend
from .registry import BACKENDS, build_backend

__all__ = ['BACKENDS', 'build_backend', 'DenseMaskedBackend']
