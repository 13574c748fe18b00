# kNN on your own labelled images (k=20, cosine, exp(sim / 0.07) votes; README: "Your own
# data"): frozen SCOTT-S features of the test split against those of train. Nothing is trained:
# evaluate a MIM-JEPA checkpoint directly (context encoder; model.encoder_prefix=
# target_encoder.module. for the EMA target). data_root holds train/<class>/... and
# test/<class>/... (or val/<class>/...); num_classes is counted from train/ (or num_classes=N):
#   python tools/test.py configs/knn_folder.py work_dirs/scott_jepa_folder/epoch_300.pth \
#       --cfg-options data_root=/path/to/labelled
_base_ = [
    '_base_/models/scott_s_knn.py',
    '_base_/datasets/folder_probe.py',
    '_base_/default_runtime.py',
]
model = dict(num_classes='{num_classes}', bank_dataloader={{_base_.bank_dataloader}})
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict()
