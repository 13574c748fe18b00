"""Base class: one ``split`` argument with the same honest meaning for every dataset.

Subclasses say what a valid root looks like (``REQUIRED``, ``LAYOUT``, ``SOURCE``) and return
their own train / val / test parts from ``load_parts``; this class checks the root at
construction, picks the split (see :mod:`scott_mm.datasets.splits`) and optionally keeps a
class-balanced labelled subset.
"""
from typing import List, Optional, Sequence

from mmpretrain.datasets import BaseDataset

from .layout import layout_error, resolve_root
from .splits import balanced_subset, check_split, select_split, shared_images


class SplitDataset(BaseDataset):
    """Shared ``split`` / ``num_labels`` handling for scott_mm datasets.

    Args:
        data_root (str): The dataset folder (checked at once, even with ``lazy_init=True``).
        split (str): One of ``'train' | 'val' | 'trainval' | 'pretrain' | 'test' |
            'all_including_test'``; see :mod:`scott_mm.datasets.splits`. Defaults to
            ``'pretrain'`` (train + val, never test).
        val_fraction (float): Share of each class carved from train into val when the dataset
            has no validation split of its own. Defaults to 0.1.
        split_seed (int): Seed of that carving. Defaults to 0.
        num_labels (int, optional): Keep only this many samples of the chosen split, equally
            many per class (few-label probes). Defaults to None (keep all).
        label_seed (int): Seed of the labelled subset. Defaults to 0.
        **kwargs: :class:`mmpretrain.datasets.BaseDataset` arguments (``pipeline``,
            ``indices``, ...). ``test_mode`` defaults to True for ``'val'`` and ``'test'``, so
            evaluation never silently swaps a failed sample for another.
    """

    REQUIRED: Sequence[str] = ()   # entries under the root; a trailing '/' means a folder
    SUBDIRS: Sequence[str] = ()    # folder names that may sit between data_root and the data
    LAYOUT = ''                    # the expected tree, shown in error messages
    SOURCE = ''                    # where to get the data, shown in error messages

    def __init__(self,
                 data_root: str,
                 split: str = 'pretrain',
                 val_fraction: float = 0.1,
                 split_seed: int = 0,
                 num_labels: Optional[int] = None,
                 label_seed: int = 0,
                 **kwargs):
        self.split = check_split(split)
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.num_labels = num_labels
        self.label_seed = label_seed
        data_root = self.find_root(data_root)
        kwargs.setdefault('test_mode', split in ('val', 'test'))
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def find_root(self, data_root) -> str:
        """The checked folder holding the data; raises one clear error otherwise."""
        return resolve_root(type(self).__name__, data_root, self.REQUIRED, self.LAYOUT,
                            self.SOURCE, self.SUBDIRS)

    def load_parts(self):
        """Return ``(train, val, test)`` lists of data infos; ``None`` for a part the dataset
        does not define."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """The chosen split of the dataset's parts, optionally a labelled subset of it."""
        train, val, test = self.load_parts()
        shared = shared_images(train, val, test)
        if shared:
            raise layout_error(type(self).__name__, self.data_root,
                               'the index files put images in more than one split ('
                               + '; '.join(shared) + '): test images would leak into training '
                               'and pretraining', self.LAYOUT, self.SOURCE)
        infos = select_split(self.split, train, val, test, self.val_fraction, self.split_seed)
        if self.num_labels is not None:
            infos = balanced_subset(infos, self.num_labels, self.label_seed)
        return infos

    def extra_repr(self) -> List[str]:
        """Shown by ``repr(dataset)``."""
        return [f'Split: \t{self.split}', f'Root of dataset: \t{self.data_root}']
