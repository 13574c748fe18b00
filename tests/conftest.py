import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # so tests can import tools.*

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope='session')
def gpu():
    """The device of the GPU tests: CUDA, or skipped with the reason 'no CUDA device' (the only
    skip of the suite). ``SCOTT_MM_GPU_TESTS_ON_CPU=1`` runs them on the CPU instead: the CPU
    rehearsal of tools/gpu_check.sh checks the tests themselves before a GPU is lent."""
    if torch.cuda.is_available():
        return torch.device('cuda')
    if os.environ.get('SCOTT_MM_GPU_TESTS_ON_CPU') == '1':
        return torch.device('cpu')
    pytest.skip('no CUDA device')


def skimage_photos():
    """Real CC0 / public-domain colour photos bundled with scikit-image (no download)."""
    from skimage import data
    return {name: getattr(data, name)() for name in ('astronaut', 'chelsea', 'coffee', 'rocket')}


@pytest.fixture(scope='session')
def photo_folder(tmp_path_factory):
    """An ImageFolder tree of real JPEG photos: 2 classes x 4 images (crops of real photos)."""
    from PIL import Image
    root = tmp_path_factory.mktemp('photos')
    photos = list(skimage_photos().items())
    for cls_idx, cls in enumerate(('animal', 'object')):
        (root / cls).mkdir()
        for i, (name, img) in enumerate(photos):
            h, w = img.shape[:2]
            crop = img[(i * h) // 8:(i * h) // 8 + h // 2, (cls_idx * w) // 3:(cls_idx * w) // 3 + w // 2]
            Image.fromarray(np.ascontiguousarray(crop)).save(root / cls / f'{name}_{i}.jpg')
    return root
