# ImageNet100 for probes and supervised training, with honest splits: fit on 'train', select on
# 'val', report 'test' once. ImageNet-100: val is carved from train/ (10% per class); ImageNet's
# val/ is the test split.
# Point the three dataloaders (and model.bank_dataloader for kNN) at your copy, e.g.
#   --cfg-options train_dataloader.dataset.data_root=/path val_dataloader.dataset.data_root=/path \
#                 test_dataloader.dataset.data_root=/path
# or link it to data/imagenet100 (python tools/prepare_data.py in100 --imagenet PATH makes
# it), or to a full ImageNet folder.
data_root = 'data/imagenet100'
dataset_type = 'ImageNet100'
# Training views: the pretraining crop, flip and colour stack, one view (as the authors probe).
train_pipeline = [
    dict(type='SCOTTLoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0),
         interpolation='bicubic', backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='JEPAColorAugment', prob=0.6),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='SCOTTLoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', interpolation='bicubic', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
)
# The labelled bank of kNN evaluation: the training split seen through the test pipeline.
bank_dataloader = dict(
    batch_size=64,
    num_workers=4,
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=test_pipeline),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
