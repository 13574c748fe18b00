# Supervised from scratch: the same SCOTT-S, trained end to end with labels only: the baseline
# that self-supervised pretraining must beat (arXiv 2502.18056). Same regularisation as in
# pretraining, tokens layer-normed and averaged, a linear classifier, label smoothing 0.1.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    backbone=dict(
        type='SCOTT', arch='small', img_size=224, patch_size=16, backend='dense',
        drop_rate=0.2, attn_drop_rate=0.1, drop_path_rate=0.1,
        out_type='avg_featmap', final_norm=True),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=384,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
)
# The mask token only serves masked pretraining: unused here, so DDP must expect that.
find_unused_parameters = True
