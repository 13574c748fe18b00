"""Build a dataset folder under a temporary name and give it its real name only when complete.

A dataset folder that exists is a finished one: extraction, linking and the check with the
dataset class all happen in a hidden ``.NAME.incomplete-XXXX`` folder beside it, renamed at
the end (one atomic step on one file system). A failure or Ctrl-C removes it; one left by a
killed run is removed by the next run.
"""
import contextlib
import glob
import os
import os.path as osp
import shutil
import tarfile
import tempfile


def _prefix(final: str) -> str:
    return f'.{osp.basename(osp.normpath(final))}.incomplete-'


@contextlib.contextmanager
def staged_dir(final: str):
    """Yield an empty folder that becomes ``final`` when the ``with`` block succeeds."""
    parent = osp.dirname(osp.abspath(final))
    os.makedirs(parent, exist_ok=True)
    for stale in glob.glob(osp.join(parent, glob.escape(_prefix(final)) + '*')):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix=_prefix(final), dir=parent)
    try:
        yield tmp
        os.rename(tmp, final)
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def extract(archive: str, into: str) -> None:
    """Unpack a tar archive (any compression); members that would land outside ``into``
    (absolute paths, ``..``, links out) are refused (tarfile's 'data' filter)."""
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter='data')


def hoist(folder: str, sub: str) -> None:
    """Move the contents of ``folder/sub`` up into ``folder`` (archives with a top folder)."""
    inner = osp.join(folder, sub)
    if not osp.isdir(inner):
        raise FileNotFoundError(f'the archive holds no {sub}/ folder')
    for name in os.listdir(inner):
        os.rename(osp.join(inner, name), osp.join(folder, name))
    os.rmdir(inner)
