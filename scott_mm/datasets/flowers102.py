"""Oxford Flowers-102 from the official / torchvision files, with honest splits.

mmpretrain's ``Flowers102`` reads the same files but offers no ``all_including_test`` split, no
labelled subsets and no root check, so this class reads them itself (scipy, no md5 check, so
miniature test copies work too).
"""
import itertools
import os.path as osp

import numpy as np
from scipy.io import loadmat

from ..registry import DATASETS
from .layout import layout_error, require_files
from .split_dataset import SplitDataset


@DATASETS.register_module()
class SCOTTFlowers102(SplitDataset):
    """Flowers-102: 102 classes; train 1,020, val 1,020, test 6,149 images.

    ``data_root`` is the folder below, or its parent as torchvision lays it out
    (``root/flowers-102/...``). Classes are named ``'1'`` .. ``'102'`` as in
    ``imagelabels.mat``; ``gt_label`` is that number minus one. The dataset has its own val
    split, so nothing is carved. See :class:`SplitDataset` for the other arguments.
    """

    METAINFO = {'classes': tuple(str(i) for i in range(1, 103))}
    REQUIRED = ('jpg/', 'imagelabels.mat', 'setid.mat')
    SUBDIRS = ('flowers-102',)
    LAYOUT = """
        flowers-102/
          jpg/image_00001.jpg ... image_08189.jpg
          imagelabels.mat   (key 'labels': 1..102 per image)
          setid.mat         (keys 'trnid', 'valid', 'tstid': 1-based image ids)
    """
    SOURCE = ('https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ '
              '(102flowers.tgz, imagelabels.mat, setid.mat)')

    def _read_mat(self, name: str, keys) -> dict:
        """The 1-D integer arrays stored under ``keys`` in ``name``, or a clear error."""
        path = osp.join(self.data_root, name)
        try:
            mat = loadmat(path)
        except Exception as e:  # scipy raises several types for damaged files
            raise layout_error(type(self).__name__, self.data_root,
                               f'cannot read {path}: {e}', self.LAYOUT, self.SOURCE) from e
        missing = [k for k in keys if k not in mat]
        if missing:
            raise layout_error(type(self).__name__, self.data_root,
                               f'{path} has no key(s) {missing}', self.LAYOUT, self.SOURCE)
        return {k: np.asarray(mat[k]).astype(np.int64).ravel() for k in keys}

    def load_parts(self):
        """Train, val and test as the official ``setid.mat`` defines them."""
        labels = self._read_mat('imagelabels.mat', ['labels'])['labels']
        if labels.size == 0 or labels.min() < 1 or labels.max() > 102:
            raise layout_error(type(self).__name__, self.data_root,
                               'imagelabels.mat labels must lie in 1..102', self.LAYOUT,
                               self.SOURCE)
        ids = self._read_mat('setid.mat', ['trnid', 'valid', 'tstid'])
        for a, b in itertools.combinations(ids, 2):
            shared = np.intersect1d(ids[a], ids[b])
            if shared.size:  # a test image in 'trnid' would land in the 'pretrain' split
                raise layout_error(
                    type(self).__name__, self.data_root,
                    f'{osp.join(self.data_root, "setid.mat")} lists {shared.size} image id(s) in '
                    f'both {a!r} and {b!r}: {shared[:10].tolist()}'
                    f'{" ..." if shared.size > 10 else ""}. Each image must be in one split '
                    'only, or test images leak into training and pretraining; use the official '
                    'setid.mat', self.LAYOUT, self.SOURCE)
        names = {i: f'image_{i:05d}.jpg' for part in ids.values() for i in part.tolist()}
        bad = [i for i in names if not 1 <= i <= len(labels)]
        if bad:
            raise layout_error(type(self).__name__, self.data_root,
                               f'setid.mat names image ids {bad[:5]} but imagelabels.mat has '
                               f'{len(labels)} labels', self.LAYOUT, self.SOURCE)
        require_files(type(self).__name__, self.data_root, 'jpg', sorted(names.values()),
                      self.LAYOUT, self.SOURCE)

        def infos(part):
            return [dict(img_path=osp.join(self.data_root, 'jpg', names[i]),
                         gt_label=int(labels[i - 1]) - 1) for i in part.tolist()]

        return infos(ids['trnid']), infos(ids['valid']), infos(ids['tstid'])
