# Linear probe on frozen demo features: a frozen SCOTT (the pretrained *context* encoder, as in
# the paper; use prefix='target_encoder.module.' for the EMA target) + a linear classifier on
# standardised features (BatchNorm without affine, as MAE), trained on 1,000 labelled
# Fashion-MNIST photos (100 per class), reported on the 10,000 test photos. The checkpoint comes
# from the command line:
#   python tools/train.py configs/linear_probe_demo.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/demo/pretrain/epoch_4.pth
# model.backbone.init_cfg=None gives the same probe on an untrained encoder (the baseline).
_base_ = ['_base_/datasets/fashion_mnist_probe.py', '_base_/default_runtime.py']

embed_dims = 128
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=True),
    backbone=dict(
        type='SCOTT', arch=dict(embed_dims=embed_dims, num_layers=6, num_heads=4), img_size=32,
        patch_size=4, backend='dense', out_type='avg_featmap', final_norm=True, frozen_stages=6,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(type='BatchNormLinearClsHead', num_classes=10, in_channels=embed_dims,
              loss=dict(type='CrossEntropyLoss')),
)
# a missing checkpoint, or one that does not fit the backbone, stops the run at once
custom_hooks = [dict(type='PretrainedEncoderCheckHook')]

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, eta_min=1e-4)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=20)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=20, max_keep_ckpts=1))
