"""Any class-per-folder dataset (``train/<class>/*.jpg`` ...), with honest splits.

mmpretrain's ``CustomDataset`` reads one such folder (or an annotation file) and is fine when a
config only needs that. This wrapper adds what it lacks: train / val / test folders under one
root, a validation split carved from train when there is no ``val/``, the shared ``split``
names, and the clear bad-root message. It reuses ``CustomDataset``'s folder scanning.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.logging import MMLogger
from mmpretrain.datasets.custom import get_samples

from ..registry import DATASETS
from .layout import layout_error, optional_dir
from .split_dataset import SplitDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def subfolders(path: str) -> List[str]:
    """Names of the folders directly inside ``path``, sorted."""
    return sorted(e.name for e in os.scandir(path) if e.is_dir())


@DATASETS.register_module()
class SCOTTImageFolder(SplitDataset):
    """Image folder dataset: class names are the sub-folders of the train folder, sorted.

    Args:
        data_root (str): Folder holding the split folders.
        split_dirs (dict, optional): Folder name of each part, ``None`` for a part the dataset
            lacks. Defaults to ``dict(train='train', val='val', test='test')``; a missing
            ``val`` folder is carved from train, a missing ``test`` folder means no test split.
            A tuple of names takes the first folder that exists, and a folder serving as test
            is never also val: ``test=('test', 'val')`` reads a ``train/`` + ``val/`` tree
            (ImageNet, Imagenette) with ``val/`` as the held-out test split and val carved from
            train, and a ``train/`` + ``val/`` + ``test/`` tree as it is.
        extensions (Sequence[str]): File name endings that count as images (any case).
        **kwargs: ``split`` and the rest, see :class:`SplitDataset`.
    """

    SOURCE = 'your own copy (one sub-folder per class under each split folder)'

    def __init__(self,
                 data_root: str,
                 split_dirs: Optional[dict] = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 **kwargs):
        self.split_dirs = {**dict(train='train', val='val', test='test'), **(split_dirs or {})}
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(data_root=data_root, **kwargs)

    @property
    def REQUIRED(self):  # noqa: N802  (the base class reads a class constant of this name)
        return (self.split_dirs['train'] + '/',)

    @property
    def LAYOUT(self):  # noqa: N802
        d = self.split_dirs
        lines = [f'{d["train"]}/<class name>/<image>{self.extensions[0]}   (required)']
        for part in ('val', 'test'):
            names = (d[part],) if isinstance(d[part], str) else d[part] or ()
            lines += [f'{"|".join(names)}/<class name>/...   (optional, {part})'] if names else []
        return '\n'.join(['<data_root>/'] + ['  ' + x for x in lines])

    def select_classes(self, folders: List[str]) -> List[str]:
        """The class folders to use, in label order; subclasses filter (see ImageNet100)."""
        return folders

    def _error(self, problem: str):
        return layout_error(type(self).__name__, self.data_root, problem, self.LAYOUT, self.SOURCE)

    def _scan(self, folder: str, classes: List[str]) -> List[dict]:
        """Data infos of every image under ``folder/<class>/`` for the given classes."""
        present = subfolders(folder)
        unknown = sorted(set(self.select_classes(present)) - set(classes))
        if unknown:
            raise self._error(f'{folder} has class folders that the train folder lacks: '
                              f'{unknown[:5]}')
        to_idx = {c: i for i, c in enumerate(classes) if c in present}
        samples, empty = get_samples(folder, to_idx, self.is_valid_file)
        if not samples:
            raise self._error(f'no images ({", ".join(self.extensions)}) in class folders of '
                              f'{folder}')
        if empty:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: no images in {sorted(empty)[:5]} under {folder}')
        return [dict(img_path=osp.join(folder, path), gt_label=label) for path, label in samples]

    def is_valid_file(self, filename: str) -> bool:
        """Whether a file counts as an image."""
        return filename.lower().endswith(self.extensions)

    def load_parts(self):
        """Scan train, and val / test where their folders exist."""
        train_dir = osp.join(self.data_root, self.split_dirs['train'])
        classes = self.select_classes(subfolders(train_dir))
        if not classes:
            raise self._error(f'no class folders in {train_dir}')
        self._metainfo['classes'] = tuple(classes)
        test_dir = optional_dir(self.data_root, self.split_dirs['test'])
        val_dir = optional_dir(self.data_root, self.split_dirs['val'], exclude=test_dir)
        return (self._scan(train_dir, classes),
                self._scan(val_dir, classes) if val_dir else None,
                self._scan(test_dir, classes) if test_dir else None)
