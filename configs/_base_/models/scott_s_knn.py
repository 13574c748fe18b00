# kNN on frozen SCOTT-S features: cosine similarity, the 20 nearest training images vote with
# weight exp(sim / 0.07). Features: tokens layer-normed and averaged. Nothing is trained; the
# configs only define a test. The encoder comes from the checkpoint given to tools/test.py:
# model.encoder_prefix='backbone.' (context encoder, as in the paper) or
# 'target_encoder.module.' (EMA target). Each dataset config sets model.bank_dataloader.
model = dict(
    type='KNNClassifier',
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    backbone=dict(type='SCOTT', arch='small', img_size=224, patch_size=16, backend='dense',
                  out_type='avg_featmap', final_norm=True),
    num_classes=1000,
    k=20,
    temperature=0.07,
    encoder_prefix='backbone.',
)
