"""Checking a dataset root before anything is loaded.

A wrong ``data_root`` should fail at once, with one message that says which path was looked at,
what was expected there and where the data comes from, instead of a bare ``FileNotFoundError``
from deep inside a data loader worker an epoch later.
"""
import os
import os.path as osp
import textwrap
from typing import Iterable, Optional, Sequence


class DatasetLayoutError(FileNotFoundError):
    """A dataset root is missing or does not have the expected files."""


def layout_error(dataset: str, root, problem: str, layout: str,
                 source: str) -> DatasetLayoutError:
    """Build the one message every layout problem uses."""
    return DatasetLayoutError(
        f'{dataset}: {problem}\n'
        f'  data_root: {root!r}\n'
        f'  expected layout:\n{textwrap.indent(textwrap.dedent(layout).strip(), "    ")}\n'
        f'  get the data: {source}')


def resolve_root(dataset: str, data_root, required: Sequence[str], layout: str, source: str,
                 subdirs: Iterable[str] = ()) -> str:
    """Return the directory holding all ``required`` entries (``name/`` means a folder).

    ``subdirs`` lists folder names that may sit between ``data_root`` and the data, so that a
    root laid out for torchvision (``root/flowers-102/jpg``) works as well as the folder itself.
    """
    if not data_root:
        raise layout_error(dataset, data_root, 'no data_root given', layout, source)
    data_root = osp.expanduser(str(data_root))
    if not osp.isdir(data_root):
        raise layout_error(dataset, data_root, 'data_root is not a directory', layout, source)
    candidates = [data_root] + [osp.join(data_root, d) for d in subdirs]
    for root in candidates:
        if not _missing(root, required):
            return root
    missing = ', '.join(_missing(data_root, required))
    raise layout_error(dataset, data_root, f'missing {missing}', layout, source)


def require_files(dataset: str, root: str, folder: str, names: Sequence[str], layout: str,
                  source: str) -> None:
    """Fail at once, listing a few, when an index file names images that are not on disk."""
    present = set(os.listdir(osp.join(root, folder)))
    missing = [n for n in names if n not in present]
    if missing:
        shown = ', '.join(osp.join(folder, n) for n in missing[:5])
        more = f' and {len(missing) - 5} more' if len(missing) > 5 else ''
        raise layout_error(dataset, root,
                           f'{len(missing)} image(s) named in the index are missing: {shown}{more}',
                           layout, source)


def _missing(root: str, required: Sequence[str]) -> list:
    """The required entries that do not exist under ``root``."""
    out = []
    for entry in required:
        path = osp.join(root, entry.rstrip('/'))
        ok = osp.isdir(path) if entry.endswith('/') else osp.isfile(path)
        if not ok:
            out.append(entry)
    return out


def optional_dir(root: str, names, exclude: Optional[str] = None) -> Optional[str]:
    """``root/name`` for the first of ``names`` (one name, a tuple of them, or None) whose folder
    exists and is not ``exclude``, else None."""
    for name in (names,) if isinstance(names, str) else names or ():
        path = osp.join(root, name)
        if osp.isdir(path) and path != exclude:
            return path
    return None
