# Attentive probe, the paper's evaluation (arXiv 2502.18056): the frozen SCOTT-S encoder of a
# MIM-JEPA checkpoint returns its layer-normed tokens and a small attentive head pools them.
# Three heads, as in the paper; switch with --cfg-options model.head.type=...:
#   MultiHeadAttentivePoolingHead  multi-head attentive pooling (default here)
#   CrossAttentionPoolingHead      cross-attention with one learned query
#   SoftmaxPoolingHead             simple softmax pooling
# The paper trains all three and keeps the best on validation; run the three and compare
# their val accuracy (the best checkpoint of each run is saved), then test the winner once.
# Context encoder by default (prefix='backbone.'); 'target_encoder.module.' for the EMA target.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    backbone=dict(
        type='SCOTT', arch='small', img_size=224, patch_size=16, backend='dense',
        out_type='raw', final_norm=True, frozen_stages=12,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(type='MultiHeadAttentivePoolingHead', num_classes=1000, in_channels=384,
              dropout=0.2, loss=dict(type='CrossEntropyLoss')),
)
custom_hooks = [dict(type='PretrainedEncoderCheckHook')]
