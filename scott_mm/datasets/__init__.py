"""Datasets with honest splits (see splits.py), the offline Fashion-MNIST default, and a
loading transform that reports bad image files by path. Importing registers them."""
from . import transforms  # noqa: F401  (registers the data transforms)
from .fashion_mnist import SCOTTFashionMNIST
from .flowers102 import SCOTTFlowers102
from .image_folder import SCOTTImageFolder
from .imagenet100 import ImageNet100
from .layout import DatasetLayoutError
from .loading import SCOTTLoadImageFromFile, UnreadableImageError
from .oxford_pets import SCOTTOxfordIIITPet
from .splits import SPLITS
from .unlabelled_folder import SCOTTUnlabelledFolder

__all__ = ['SCOTTFashionMNIST', 'SCOTTFlowers102', 'SCOTTImageFolder', 'ImageNet100',
           'SCOTTOxfordIIITPet', 'SCOTTUnlabelledFolder', 'SCOTTLoadImageFromFile',
           'DatasetLayoutError', 'UnreadableImageError', 'SPLITS']
