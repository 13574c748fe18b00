"""Reading (MNIST-style) IDX files, gzipped or not, into numpy.

Format: two zero bytes, a type code (0x08 = uint8), the number of dimensions, then each size as
a big-endian int32, then the data. Parsed here so no torchvision (and no download) is needed.
"""
import gzip

import numpy as np


def read_idx(path: str) -> np.ndarray:
    """The uint8 array stored in ``path``; damaged or truncated files are reported by path."""
    opener = gzip.open if path.endswith('.gz') else open
    try:
        with opener(path, 'rb') as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f'cannot read IDX file {path}: {e}') from e
    if len(data) < 4 or data[:2] != b'\0\0' or data[2] != 0x08:
        raise ValueError(f'{path} is not a uint8 IDX file (header {data[:4].hex()})')
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f'{path}: IDX header cut short: truncated or corrupt')
    shape = tuple(np.frombuffer(data, dtype='>i4', count=ndim, offset=4).tolist())
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)):
        raise ValueError(f'{path}: header says shape {shape} ({int(np.prod(shape))} bytes) but '
                         f'{len(body)} bytes follow: truncated or corrupt')
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)
