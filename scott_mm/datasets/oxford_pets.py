"""Oxford-IIIT Pets from the official / torchvision files, with honest splits.

mmpretrain's ``OxfordIIITPet`` offers only ``trainval`` and ``test``: probes would have to be
selected on test. Pets has no validation split, so ours carves one from trainval (seeded,
class-stratified) and reads the same files itself.
"""
import os.path as osp

from mmpretrain.datasets.categories import OxfordIIITPet_CATEGORIES

from ..registry import DATASETS
from .layout import layout_error, require_files
from .split_dataset import SplitDataset


@DATASETS.register_module()
class SCOTTOxfordIIITPet(SplitDataset):
    """Oxford-IIIT Pets: 37 breeds; trainval 3,680 and test 3,669 images.

    ``data_root`` is the folder below, or its parent as torchvision lays it out
    (``root/oxford-iiit-pet/...``). ``'train'`` / ``'val'`` are carved from ``trainval.txt``
    (``val_fraction``, ``split_seed``); ``'trainval'`` / ``'pretrain'`` are all of it. See
    :class:`SplitDataset` for the other arguments.
    """

    METAINFO = {'classes': tuple(OxfordIIITPet_CATEGORIES)}
    REQUIRED = ('images/', 'annotations/trainval.txt', 'annotations/test.txt')
    SUBDIRS = ('oxford-iiit-pet',)
    LAYOUT = """
        oxford-iiit-pet/
          images/Abyssinian_1.jpg ...
          annotations/trainval.txt   (lines 'Abyssinian_100 1 1 1': name, class id 1..37, ...)
          annotations/test.txt
    """
    SOURCE = ('https://www.robots.ox.ac.uk/~vgg/data/pets/ '
              '(images.tar.gz, annotations.tar.gz)')

    def _read_index(self, name: str):
        """Data infos listed in ``annotations/name``; a malformed line is reported by number."""
        path = osp.join(self.data_root, 'annotations', name)
        infos = []
        with open(path) as f:
            for number, line in enumerate(f, 1):
                fields = line.split()
                if not fields or fields[0].startswith('#'):
                    continue
                if len(fields) < 2 or not fields[1].isdigit() or not 1 <= int(fields[1]) <= 37:
                    raise layout_error(type(self).__name__, self.data_root,
                                       f'{path}, line {number}: expected "<image name> <class id '
                                       f'1..37> ...", got {line.strip()!r}', self.LAYOUT,
                                       self.SOURCE)
                infos.append(dict(img_path=osp.join(self.data_root, 'images', fields[0] + '.jpg'),
                                  gt_label=int(fields[1]) - 1))
        require_files(type(self).__name__, self.data_root, 'images',
                      [osp.basename(i['img_path']) for i in infos], self.LAYOUT, self.SOURCE)
        return infos

    def load_parts(self):
        """Trainval (val is carved from it by the base class) and test."""
        return self._read_index('trainval.txt'), None, self._read_index('test.txt')
