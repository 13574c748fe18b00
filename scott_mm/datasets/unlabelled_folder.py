"""Every image under a folder, however it is organised, for self-supervised pretraining.

A user's photos come as they are: nested folders or none, class folders or none, ``.jpg`` next
to ``.PNG``. Labels are never read. One top-level folder is held out, so that pretraining never
sees what a probe reports on: ``test/``, or else ``val/`` (the held-out split of a ``train/`` +
``val/`` tree, which the folder probe configs read with ``test=('test', 'val')`` too).
Hidden files and folders (``.thumbnails/``, macOS's ``._IMG_1.jpg``) are skipped: they are not
photos, and the ``._`` ones do not decode.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.logging import MMLogger

from ..registry import DATASETS
from .image_folder import IMG_EXTENSIONS
from .layout import layout_error, optional_dir
from .split_dataset import SplitDataset


@DATASETS.register_module()
class SCOTTUnlabelledFolder(SplitDataset):
    """All images below ``data_root`` at any depth, without labels.

    ``split='pretrain'`` (the default) is every image outside the held-out folder;
    ``'test'`` is the held-out folder; ``'all_including_test'`` is both.

    Args:
        data_root (str): The folder of images.
        test_dirs (Sequence[str]): Top-level folder names; the first that exists is held out
            as the test split. Defaults to ``('test', 'val')``; ``()`` holds out nothing.
        extensions (Sequence[str]): File name endings that count as images (any case).
        **kwargs: ``split`` and the rest, see :class:`SplitDataset`.
    """

    SOURCE = 'your own images (any folder tree; class sub-folders are allowed and ignored)'
    LAYOUT = """
        <data_root>/
          **/<image>.jpg | .png | ...   (any depth; names starting with '.' are skipped)
          test/ or val/                 (optional: held out as the test split)
    """

    def __init__(self,
                 data_root: str,
                 test_dirs: Sequence[str] = ('test', 'val'),
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 **kwargs):
        self.test_dirs = tuple(test_dirs)
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(data_root=data_root, **kwargs)

    def _images(self, folder: str, skip: Optional[str] = None) -> List[str]:
        """Image paths below ``folder``, sorted, leaving out ``skip`` and hidden entries.
        Linked folders are followed, each real folder once (a link to a parent is no loop)."""
        found, seen = [], set()
        for parent, dirs, files in os.walk(folder, followlinks=True):
            if osp.realpath(parent) in seen:
                dirs[:] = []
                continue
            seen.add(osp.realpath(parent))
            dirs[:] = sorted(d for d in dirs
                             if not d.startswith('.') and osp.join(parent, d) != skip)
            found += [osp.join(parent, f) for f in sorted(files)
                      if not f.startswith('.') and f.lower().endswith(self.extensions)]
        return found

    def load_parts(self):
        """Everything outside the held-out folder as train, the held-out folder as test."""
        test_dir = optional_dir(self.data_root, self.test_dirs)
        train = self._images(self.data_root, skip=test_dir)
        test = self._images(test_dir) if test_dir else None
        if not train:
            where = f' outside the held-out {test_dir}' if test_dir else ''
            raise layout_error(type(self).__name__, self.data_root,
                               f'no images ({", ".join(self.extensions)}) under the root{where}',
                               self.LAYOUT, self.SOURCE)
        if test_dir:
            MMLogger.get_current_instance().info(
                f'{type(self).__name__}: {len(test)} images under {test_dir} are the test split '
                f"(split={self.split!r}; 'all_including_test' also pretrains on them)")
        return ([dict(img_path=p) for p in train], None,
                [dict(img_path=p) for p in test] if test_dir else None)
