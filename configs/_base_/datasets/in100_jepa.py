# ImageNet100 for MIM-JEPA pretraining. The 'pretrain' split is train (+ val), never test.
# Point data_root at your copy: --cfg-options train_dataloader.dataset.data_root=/path
# (the default is where tools/prepare_data.py in100 puts it; a full ImageNet folder works too).
# Two views of one image: one shared crop + flip, then an independent colour stack per view,
# and a blockwise mask hiding 60% of the 14x14 patches from the context view.
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
    persistent_workers=True,  # keep workers alive between epochs (augmentation is seeded per sample)
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=True,
    dataset=dict(type='ImageNet100', data_root='data/imagenet100', split='pretrain', pipeline=train_pipeline),
)
