# MIM-JEPA with SCOTT-S (D=384, depth 12, 4 heads), predictor depth 3 (arXiv 2502.18056).
model = dict(
    type='MIMJEPA',
    base_momentum=0.996,
    end_momentum=1.0,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='SCOTT', arch='small', img_size=224, patch_size=16,
        backend='minkowski',  # 'dense' computes the same function without MinkowskiEngine
        drop_rate=0.2, attn_drop_rate=0.1, drop_path_rate=0.1, out_type='raw'),
    neck=dict(
        type='JEPAPredictor', in_channels=384, embed_dims=384, num_layers=3, num_heads=4,
        drop_rate=0.2, attn_drop_rate=0.1, drop_path_rate=0.1, layer_id_offset=12),
    head=dict(type='LatentPredictionHead', beta=1.0),
)
