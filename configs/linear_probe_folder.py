# Linear probe on your own labelled images (README: "Your own data"): the frozen SCOTT-S of a
# MIM-JEPA checkpoint (context encoder, as in the paper; --cfg-options
# model.backbone.init_cfg.prefix=target_encoder.module. for the EMA target) + a linear layer.
# data_root holds train/<class>/... and val/<class>/... and/or test/<class>/...; num_classes is
# the number of class folders in train/ (or --cfg-options num_classes=N). Fit on train, keep the
# best epoch on val (carved from train when val/ is the test split), then test it once:
#   python tools/train.py configs/linear_probe_folder.py --cfg-options data_root=/path/to/labelled \
#       model.backbone.init_cfg.checkpoint=work_dirs/scott_jepa_folder/epoch_300.pth
#   python tools/test.py configs/linear_probe_folder.py \
#       work_dirs/linear_probe_folder/best_accuracy_top1_epoch_<N>.pth \
#       --cfg-options data_root=/path/to/labelled
_base_ = [
    '_base_/models/scott_s_linear_probe.py',
    '_base_/datasets/folder_probe.py',
    '_base_/schedules/probe_100e.py',
    '_base_/default_runtime.py',
]
model = dict(head=dict(num_classes='{num_classes}'))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
