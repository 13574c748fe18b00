# Linear probe on frozen demo features: a frozen SCOTT (the pretrained *context* encoder, as in
# the paper; use prefix='target_encoder.module.' for the EMA target) + a linear classifier,
# trained on 1,000 labelled Fashion-MNIST photos (100 per class), reported on the 10,000 test
# photos. The checkpoint comes from the command line:
#   python tools/train.py configs/linear_probe_demo.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/demo/pretrain/epoch_4.pth
_base_ = ['_base_/default_runtime.py']

embed_dims = 128
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=True),
    backbone=dict(
        type='SCOTT', arch=dict(embed_dims=embed_dims, num_layers=6, num_heads=4), img_size=32,
        patch_size=4, backend='dense', out_type='avg_featmap', final_norm=True, frozen_stages=6,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=embed_dims,
              loss=dict(type='CrossEntropyLoss')),
)

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
    dataset=dict(type='SCOTTFashionMNIST', split='train', num_labels=1000, img_size=32,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='SCOTTFashionMNIST', split='val', indices=2000, img_size=32,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=250, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='SCOTTFashionMNIST', split='test', img_size=32, pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, eta_min=1e-4)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=20)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=20, max_keep_ckpts=1))
