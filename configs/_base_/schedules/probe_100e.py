# The paper's probe schedule (arXiv 2502.18056), for probes on frozen features: AdamW, batch 64,
# 100 epochs; lr 1e-6 -> 5e-4 linearly over 20 warm-up epochs, flat for 72% of the rest, cosine
# to 1e-5; weight decay 0.04 -> 0.4 linearly, none on biases and 1-D parameters.
# Validation every epoch: the best epoch on the validation split is kept (save_best in the
# configs' checkpoint hook) and only that one is tested.
max_epochs = 100
warmup_epochs = 20
flat_end = warmup_epochs + round(0.72 * (max_epochs - warmup_epochs))  # epoch 78
base_lr = 5e-4

optim_wrapper = dict(
    type='OptimWrapper',
    # weight_decay is the final value; the scheduler below starts it at 0.1 x 0.4 = 0.04
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.4),
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / base_lr, end_factor=1.0, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=flat_end,
         end=max_epochs, convert_to_iter_based=True),
    dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.1,
         end_factor=1.0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64, enable=False)
