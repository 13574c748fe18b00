"""Which checkpoint ``--resume`` (without a path) continues from.

mmengine reads only ``work_dir/last_checkpoint``. Without that file it starts from scratch, and
checkpoint rotation (``max_keep_ckpts``) then deletes the checkpoints the user wanted to resume.
Here, a missing ``last_checkpoint`` (or one naming a file that is gone) falls back to the
latest loadable ``*.pth`` in the work dir; when there are checkpoints but none loads, resuming
stops with a message instead of training over them.
"""
import glob
import os
import os.path as osp
from typing import Optional

from .checkpoint_files import CheckpointFileError, read_checkpoint

RESUME_NEEDS = ('meta', 'message_hub')


def _scan(work_dir: str, logger):
    """``(path, iteration)`` of every resumable ``*.pth`` in ``work_dir``; logs the others."""
    found, broken = [], []
    for path in sorted(glob.glob(osp.join(glob.escape(work_dir), '*.pth'))):
        try:
            # mmap: the tensors are not read, only the pickled structure
            meta = read_checkpoint(path, need=RESUME_NEEDS, mmap=True)['meta']
            found.append((path, int(meta.get('iter', 0)), int(meta.get('epoch', 0))))
        except Exception as err:  # noqa: BLE001  (any unreadable file is skipped, and said so)
            broken.append(f'{osp.basename(path)}: {err}')
    for line in broken:
        logger.warning(f'--resume: skipping {line}')
    return found, broken


def find_resume_checkpoint(work_dir: str, logger) -> Optional[str]:
    """The checkpoint to auto-resume from, ``None`` for a work dir without checkpoints."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            named = f.read().strip()
        if osp.isfile(named):
            return named
        logger.warning(f'--resume: {marker} names {named!r}, which does not exist; looking for '
                       f'other checkpoints in {work_dir}.')
    found, broken = _scan(work_dir, logger)
    if found:
        path, iteration, epoch = max(found, key=lambda c: (c[1], c[2], os.path.getmtime(c[0])))
        logger.warning(f'--resume: no usable last_checkpoint in {work_dir}; resuming from the '
                       f'latest of its {len(found)} checkpoint(s), {path} (epoch {epoch}, '
                       f'iteration {iteration}).')
        return path
    if broken:
        raise CheckpointFileError(
            f'--resume: {work_dir} has no last_checkpoint and none of its {len(broken)} .pth '
            'file(s) can be resumed:\n  ' + '\n  '.join(broken) + '\nPass a checkpoint with '
            '--resume PATH, or train in another --work-dir (training here would rotate these '
            'files away).')
    logger.info(f'--resume: no checkpoint in {work_dir} yet; training starts from scratch.')
    return None
