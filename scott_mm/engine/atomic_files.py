"""Make a file appear under its final name only once it is complete and on disk.

Write to ``<name>.part`` in the same directory, fsync it, ``os.replace`` it onto the final
name (atomic on POSIX within one file system), then fsync the directory so the rename itself
survives a power cut. A process killed at any point leaves either the old file or the new one
under the final name, never a truncated one; at worst a stale ``.part`` stays behind.
"""
import os
import os.path as osp

PART_SUFFIX = '.part'


def part_path(path: str) -> str:
    """Where the content of ``path`` is written before it is published."""
    return path + PART_SUFFIX


def _fsync_path(path: str, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(part: str, path: str) -> None:
    """Flush ``part`` to disk and rename it onto ``path`` atomically."""
    _fsync_path(part)
    os.replace(part, path)
    _fsync_path(osp.dirname(osp.abspath(path)), directory=True)


def write_text_atomic(path: str, text: str) -> None:
    """``open(path, 'w').write(text)``, but a reader never sees a partial ``path``."""
    part = part_path(path)
    with open(part, 'w') as f:
        f.write(text)
    publish(part, path)
