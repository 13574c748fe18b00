# MIM-JEPA pretraining of SCOTT-S on your own images: any folder tree, with or without class
# sub-folders (README: "Your own data"). The paper's recipe: 224 px, batch 64, 300 epochs.
#   python tools/train.py configs/scott_jepa_folder.py --cfg-options data_root=/path/to/images
# A top-level test/ (or val/) folder under data_root is held out, so a labelled tree can be
# pretrained on as it is. On a small folder an epoch is a few iterations: checkpoints every 10
# epochs and the last one (work_dirs/scott_jepa_folder/epoch_300.pth).
_base_ = [
    '_base_/models/scott_s_mim_jepa.py',
    '_base_/datasets/folder_jepa.py',
    '_base_/schedules/mim_jepa_300e.py',
    '_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=1))
