# The bf16 CPU recipe (scott_jepa_flowers_cpu_bf16.py) plus VICReg's variance and covariance terms
# on the context encoder's layer-normed tokens at the visible patches (Bardes et al., ICLR 2022;
# C-JEPA, Mo & Tong, NeurIPS 2024, adds them to I-JEPA), weighted 0.05 / 0.002: not the paper's
# loss. Why: MIM-JEPA's pooled features keep a large shared direction that a cosine kNN cannot
# discount; the terms spread the channels. Measured (benchmarks/learning.py, README "Ten times
# smaller weights"): val, seed 0, kNN / linear 40.8 / 50.1 against 32.3 / 46.8 without them;
# test, seeds 0-2: kNN / linear / attentive 37.8 / 47.3 / 53.4, +8.5 / +4.4 / +5.0 over the
# recipe without them on the same seeds, ahead on every probe of every seed. Ten times stronger
# weights (0.5 / 0.02) stall the learning (test linear -7.8). A step costs ~2 % more.
#   python tools/train.py configs/scott_jepa_flowers_cpu_bf16_varcov.py \
#       --cfg-options train_dataloader.dataset.data_root=/path/to/flowers-102
_base_ = ['scott_jepa_flowers_cpu_bf16.py']

model = dict(regularizer=dict(type='VarianceCovarianceRegularizer', var_weight=0.05,
                              cov_weight=0.002))
