# Linear probe on Oxford-IIIT Pets: frozen SCOTT-S from a MIM-JEPA checkpoint (context encoder, as
# in the paper; --cfg-options model.backbone.init_cfg.prefix=target_encoder.module. for the EMA
# target) + a linear layer on layer-normed, averaged tokens. Fit on train, keep the best epoch on
# val, then test that checkpoint once:
#   python tools/train.py configs/linear_probe_pets.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/scott_jepa_pets/epoch_300.pth
#   python tools/test.py configs/linear_probe_pets.py \
#       work_dirs/linear_probe_pets/best_accuracy_top1_epoch_<N>.pth
_base_ = [
    '_base_/models/scott_s_linear_probe.py',
    '_base_/datasets/pets_probe.py',
    '_base_/schedules/probe_100e.py',
    '_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=37))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
