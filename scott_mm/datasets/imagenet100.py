"""ImageNet-100: the 100-class ImageNet subset of CMC (Tian et al., 2019).

Reads an ImageNet-1k folder (keeping the 100 classes listed in ``meta/imagenet100.txt``) or an
already-made 100-class copy with the same layout; both give the same labels (sorted wnids).
"""
import os.path as osp
from typing import List

from ..registry import DATASETS
from .image_folder import SCOTTImageFolder, subfolders

CLASSES_FILE = osp.join(osp.dirname(__file__), 'meta', 'imagenet100.txt')


def imagenet100_wnids(path: str = CLASSES_FILE) -> List[str]:
    """The 100 wnids, in the file's (CMC's) order."""
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


@DATASETS.register_module()
class ImageNet100(SCOTTImageFolder):
    """ImageNet-100 from ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG``.

    ImageNet's ``val/`` (50 images per class) serves as the test split, as is usual, since
    ImageNet's own test labels are not public; ``'train'`` / ``'val'`` are carved from
    ``train/`` (``val_fraction``, ``split_seed``). ``val/`` must be sorted into wnid folders
    (as for torchvision's ImageFolder). Every one of the 100 classes must be in ``train/``.

    Args:
        classes_file (str): One wnid per line. Defaults to the packaged CMC list.
        **kwargs: See :class:`SCOTTImageFolder` and :class:`SplitDataset`.
    """

    SOURCE = ('https://image-net.org/download (ILSVRC2012 train and val, with val sorted into '
              'wnid folders), or a ready ImageNet-100 copy with the same layout')

    def __init__(self, data_root: str, classes_file: str = CLASSES_FILE, **kwargs):
        self.wnids = imagenet100_wnids(classes_file)
        kwargs.setdefault('split_dirs', dict(train='train', val=None, test='val'))
        kwargs.setdefault('metainfo', dict(classes=tuple(sorted(self.wnids))))
        super().__init__(data_root=data_root, **kwargs)

    @property
    def LAYOUT(self):  # noqa: N802
        return ('<data_root>/\n'
                '  train/n01558993/*.JPEG ...   (all 100 wnids of meta/imagenet100.txt; other\n'
                '                                ImageNet classes are ignored)\n'
                '  val/n01558993/*.JPEG ...     (used as the test split)')

    def select_classes(self, folders: List[str]) -> List[str]:
        """Keep the listed wnids, sorted (as ImageFolder orders a 100-class copy)."""
        return sorted(set(folders) & set(self.wnids))

    def load_parts(self):
        """As SCOTTImageFolder, after checking that no listed class is missing from train/."""
        train_dir = osp.join(self.data_root, self.split_dirs['train'])
        missing = sorted(set(self.wnids) - set(subfolders(train_dir)))
        if missing:
            more = ' ...' if len(missing) > 5 else ''
            raise self._error(f'{len(missing)} of the {len(self.wnids)} listed classes are missing '
                              f'from {train_dir}: {missing[:5]}{more}')
        return super().load_parts()

