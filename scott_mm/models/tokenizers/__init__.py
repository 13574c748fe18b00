from .scott_tokenizer import SCOTTTokenizer

__all__ = ['SCOTTTokenizer']
