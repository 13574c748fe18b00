# Runtime shared by every scott_mm config: registries, hooks, logging, seed.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['scott_mm'], allow_failed_imports=False)
# mmengine's Runner + per-sample augmentation seeds, mid-epoch resume (scott_mm/engine/runner.py).
# Scope-qualified because tools/train.py builds it from mmengine's root RUNNERS registry.
runner_type = 'mmpretrain.ScottRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # In default_hooks, not custom_hooks, so a config's own custom_hooks list cannot drop them.
    rng_state=dict(type='RNGStateHook'),  # resume continues the random streams bit for bit
    nonfinite_loss=dict(type='NonFiniteLossHook', action='raise'),  # or 'skip' the step
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # GPUs; tools/train.py and test.py use gloo without CUDA
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=47, deterministic=False)  # the paper's seed
