"""Getting the paper's datasets onto disk in the layout scott_mm's datasets read
(``tools/prepare_data.py`` is the command line)."""
from .download import DownloadError, fetch
from .downloaded import PrepareError, flowers102, imagenette, pets, prepare_downloaded
from .imagenet100 import prepare_imagenet100
from .summary import Summary, tree_fingerprint

__all__ = ['DownloadError', 'PrepareError', 'Summary', 'fetch', 'flowers102', 'imagenette',
           'pets', 'prepare_downloaded', 'prepare_imagenet100', 'tree_fingerprint']
