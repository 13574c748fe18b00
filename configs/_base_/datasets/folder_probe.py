# Your own labelled images for probes (SCOTTImageFolder), with honest splits:
#   <data_root>/train/<class>/...  fit (a validation part is carved from it, 10% per class,
#                                   when there is no val/ folder beside a test/ folder)
#   <data_root>/val/<class>/...    select on it; with no test/ folder it is the test split
#   <data_root>/test/<class>/...   report once
# Class names are the sub-folders of train/ (nested folders inside a class are fine).
# Set the folder on the command line: --cfg-options data_root=/path/to/labelled
# ('{data_root}' and '{num_classes}' are filled in by ScottRunner:
# scott_mm/engine/config_variables.py; num_classes='auto' counts the class folders of train/).
data_root = None
num_classes = 'auto'
split_dirs = dict(train='train', val='val', test=('test', 'val'))
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


def folder(split, pipeline):
    return dict(type='SCOTTImageFolder', data_root='{data_root}', split_dirs=split_dirs,
                split=split, pipeline=pipeline)


train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=folder('train', train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=folder('val', test_pipeline),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=folder('test', test_pipeline),
)
# The labelled bank of kNN evaluation: the training split seen through the test pipeline.
bank_dataloader = dict(
    batch_size=64,
    num_workers=4,
    collate_fn=dict(type='default_collate'),
    dataset=folder('train', test_pipeline),
)
# Top-1 only: top-5 needs more than 5 classes, and one's own data often has fewer.
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
