# Fashion-MNIST for the demo's evaluations (probes, kNN, supervised baseline): the few-label
# setting of the demo. Fit on 1,000 labelled photos (100 per class) of 'train', select on 2,000
# photos of 'val' (carved from the 60k training photos), report the 10,000 'test' photos once.
# Images are 32 px (resized from 28 px when read); no loading transform is needed.
# Run tools/fetch_fashion_mnist.sh once; the dataset finds the files itself.
dataset_type = 'SCOTTFashionMNIST'
train_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.6, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=100, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, split='train', num_labels=1000, img_size=32,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, split='val', indices=2000, img_size=32,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=250, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, split='test', img_size=32, pipeline=test_pipeline))
# The labelled bank of kNN evaluation: the same 1,000 labelled photos, no augmentation.
bank_dataloader = dict(
    batch_size=250, num_workers=0, collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, split='train', num_labels=1000, img_size=32,
                 pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
