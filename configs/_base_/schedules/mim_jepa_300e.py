# The paper's pretraining schedule (arXiv 2502.18056): AdamW, batch 64, 300 epochs, fp32.
# lr: 1e-6 -> 5e-4 linearly over 40 warm-up epochs, flat for 72% of the rest, cosine to 1e-5.
# weight decay: 0.04 -> 0.4 linearly over training; none on biases and 1-D parameters.
max_epochs = 300
warmup_epochs = 40
flat_end = warmup_epochs + round(0.72 * (max_epochs - warmup_epochs))  # epoch 227
base_lr = 5e-4

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.4),  # final value; scheduled up from 0.04
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / base_lr, end_factor=1.0, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=flat_end,
         end=max_epochs, convert_to_iter_based=True),
    dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.1,
         end_factor=1.0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=64, enable=False)
