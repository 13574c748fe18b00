from .scott import SCOTT

__all__ = ['SCOTT']
