"""Loading an image file so that a bad one is reported by its path.

Large image collections often hold a few unreadable files. By default the first one stops the
run with its path; ``on_error='skip'`` instead logs each one and counts it, and the training
dataset then draws another sample (mmengine's behaviour for a ``None`` pipeline result).
"""
from mmcv.transforms import LoadImageFromFile
from mmengine.logging import MMLogger

from ..registry import TRANSFORMS


class UnreadableImageError(OSError):
    """An image file is missing, empty, truncated or not an image."""


@TRANSFORMS.register_module()
class SCOTTLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that names the bad file, and can skip and count bad files.

    Args:
        on_error (str): ``'raise'`` (default) raises :class:`UnreadableImageError` with the path
            and reason. ``'skip'`` logs a warning with the path and the running count
            (``self.num_skipped``, per worker process) and returns None. Skipping only helps
            training datasets: evaluation splits run with ``test_mode=True``, where mmengine
            refuses a None sample.
        **kwargs: ``LoadImageFromFile`` arguments (both the OpenCV and Pillow decoders reject
            truncated JPEGs; checked in tests/test_datasets.py).
    """

    def __init__(self, on_error: str = 'raise', **kwargs):
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        kwargs.pop('ignore_empty', None)  # replaced by on_error
        super().__init__(**kwargs)
        self.on_error = on_error
        self.num_skipped = 0

    def transform(self, results: dict):
        """Load ``results['img_path']``; on failure raise or skip as configured."""
        path = results['img_path']
        try:
            return super().transform(results)
        except Exception as e:  # I/O errors, decoder errors, and mmcv's assert on None
            reason = f'{type(e).__name__}: {e}'
            if self.on_error == 'raise':
                raise UnreadableImageError(f'cannot read image {path} ({reason}); pass '
                                           "on_error='skip' to skip and count such files") from e
        self.num_skipped += 1
        MMLogger.get_current_instance().warning(
            f'skipped unreadable image {path} ({reason}); {self.num_skipped} skipped so far')
        return None
