# The embedded demo: MIM-JEPA on real Fashion-MNIST photos (Debian package, offline), small
# enough for 2 CPU cores (~10 minutes). Same algorithm as the paper configs; a smaller SCOTT
# (D=128, 6 layers) on 32 px images with a 4 px tokenizer stride (8x8 tokens).
#   bash tools/fetch_fashion_mnist.sh && python tools/train.py configs/scott_jepa_demo.py
_base_ = ['_base_/default_runtime.py']

embed_dims = 128
num_layers = 6
model = dict(
    type='MIMJEPA',
    base_momentum=0.996,
    end_momentum=1.0,
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[72.9] * 3, std=[90.0] * 3,
                           to_rgb=True),  # Fashion-MNIST pixel statistics
    backbone=dict(type='SCOTT', arch=dict(embed_dims=embed_dims, num_layers=num_layers,
                                          num_heads=4),
                  img_size=32, patch_size=4, backend='minkowski', drop_rate=0.,
                  attn_drop_rate=0., drop_path_rate=0.1, out_type='raw'),
    neck=dict(type='JEPAPredictor', in_channels=embed_dims, embed_dims=embed_dims,
              num_layers=2, num_heads=4, drop_rate=0., attn_drop_rate=0.,
              layer_id_offset=num_layers),
    head=dict(type='LatentPredictionHead'),
    # not the paper's: weak VICReg variance-covariance terms, as in the CPU Flowers recipe;
    # linear probe 75.09 % against 69.95 % without them (one run each, README "Demo")
    regularizer=dict(type='VarianceCovarianceRegularizer', var_weight=0.05, cov_weight=0.002),
)

train_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.3, 1.0),
         interpolation='bicubic', backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='MultiView', num_views=2, transforms=[[dict(type='JEPAColorAugment', prob=0.6,
                                                          blur_kernel_size=3)]]),
    dict(type='BlockwiseMaskGenerator', input_size=(8, 8), mask_ratio=0.6),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=True,
    dataset=dict(type='SCOTTFashionMNIST', split='pretrain', img_size=32,
                 indices=6400,  # a slice of the 60,000 training photos keeps the demo short
                 pipeline=train_pipeline),
)

max_epochs = 4
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.4),  # final value; scheduled up from 0.04
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
    dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.1,
         end_factor=1.0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
# Learning, not only a loss (scott_mm/engine/hooks/learning_monitor_hook.py): kNN accuracy of the
# context and target encoders on 400 labelled 'train' photos (200 bank, 200 queries), and the
# loss on a fixed batch against the position-only and other-image baselines. Every 80 of the
# 400 iterations (~4 s a point on 2 CPU cores, ~4 % of the run); plot with tools/plot_logs.py.
custom_hooks = [dict(
    type='LearningMonitorHook', interval=80,
    dataset=dict(type='SCOTTFashionMNIST', split='train', num_labels=400, img_size=32,
                 pipeline=[dict(type='PackInputs')]))]
