"""Honest train / val / test splits and class-balanced labelled subsets.

The paper's authors pretrain on every split, test included, and select probes on test where no
validation split exists. Ours is the honest default; ``'all_including_test'`` reproduces theirs.

``split`` values, the same for every scott_mm dataset:

- ``'train'``: the training split; when the dataset has no validation split, what remains after
  carving one out of it (class-stratified, seeded).
- ``'val'``: the dataset's validation split, or the part carved from train. Select on this.
- ``'trainval'``: train + val, i.e. all the dataset's training data; never test.
- ``'pretrain'``: the same images as ``'trainval'``, named for what self-supervised pretraining
  uses.
- ``'test'``: the test split, to be reported once.
- ``'all_including_test'``: train + val + test, the paper authors' pretraining protocol.
"""
from collections import defaultdict
from typing import List, Optional

import numpy as np

SPLITS = ('train', 'val', 'trainval', 'pretrain', 'test', 'all_including_test')


def check_split(split: str) -> str:
    """Reject unknown split names early, listing the valid ones."""
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r} '
                         "(use 'all_including_test' for the authors' protocol)")
    return split


def _by_class(infos: List[dict]) -> dict:
    """Indices of ``infos`` per ``gt_label`` (unlabelled entries form one group)."""
    groups = defaultdict(list)
    for i, info in enumerate(infos):
        groups[int(info.get('gt_label', -1))].append(i)
    return groups


def carve_val(infos: List[dict], fraction: float, seed: int):
    """Split ``infos`` into (train, val), taking ``fraction`` of every class for val.

    Each class with at least two samples gives at least one to val. Order is kept inside each part
    and the result depends only on (infos, fraction, seed).
    """
    if not 0 < fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1) to carve a validation split, '
                         f'got {fraction}')
    rng = np.random.default_rng(seed)
    val = set()
    for _, idx in sorted(_by_class(infos).items()):
        n = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            n = min(max(n, 1), len(idx) - 1)
        val.update(rng.permutation(idx)[:n].tolist())
    train = [x for i, x in enumerate(infos) if i not in val]
    return train, [x for i, x in enumerate(infos) if i in val]


def balanced_subset(infos: List[dict], num_labels: int, seed: int) -> List[dict]:
    """Keep ``num_labels`` samples, equally many per class (seeded; the remainder goes to
    randomly chosen classes), for few-label probes."""
    groups = _by_class(infos)
    labels = sorted(groups)
    if not 0 < num_labels <= len(infos):
        raise ValueError(f'num_labels must be in [1, {len(infos)}] for this split, '
                         f'got {num_labels}')
    rng = np.random.default_rng(seed)
    quota = {c: num_labels // len(labels) for c in labels}
    for c in rng.permutation(labels)[:num_labels % len(labels)]:
        quota[int(c)] += 1
    keep = []
    for c in labels:
        if quota[c] > len(groups[c]):
            raise ValueError(f'num_labels={num_labels} needs {quota[c]} samples of class {c}, '
                             f'but the split has only {len(groups[c])}')
        keep += rng.permutation(groups[c])[:quota[c]].tolist()
    return [infos[i] for i in sorted(keep)]


def shared_images(train: List[dict], val: Optional[List[dict]],
                  test: Optional[List[dict]]) -> List[str]:
    """``'<part> and <part>: <image>, ...'`` for every pair of parts that list the same image
    file: such an image would be trained (or pretrained) on and then tested."""
    parts = {'train': train, 'val': val or [], 'test': test or []}
    files = {name: {info['img_path'] for info in infos if 'img_path' in info}
             for name, infos in parts.items()}
    found = []
    for a, b in (('train', 'val'), ('train', 'test'), ('val', 'test')):
        shared = sorted(files[a] & files[b])
        if shared:
            more = f' and {len(shared) - 3} more' if len(shared) > 3 else ''
            found.append(f'{a} and {b}: {", ".join(shared[:3])}{more}')
    return found


def select_split(split: str, train: List[dict], val: Optional[List[dict]],
                 test: Optional[List[dict]], val_fraction: float, seed: int) -> List[dict]:
    """Pick ``split`` from the dataset's own parts, carving val from train when there is none."""
    check_split(split)
    if split == 'test':
        if test is None:
            raise ValueError('this dataset has no test split')
        return test
    if split in ('train', 'val'):
        if val is None:
            train, val = carve_val(train, val_fraction, seed)
        return train if split == 'train' else val
    trainval = train + (val or [])  # 'trainval' and 'pretrain': never test
    return trainval + (test or []) if split == 'all_including_test' else trainval
