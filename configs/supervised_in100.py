# Supervised from scratch on ImageNet-100: the same SCOTT-S trained end to end on the labels, with
# the pretraining's optimiser schedule (300 epochs) and augmentations: the baseline MIM-JEPA
# must beat. Fit on train, keep the best epoch on val, test it once:
#   python tools/train.py configs/supervised_in100.py
#   python tools/test.py configs/supervised_in100.py \
#       work_dirs/supervised_in100/best_accuracy_top1_epoch_<N>.pth
_base_ = [
    '_base_/models/scott_s_supervised.py',
    '_base_/datasets/in100_probe.py',
    '_base_/schedules/mim_jepa_300e.py',
    '_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=100))
train_cfg = dict(val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
