# MIM-JEPA pretraining of SCOTT-S, the paper's recipe (arXiv 2502.18056).
#   python tools/train.py configs/scott_jepa_in100.py \
#       --cfg-options train_dataloader.dataset.data_root=/path/to/your/copy
_base_ = [
    '_base_/models/scott_s_mim_jepa.py',
    '_base_/datasets/in100_jepa.py',
    '_base_/schedules/mim_jepa_300e.py',
    '_base_/default_runtime.py',
]
