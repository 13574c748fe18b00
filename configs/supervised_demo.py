# Supervised from scratch on the demo's 1,000 labelled Fashion-MNIST photos: the same SCOTT as
# the demo pretraining (D=128, 6 layers, 32 px, 4 px tokenizer stride), trained end to end on
# the labels only: the baseline that pretraining + a probe must beat. 100 epochs of 10 steps.
#   python tools/train.py configs/supervised_demo.py
#   python tools/test.py configs/supervised_demo.py \
#       work_dirs/supervised_demo/best_accuracy_top1_epoch_<N>.pth
_base_ = ['_base_/datasets/fashion_mnist_probe.py', '_base_/default_runtime.py']

embed_dims = 128
max_epochs = 100
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(mean=[72.9] * 3, std=[90.0] * 3, to_rgb=True),
    backbone=dict(
        type='SCOTT', arch=dict(embed_dims=embed_dims, num_layers=6, num_heads=4), img_size=32,
        patch_size=4, backend='dense', drop_rate=0., attn_drop_rate=0., drop_path_rate=0.1,
        out_type='avg_featmap', final_norm=True),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=embed_dims,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
)
find_unused_parameters = True  # the mask token only serves masked pretraining

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=10, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
