from .mim_jepa import MIMJEPA

__all__ = ['MIMJEPA']
