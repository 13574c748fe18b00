"""Data transforms for MIM-JEPA pretraining: patch masks and the per-view colour stack.

Two views share one crop and flip (mmpretrain's RandomResizedCrop and RandomFlip, applied once),
then mmpretrain's ``MultiView`` copies the image and runs the colour stack on each copy
independently; view 1 is the context view (masked), view 2 the target view. ``MultiView`` builds
its inner transforms by name, so it needs ``default_scope='mmpretrain'`` (configs set it).

Recommended pretraining pipeline (224 px, stride 16 -> 14x14 tokens), to copy into configs::

    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0),
             interpolation='bicubic', backend='pillow'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='MultiView', num_views=2,
             transforms=[[dict(type='JEPAColorAugment', prob=0.6)]]),
        dict(type='BlockwiseMaskGenerator', input_size=(14, 14), mask_ratio=0.6),
        dict(type='PackInputs'),
    ]

``PackInputs`` packs ``results['mask']`` as a tensor by itself. Do not add
``algorithm_keys=['mask']``: mmpretrain 1.2.0 then overwrites that tensor with the raw numpy
array. ``backend='pillow'`` gives PIL's antialiased bicubic resize, as torchvision (the authors'
code) does. Images stay BGR uint8 here; the data preprocessor converts to RGB and normalises
(``SelfSupDataPreprocessor(..., to_rgb=True)``).
"""
from .color import JEPAColorAugment
from .masking import BlockwiseMaskGenerator, MultiBlockMaskGenerator, RandomMaskGenerator

__all__ = ['BlockwiseMaskGenerator', 'MultiBlockMaskGenerator', 'RandomMaskGenerator',
           'JEPAColorAugment']
