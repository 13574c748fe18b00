# Attentive probe on Oxford-IIIT Pets, the paper's evaluation protocol: frozen SCOTT-S from a
# MIM-JEPA checkpoint (context encoder), LayerNorm on its tokens, an attentive pooling head; 100
# epochs, 20 warm-up, lr 5e-4, weight decay 0.04 -> 0.4, batch 64. Fit on train, keep the best
# epoch on val, test it once. Other heads: --cfg-options model.head.type=CrossAttentionPoolingHead
# or SoftmaxPoolingHead (the paper keeps the best of the three on validation).
#   python tools/train.py configs/attentive_probe_pets.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/scott_jepa_pets/epoch_300.pth
#   python tools/test.py configs/attentive_probe_pets.py \
#       work_dirs/attentive_probe_pets/best_accuracy_top1_epoch_<N>.pth
_base_ = [
    '_base_/models/scott_s_attentive_probe.py',
    '_base_/datasets/pets_probe.py',
    '_base_/schedules/probe_100e.py',
    '_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=37))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
