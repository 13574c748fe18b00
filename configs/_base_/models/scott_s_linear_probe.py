# Linear probe: the frozen SCOTT-S encoder of a MIM-JEPA checkpoint, features layer-normed and
# averaged over tokens, then standardised (BatchNorm without affine, as MAE) and one linear layer. The encoder is the *context* encoder
# (prefix='backbone.'), as in the paper; prefix='target_encoder.module.' takes the EMA target.
# The checkpoint must be given: --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (PretrainedEncoderCheckHook stops the run at once if it is missing or does not fit).
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    backbone=dict(
        type='SCOTT', arch='small', img_size=224, patch_size=16,
        backend='dense',  # without a mask both backends run the same dense stack
        out_type='avg_featmap', final_norm=True, frozen_stages=12,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(type='BatchNormLinearClsHead', num_classes=1000, in_channels=384,
              loss=dict(type='CrossEntropyLoss')),
)
custom_hooks = [dict(type='PretrainedEncoderCheckHook')]
