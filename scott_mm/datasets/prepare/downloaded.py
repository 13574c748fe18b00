"""Datasets that come as archives from the web: Flowers-102, Oxford-IIIT Pets, Imagenette.

The addresses and md5s are torchvision's, read from its dataset classes when a run starts, so
they are exactly the files torchvision itself downloads and checks. The result is torchvision's
layout (``ROOT/flowers-102``, ``ROOT/oxford-iiit-pet``, ``ROOT/imagenette2-320``), which both
torchvision's classes and ours read; it is checked with our dataset class before it gets its
name. Archives are kept in ``ROOT/downloads`` (a second run checks them and downloads nothing).
"""
import os.path as osp
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import urlparse

from ..flowers102 import SCOTTFlowers102
from ..image_folder import SCOTTImageFolder
from ..layout import DatasetLayoutError
from ..oxford_pets import SCOTTOxfordIIITPet
from .download import DownloadError, fetch, md5sum
from .staging import extract, hoist, staged_dir
from .summary import Summary


class PrepareError(RuntimeError):
    """A dataset folder cannot be made or is in the way."""


@dataclass
class Recipe:
    """How one dataset is fetched and laid out."""
    name: str
    folder: str                                    # under --root, as torchvision names it
    resources: Callable[[], List[Tuple[str, str]]]  # (url, md5) of every file
    count: Callable[[str], Tuple[Dict[str, int], int]]  # folder -> (images per split, classes)
    next_step: str                                 # a command; {folder} is filled in
    top_folder: Optional[str] = None               # an archive's own top folder, moved up


def count_with(cls, splits, **kwargs):
    """A ``count`` that reads the folder with our dataset class ``cls``."""
    def count(folder):
        sets = {split: cls(data_root=folder, split=split, **kwargs) for split in splits}
        labels = {int(d.get_data_info(i)['gt_label']) for d in sets.values()
                  for i in range(len(d))}
        return {split: len(d) for split, d in sets.items()}, len(labels)
    return count


def file_name(url: str) -> str:
    return PurePosixPath(urlparse(url).path).name


def flowers102() -> Recipe:
    def resources():
        from torchvision.datasets import Flowers102
        return [(Flowers102._download_url_prefix + name, md5)
                for name, md5 in Flowers102._file_dict.values()]
    return Recipe('Flowers-102', 'flowers-102', resources,
                  count_with(SCOTTFlowers102, ('train', 'val', 'test')),
                  'train: python tools/train.py configs/scott_jepa_flowers.py '
                  '--cfg-options train_dataloader.dataset.data_root={folder}')


def pets() -> Recipe:
    def resources():
        from torchvision.datasets import OxfordIIITPet
        return [tuple(r) for r in OxfordIIITPet._RESOURCES]
    return Recipe('Oxford-IIIT Pets', 'oxford-iiit-pet', resources,
                  count_with(SCOTTOxfordIIITPet, ('trainval', 'test')),
                  'train: python tools/train.py configs/scott_jepa_pets.py '
                  '--cfg-options train_dataloader.dataset.data_root={folder}')


def imagenette(size: str = '320px') -> Recipe:
    from torchvision.datasets import Imagenette
    if size not in Imagenette._ARCHIVES:
        raise PrepareError(f'Imagenette comes in sizes {sorted(Imagenette._ARCHIVES)}, '
                           f'not {size!r}')
    stem = PurePosixPath(file_name(Imagenette._ARCHIVES[size][0])).stem  # imagenette2-320
    return Recipe('Imagenette', stem, lambda: [tuple(Imagenette._ARCHIVES[size])],
                  count_with(SCOTTImageFolder, ('trainval', 'test'),
                             split_dirs=dict(train='train', val=None, test='val')),
                  'an ImageFolder tree (train/<wnid>/, val/<wnid>/ = the test split); '
                  'pretrain and probe with the own-data configs:\n'
                  '    python tools/train.py configs/scott_jepa_folder.py '
                  '--cfg-options data_root={folder}\n'
                  '    python tools/test.py configs/knn_folder.py '
                  'work_dirs/scott_jepa_folder/epoch_300.pth --cfg-options data_root={folder}',
                  top_folder=stem)


def unpack(paths: List[str], into: str, top_folder: Optional[str]) -> None:
    """Extract every archive into ``into`` and copy every other file there."""
    for path in paths:
        if tarfile.is_tarfile(path):
            extract(path, into)
        else:
            shutil.copy2(path, into)
    if top_folder:
        hoist(into, top_folder)


def prepare_downloaded(recipe: Recipe, root: str, retries: int = 3, log=print) -> Summary:
    """Download (or find) the archives, lay them out under ``root``, check, summarise."""
    final = osp.join(root, recipe.folder)
    downloads = osp.join(root, 'downloads')
    resources = recipe.resources()
    paths = [osp.join(downloads, file_name(url)) for url, _ in resources]
    if osp.exists(final):
        try:
            counts, classes = recipe.count(final)
        except DatasetLayoutError as e:
            raise PrepareError(f'{final} exists but is not a complete {recipe.name} copy; move '
                               f'it away or delete it, then run again.\n{e}') from e
        log(f'{final} is already prepared; nothing to download')
        checked = [(p, md5) for p, (_, md5) in zip(paths, resources)
                   if osp.isfile(p) and md5sum(p) == md5]
        return Summary(recipe.name, final, counts, classes, checked,
                       [recipe.next_step.format(folder=final)])
    try:
        for (url, md5), path in zip(resources, paths):
            fetch(url, path, md5, retries, log)
    except DownloadError as e:
        listing = '\n'.join(f'    {url}  (md5 {md5})' for url, md5 in resources)
        raise DownloadError(f'{e}\nTo download {recipe.name} by hand (e.g. on a machine with '
                            f'internet), put these files in {downloads}/ and run the same '
                            f'command again; files found there are checked and used:\n'
                            f'{listing}') from e
    log(f'unpacking into {final}')
    with staged_dir(final) as tmp:
        try:
            unpack(paths, tmp, recipe.top_folder)
            counts, classes = recipe.count(tmp)
        except (DatasetLayoutError, FileNotFoundError, tarfile.TarError, EOFError,
                zlib.error) as e:  # a damaged archive, or not the expected one
            raise PrepareError(f'the checked archives of {recipe.name} did not unpack into its '
                               f'layout (nothing was kept):\n{e}') from e
    return Summary(recipe.name, final, counts, classes,
                   [(p, md5) for p, (_, md5) in zip(paths, resources)],
                   [recipe.next_step.format(folder=final)])
