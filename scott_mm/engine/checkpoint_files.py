"""Reading a checkpoint file, or saying in one sentence what is wrong with it and what to do.

torch reports a file that is not a checkpoint in many ways, none naming the file: a bare
``EOFError`` (empty), ``KeyError: 101`` (text), ``PytorchStreamReader failed reading zip
archive`` (truncated), "Weights only load failed ... Unsupported operand" (random bytes, which
``refusal`` must not mistake for a pickle that needs a global). Every scott_mm path that loads a
checkpoint (``--resume``, ``tools/test.py``, probe ``init_cfg``, ``extract_features``,
``tools/visualize_features.py``) goes through :func:`read_checkpoint`, so they all say the same.
"""
import os
import os.path as osp
import pickle
import zipfile
from collections.abc import Mapping
from typing import Sequence

import torch

from .checkpoint_globals import RefusedCheckpointError, refusal

NOT_TORCH = 'not a checkpoint written by torch.save'
WHAT_TO_PASS = 'Pass a .pth file written by tools/train.py (torch.save).'
TRUNCATED_ADVICE = ('Copy it again, or use another checkpoint of the run (e.g. an earlier '
                    'epoch_*.pth or iter_*.pth in its work dir).')
REQUIRED_HELP = {'meta': 'the epoch and iteration to resume at',
                 'message_hub': 'the logged history', 'optimizer': 'the optimizer state'}


class CheckpointFileError(ValueError):
    """A file given as a checkpoint that is not one, not a whole one, or holds no weights."""


def _error(path, problem: str, advice: str) -> CheckpointFileError:
    return CheckpointFileError(f'Cannot load checkpoint {path}: {problem}. {advice}')


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in '\n\r\t' for c in text)


def _unreadable(path, err: Exception) -> CheckpointFileError:
    """What is wrong with a file torch.load failed on, judged from its bytes."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(4096)
    if size == 0:
        return _error(path, f'{NOT_TORCH}: the file is empty (0 bytes)', TRUNCATED_ADVICE)
    if head.startswith(b'PK\x03\x04'):  # torch.save writes a zip archive
        if not zipfile.is_zipfile(path):
            return _error(path, f'the file is truncated ({size} bytes): it starts like a '
                          'torch.save archive but its end is missing (an interrupted copy, '
                          'download or save, or a full disk)', TRUNCATED_ADVICE)
        return _error(path, f'the torch.save archive is damaged ({type(err).__name__}: '
                      f'{str(err).splitlines()[0]})', TRUNCATED_ADVICE)
    if _looks_like_text(head):
        return _error(path, f'{NOT_TORCH}: it is a text file (starts with '
                      f'{head[:40].decode("utf-8")!r})', WHAT_TO_PASS)
    if head.startswith(b'\x80'):
        return _error(path, f'{NOT_TORCH}: it is a plain pickle, which scott_mm does not '
                      'unpickle', WHAT_TO_PASS)
    return _error(path, f'{NOT_TORCH}: its content is neither a torch.save archive nor a '
                  'pickle (random or foreign bytes)', WHAT_TO_PASS)


def state_dict_of(checkpoint):
    """The weights of a loaded checkpoint: its ``state_dict``, or itself if it is a bare one."""
    if isinstance(checkpoint, Mapping) and 'state_dict' in checkpoint:
        return checkpoint['state_dict']
    return checkpoint


def read_checkpoint(path, map_location='cpu', need: Sequence[str] = (), mmap: bool = False):
    """``torch.load(path, weights_only=True)``, checked to hold a state dict of tensors (and
    the top-level keys ``need``); otherwise one ``CheckpointFileError`` (or, for a pickle that
    needs globals off scott_mm's allow-list, ``RefusedCheckpointError``) naming the file."""
    path = os.fspath(path)
    if not osp.exists(path):
        raise _error(path, 'no such file', WHAT_TO_PASS)
    if osp.isdir(path):
        raise _error(path, 'it is a directory', WHAT_TO_PASS)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        refused = refusal(path, err)
        if isinstance(refused, RefusedCheckpointError):
            raise refused from err
        raise _unreadable(path, err) from err
    except Exception as err:  # torch raises many types for files that are not checkpoints
        raise _unreadable(path, err) from err
    state = state_dict_of(checkpoint)
    if not isinstance(state, Mapping):
        raise _error(path, f'it does not contain a state_dict: it holds a '
                     f'{type(checkpoint).__name__}', WHAT_TO_PASS)
    if not state or not all(torch.is_tensor(v) for v in state.values()):
        raise _error(path, 'it does not contain a state_dict: '
                     + ('its state_dict is empty' if not state else
                        'it holds a dict whose values are not all tensors'), WHAT_TO_PASS)
    missing = [k for k in need if k not in checkpoint]
    if missing:
        held = ', '.join(f"'{k}' ({REQUIRED_HELP.get(k, k)})" for k in missing)
        raise _error(path, f'it is not a training checkpoint: it has no {held}', (
            'Resume from a checkpoint written by tools/train.py; to start a new run from these '
            f'weights, drop --resume and pass --cfg-options load_from={path}.'))
    return checkpoint
