"""ImageNet-100 (CMC's 100 classes, ``meta/imagenet100.txt``) from a local ImageNet-1k copy.

ImageNet cannot be downloaded without an account, so this only selects: ``ROOT/imagenet100/
{train,val}/<wnid>`` are symbolic links to the class folders of the copy (no extra disk), or
copies of them with ``copy=True`` (a self-contained folder, e.g. for a faster local disk).
Every class must be there with images; counts unlike ImageNet-1k's (50 validation images per
class, 732 to 1,300 training images) are reported, since they mean a partial copy.
"""
import os
import os.path as osp
import shutil

from ..image_folder import IMG_EXTENSIONS
from ..imagenet100 import ImageNet100, imagenet100_wnids
from ..layout import DatasetLayoutError
from .downloaded import PrepareError, count_with
from .staging import staged_dir
from .summary import Summary

LAYOUT = ('<imagenet>/train/n01440764/*.JPEG ... (the 1,000 wnid folders of ILSVRC2012 train)\n'
          '<imagenet>/val/n01440764/*.JPEG ...   (ILSVRC2012 val, sorted into wnid folders)')
EXPECTED = dict(train=(732, 1300), val=(50, 50))  # images per class in ImageNet-1k


def _count_images(folder: str) -> int:
    return sum(1 for e in os.scandir(folder)
               if e.is_file() and e.name.lower().endswith(IMG_EXTENSIONS))


def check_source(imagenet: str, wnids) -> dict:
    """Images per class of each part of the ImageNet copy; a clear error for what is missing."""
    counts = {}
    for part in ('train', 'val'):
        folder = osp.join(imagenet, part)
        if not osp.isdir(folder):
            raise PrepareError(f'{imagenet} has no {part}/ folder; expected\n{LAYOUT}')
        missing = [w for w in wnids if not osp.isdir(osp.join(folder, w))]
        if missing and part == 'val' and _count_images(folder):
            raise PrepareError(f'{folder} holds the images directly: sort them into wnid '
                               'folders first (ImageNet devkit labels; torchvision.datasets.'
                               f'ImageNet does it once), then run again; expected\n{LAYOUT}')
        if missing:
            raise PrepareError(f'{len(missing)} of the 100 ImageNet-100 classes are missing '
                               f'from {folder}: {missing[:5]}{" ..." if len(missing) > 5 else ""}'
                               f'; expected\n{LAYOUT}')
        counts[part] = {w: _count_images(osp.join(folder, w)) for w in wnids}
        empty = [w for w, n in counts[part].items() if n == 0]
        if empty:
            raise PrepareError(f'no images in {len(empty)} class folder(s) of {folder}: '
                               f'{empty[:5]}')
    return counts


def unusual(counts: dict) -> list:
    """Warnings for classes whose image counts ImageNet-1k does not have."""
    notes = []
    for part, (low, high) in EXPECTED.items():
        odd = {w: n for w, n in counts[part].items() if not low <= n <= high}
        if odd:
            shown = ', '.join(f'{w}: {n}' for w, n in list(odd.items())[:5])
            notes.append(f'warning: {len(odd)} classes of {part}/ do not have the '
                         f'{low}-{high} images per class of ImageNet-1k ({shown}'
                         f'{" ..." if len(odd) > 5 else ""}): a partial copy?')
    return notes


def prepare_imagenet100(root: str, imagenet: str, copy: bool = False, log=print) -> Summary:
    """Make ``root/imagenet100`` from ``imagenet`` and check it with our ImageNet100 class."""
    wnids = imagenet100_wnids()
    final = osp.join(root, 'imagenet100')
    count = count_with(ImageNet100, ('trainval', 'test'))
    next_step = ('train: python tools/train.py configs/scott_jepa_in100.py '
                 f'--cfg-options train_dataloader.dataset.data_root={final}')
    if osp.exists(final):
        try:
            counts, classes = count(final)
        except DatasetLayoutError as e:
            raise PrepareError(f'{final} exists but is not a complete ImageNet-100; move it '
                               f'away or delete it, then run again.\n{e}') from e
        log(f'{final} is already prepared; nothing to do')
        return Summary('ImageNet-100', final, counts, classes, [], [next_step])
    source = check_source(osp.abspath(imagenet), wnids)
    log(f'{"copying" if copy else "linking"} 100 classes of {imagenet} into {final}')
    with staged_dir(final) as tmp:
        for part in ('train', 'val'):
            os.makedirs(osp.join(tmp, part))
            for wnid in wnids:
                src = osp.realpath(osp.join(imagenet, part, wnid))
                dst = osp.join(tmp, part, wnid)
                shutil.copytree(src, dst) if copy else os.symlink(src, dst)
        counts, classes = count(tmp)
    notes = unusual(source) + [
        'test = ImageNet val/ (50 per class); val for probes is carved from train/', next_step]
    return Summary('ImageNet-100', final, counts, classes, [], notes)
