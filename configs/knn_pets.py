# kNN on Oxford-IIIT Pets (k=20, cosine, exp(sim / 0.07) votes): frozen SCOTT-S features of the test
# split against those of the train split. Nothing is trained: evaluate a MIM-JEPA checkpoint
# directly (context encoder; model.encoder_prefix=target_encoder.module. for the EMA target):
#   python tools/test.py configs/knn_pets.py work_dirs/scott_jepa_pets/epoch_300.pth
# Your data: also set model.bank_dataloader.dataset.data_root and test_dataloader.dataset.data_root.
_base_ = [
    '_base_/models/scott_s_knn.py',
    '_base_/datasets/pets_probe.py',
    '_base_/default_runtime.py',
]
model = dict(num_classes=37, bank_dataloader={{_base_.bank_dataloader}})
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict()
