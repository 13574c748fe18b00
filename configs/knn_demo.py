# kNN on frozen demo features (k=20, cosine, exp(sim / 0.07) votes): the 10,000 Fashion-MNIST
# test photos against the 1,000 labelled training photos. Nothing is trained; evaluate a demo
# MIM-JEPA checkpoint directly (context encoder; model.encoder_prefix=target_encoder.module. for
# the EMA target):
#   python tools/test.py configs/knn_demo.py work_dirs/demo/pretrain/epoch_4.pth
_base_ = ['_base_/datasets/fashion_mnist_probe.py', '_base_/default_runtime.py']

model = dict(
    type='KNNClassifier',
    data_preprocessor=dict(mean=[72.9] * 3, std=[90.0] * 3, to_rgb=True),
    backbone=dict(type='SCOTT', arch=dict(embed_dims=128, num_layers=6, num_heads=4),
                  img_size=32, patch_size=4, backend='dense', out_type='avg_featmap',
                  final_norm=True),
    bank_dataloader={{_base_.bank_dataloader}},
    num_classes=10,
    k=20,
    temperature=0.07,
    encoder_prefix='backbone.',
)
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict()
