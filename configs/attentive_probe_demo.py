# Attentive probe on frozen demo features (the paper's evaluation, scaled to the demo): the
# frozen context encoder of a demo MIM-JEPA checkpoint returns layer-normed tokens, a multi-head
# attentive pooling head classifies them; 1,000 labelled Fashion-MNIST photos, the paper's
# schedule shape (warm-up, flat, cosine; weight decay 0.04 -> 0.4) over 40 epochs.
#   python tools/train.py configs/attentive_probe_demo.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/demo/pretrain/epoch_4.pth
# Other heads: model.head.type=CrossAttentionPoolingHead or SoftmaxPoolingHead.
_base_ = ['_base_/datasets/fashion_mnist_probe.py', '_base_/default_runtime.py']

embed_dims = 128
max_epochs = 40
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(mean=[72.9] * 3, std=[90.0] * 3, to_rgb=True),
    backbone=dict(
        type='SCOTT', arch=dict(embed_dims=embed_dims, num_layers=6, num_heads=4), img_size=32,
        patch_size=4, backend='dense', out_type='raw', final_norm=True, frozen_stages=6,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(type='MultiHeadAttentivePoolingHead', num_classes=10, in_channels=embed_dims,
              dropout=0.2, loss=dict(type='CrossEntropyLoss')),
)
custom_hooks = [dict(type='PretrainedEncoderCheckHook')]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.4),  # final value; scheduled up from 0.04
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=8,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=26, end=max_epochs,
         convert_to_iter_based=True),
    dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.1,
         end_factor=1.0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
