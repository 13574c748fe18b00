# Your own images for MIM-JEPA pretraining (SCOTTUnlabelledFolder): every image below data_root
# at any depth, class sub-folders or not (labels are not read), any mix of .jpg / .png / ...,
# sizes, grey and RGBA (decoded to 3 channels). A top-level test/ folder (or, without one, val/)
# is held out: pretraining never sees what a probe reports on.
# Set the folder on the command line: --cfg-options data_root=/path/to/images
# ('{data_root}' below is filled in from it by ScottRunner: scott_mm/engine/config_variables.py).
data_root = None
# The paper's views: one shared crop + flip, then an independent colour stack per view, and a
# blockwise mask hiding 60% of the 14x14 patches from the context view.
train_pipeline = [
    dict(type='SCOTTLoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0),
         interpolation='bicubic', backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='MultiView', num_views=2, transforms=[[dict(type='JEPAColorAugment', prob=0.6)]]),
    dict(type='BlockwiseMaskGenerator', input_size=(14, 14), mask_ratio=0.6),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=False,  # a folder of fewer than 64 images still trains; a short batch is fine
    dataset=dict(type='SCOTTUnlabelledFolder', data_root='{data_root}', split='pretrain',
                 pipeline=train_pipeline),
)
