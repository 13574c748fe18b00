"""Miniature dataset trees on disk, built from real photos, for the dataset tests.

The photos are scikit-image's bundled public-domain / CC0 images (no download). Each tree has
the official file names and index files (``.mat`` via scipy, ``.txt``), so the datasets read
them exactly as they read the real thing.
"""
import functools
import gzip
import os
import os.path as osp

import numpy as np
from PIL import Image
from scipy.io import savemat
from skimage import data as skdata

PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket')


@functools.lru_cache(maxsize=None)
def _full_photo(name: str) -> np.ndarray:
    return getattr(skdata, name)()


def photo(name: str, variant: int = 0, size: int = 48) -> np.ndarray:
    """An RGB uint8 crop of a bundled photo; ``variant`` picks a different crop."""
    img = _full_photo(name)
    h, w = img.shape[:2]
    side = min(h, w) * 3 // 4
    y = (variant * 37) % (h - side + 1)
    x = (variant * 53) % (w - side + 1)
    crop = Image.fromarray(img[y:y + side, x:x + side]).resize((size, size), Image.BICUBIC)
    return np.asarray(crop)


def save_jpeg(path: str, rgb: np.ndarray) -> None:
    """Write a JPEG, creating its folder."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(rgb).save(path, quality=95)


def make_flowers(root: str, per_part=(2, 2, 2), num_classes: int = 3) -> dict:
    """Flowers-102 layout: class c (label c+1) uses photo c. Returns the image ids per part."""
    ids = {'trnid': [], 'valid': [], 'tstid': []}
    labels = []
    for c in range(num_classes):
        for part, n in zip(ids, per_part):
            for _ in range(n):
                labels.append(c + 1)
                ids[part].append(len(labels))
                save_jpeg(osp.join(root, 'jpg', f'image_{len(labels):05d}.jpg'),
                          photo(PHOTOS[c], variant=len(labels)))
    savemat(osp.join(root, 'imagelabels.mat'), {'labels': np.array([labels], dtype=np.uint8)})
    savemat(osp.join(root, 'setid.mat'),
            {k: np.array([v], dtype=np.uint16) for k, v in ids.items()})
    return ids


PET_BREEDS = ((1, 'Abyssinian', 1), (2, 'american_bulldog', 2), (3, 'american_pit_bull_terrier', 2))


def make_pets(root: str, n_trainval: int = 4, n_test: int = 2) -> dict:
    """Oxford-IIIT Pets layout with three breeds. Returns the image names per index file."""
    names = {'trainval.txt': [], 'test.txt': []}
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for (class_id, breed, species), photo_name in zip(PET_BREEDS, PHOTOS):
        k = 0
        for index, n in (('trainval.txt', n_trainval), ('test.txt', n_test)):
            for _ in range(n):
                k += 1
                names[index].append((f'{breed}_{k}', class_id, species))
                save_jpeg(osp.join(root, 'images', f'{breed}_{k}.jpg'), photo(photo_name, k))
    for index, rows in names.items():
        with open(osp.join(root, 'annotations', index), 'w') as f:
            # class id, species (1 cat, 2 dog), breed id within species: as the real files
            f.writelines(f'{n} {c} {s} {c}\n' for n, c, s in rows)
    return {k: [n for n, _, _ in v] for k, v in names.items()}


def make_image_folder(root: str, parts: dict, size: int = 16) -> None:
    """``root/<part>/<class>/<i>.JPEG`` with ``parts = {part: {class: count}}``."""
    for part, classes in parts.items():
        for j, (name, count) in enumerate(sorted(classes.items())):
            for i in range(count):
                save_jpeg(osp.join(root, part, name, f'{name}_{i}.JPEG'),
                          photo(PHOTOS[j % len(PHOTOS)], j + i, size))


def write_idx(path: str, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (the Fashion-MNIST format)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype='>i4').tobytes()
    with gzip.open(path, 'wb') as f:
        f.write(header + array.tobytes())


def save_odd(path: str, rgb: np.ndarray, mode: str) -> None:
    """Write ``rgb`` as a PIL ``mode`` image ('RGB', 'L', 'RGBA', 'P', 'LA', 'CMYK'); the file
    name's extension picks the format."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = Image.fromarray(rgb)
    if mode == 'RGBA':  # a real alpha channel, half transparent
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        alpha[:, : rgb.shape[1] // 2] = 0
        img = Image.fromarray(np.dstack([rgb, alpha]))
    elif mode != 'RGB':
        img = img.convert(mode)
    img.save(path)


# (relative path, PIL mode, (width, height)): nested folders, mixed extensions and sizes, grey,
# RGBA, palette and CMYK images: what a user's photo folder holds.
ODD_IMAGES = (
    ('IMG_0001.JPG', 'RGB', (64, 48)),
    ('holiday/2019/beach.jpeg', 'L', (40, 72)),
    ('holiday/2019/scan.png', 'RGBA', (96, 96)),
    ('holiday/2020/deep/er/logo.png', 'P', (33, 57)),
    ('holiday/2020/sketch.png', 'LA', (50, 30)),
    ('misc/print.jpg', 'CMYK', (120, 80)),
    ('misc/old.bmp', 'RGB', (24, 24)),
)


def make_odd_photo_tree(root: str) -> list:
    """A user's unlabelled photo folder of real photos with the odd cases above, plus files that
    are not photos (hidden ``._`` and ``.thumbnails/`` junk, a text file). Returns the photos'
    paths."""
    paths = []
    for i, (rel, mode, size) in enumerate(ODD_IMAGES):
        path = osp.join(root, rel)
        rgb = np.asarray(Image.fromarray(photo(PHOTOS[i % len(PHOTOS)], i, 128)).resize(size))
        save_odd(path, rgb, mode)
        paths.append(path)
    for junk in ('._IMG_0001.JPG', 'holiday/.thumbnails/beach.jpg'):
        os.makedirs(osp.dirname(osp.join(root, junk)), exist_ok=True)
        with open(osp.join(root, junk), 'wb') as f:
            f.write(b'\x00\x05\x16\x07 AppleDouble, not a JPEG')
    with open(osp.join(root, 'holiday', 'notes.txt'), 'w') as f:
        f.write('not an image\n')
    return sorted(paths)
