# The short pretraining of the device check (tools/gpu_check.sh): the paper's SCOTT-S MIM-JEPA at
# 224 px and batch 64, for 200 iterations of an iteration-based version of its schedule, on a
# Flowers-102 subset, with the learning monitor. It shows that the training loop, the monitor and
# checkpoints run on a GPU and measures their speed there; a few hundred iterations cannot judge
# learning (DESIGN.md section 5).
#   python tools/train.py configs/scott_jepa_flowers_gpu_check.py --amp \
#       --cfg-options train_dataloader.dataset.data_root=gpu_bundle/flowers-102-mini
_base_ = [
    '_base_/models/scott_s_mim_jepa.py',
    '_base_/datasets/flowers102_jepa.py',
    '_base_/schedules/mim_jepa_300e.py',
    '_base_/default_runtime.py',
]

max_iters = 200
warmup_iters = round(max_iters * 40 / 300)
flat_end = warmup_iters + round(0.72 * (max_iters - warmup_iters))
base_lr = 5e-4
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / base_lr, end_factor=1.0, by_epoch=False,
         begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=flat_end,
         end=max_iters),
    dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.1,
         end_factor=1.0, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
train_dataloader = dict(num_workers=8)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
custom_hooks = [dict(
    type='LearningMonitorHook', interval=50,
    dataset=dict(type='SCOTTFlowers102', split='train', num_labels=300, pipeline=[
        dict(type='SCOTTLoadImageFromFile'),
        dict(type='ResizeEdge', scale=256, edge='short', interpolation='bicubic',
             backend='pillow'),
        dict(type='CenterCrop', crop_size=224),
        dict(type='PackInputs')]))]
