"""Fashion-MNIST, the embedded default: real photos that are available offline.

The images come from Debian's ``dataset-fashion-mnist`` package (MIT licence), made available by
``tools/fetch_fashion_mnist.sh`` without root. ``data_root=None`` finds them where that script
puts them, so configs carry no machine-specific path.
"""
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmpretrain.datasets.categories import FASHIONMNIST_CATEGORITES
from PIL import Image

from ..registry import DATASETS
from .idx import read_idx
from .layout import layout_error
from .split_dataset import SplitDataset

FILES = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
         't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')
SYSTEM_DIR = '/usr/share/datasets/fashion-mnist'


def fashion_mnist_dirs() -> List[str]:
    """Where tools/fetch_fashion_mnist.sh leaves the files, in the order it prefers them."""
    dirs = [SYSTEM_DIR]
    if os.environ.get('SCOTT_MM_DATA'):
        dirs.append(osp.join(os.environ['SCOTT_MM_DATA'], 'fashion-mnist'))
    dirs.append(osp.join(osp.expanduser('~'), '.cache', 'scott_mm', 'fashion-mnist'))
    return dirs


def find_fashion_mnist() -> Optional[str]:
    """The first of :func:`fashion_mnist_dirs` holding all four files, else None."""
    for d in fashion_mnist_dirs():
        if all(osp.isfile(osp.join(d, f)) for f in FILES):
            return d
    return None


@DATASETS.register_module()
class SCOTTFashionMNIST(SplitDataset):
    """Fashion-MNIST as 3-channel uint8 images ``(H, W, 3)`` in ``results['img']``.

    60,000 train and 10,000 test 28x28 grey photos, 10 balanced classes. ``'train'`` / ``'val'``
    are carved from the 60k (``val_fraction``, ``split_seed``). Images stay 28x28 in memory and
    are resized (PIL bicubic) and turned to 3 channels when a sample is read, so a 96 px copy of
    the set never has to fit in RAM. Data infos hold ``img_index`` and ``gt_label``; ``img``
    (with ``img_shape``) is added when a sample is prepared, so pipelines start without a
    loading transform, as for mmpretrain's ``MNIST``.

    Args:
        data_root (str, optional): Folder with the four ``*-ubyte.gz`` files. Defaults to None:
            search :func:`fashion_mnist_dirs` (system package, ``$SCOTT_MM_DATA/fashion-mnist``,
            ``~/.cache/scott_mm/fashion-mnist``).
        img_size (int, optional): Side of the square output images. Defaults to None (28).
        **kwargs: ``split``, ``num_labels`` (e.g. 1000 for a class-balanced few-label subset)
            and the rest, see :class:`SplitDataset`.
    """

    METAINFO = {'classes': tuple(FASHIONMNIST_CATEGORITES)}
    REQUIRED = FILES
    LAYOUT = '\n'.join(['<data_root>/'] + [f'  {f}' for f in FILES])
    SOURCE = ('run tools/fetch_fashion_mnist.sh (Debian package dataset-fashion-mnist, no root '
              'needed) and leave data_root unset, or '
              'https://github.com/zalandoresearch/fashion-mnist')

    def __init__(self, data_root: Optional[str] = None, img_size: Optional[int] = None, **kwargs):
        self.img_size = img_size
        super().__init__(data_root=data_root, **kwargs)

    def find_root(self, data_root) -> str:
        """The given folder, else the first standard location that holds the files."""
        if data_root is None:
            data_root = find_fashion_mnist()
            if data_root is None:
                raise layout_error(type(self).__name__, None,
                                   'data not found in any of ' + ', '.join(fashion_mnist_dirs()),
                                   self.LAYOUT, self.SOURCE)
        return super().find_root(data_root)

    def _read(self, prefix: str):
        """Images and labels of one file pair; lengths must agree."""
        images = read_idx(osp.join(self.data_root, f'{prefix}-images-idx3-ubyte.gz'))
        labels = read_idx(osp.join(self.data_root, f'{prefix}-labels-idx1-ubyte.gz'))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f'{self.data_root}: {prefix} images {images.shape} and labels '
                             f'{labels.shape} do not match')
        return images, labels

    def load_parts(self):
        """Train (val is carved from it) and test; infos index ``self.images``."""
        train_images, train_labels = self._read('train')
        test_images, test_labels = self._read('t10k')
        self.images = np.concatenate([train_images, test_images])
        labels = np.concatenate([train_labels, test_labels]).tolist()
        infos = [dict(img_index=i, gt_label=int(y)) for i, y in enumerate(labels)]
        return infos[:len(train_labels)], None, infos[len(train_labels):]

    def image(self, img_index: int) -> np.ndarray:
        """Image ``img_index`` as uint8 ``(img_size, img_size, 3)``."""
        grey = self.images[img_index]
        if self.img_size and self.img_size != grey.shape[0]:
            grey = np.asarray(Image.fromarray(grey).resize((self.img_size, self.img_size),
                                                           Image.BICUBIC))
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))

    def prepare_data(self, idx: int):
        """Attach ``img`` just before the pipeline, so label queries never touch pixels."""
        info = self.get_data_info(idx)
        img = self.image(info['img_index'])
        info.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return self.pipeline(info)
