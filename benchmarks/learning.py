"""Does MIM-JEPA pretraining learn? Frozen-feature probes against untrained, raw pixels and
supervised training from scratch, under one training budget, over seeds.

    python -m benchmarks.learning --dataset flowers102 --data-root ../shared/data/flowers-102 \
        [--config configs/scott_jepa_flowers_cpu.py] [--budget-min 30 | --iters N] \
        [--seeds 0 1 2] [--pretrain-split pretrain|all_including_test] [--cfg-options k=v ...]
    python -m benchmarks.learning --dataset fashion_mnist --labels 1000 --iters 400
    python -m benchmarks.learning --dataset folder --data-root ROOT --iters 1000  # ROOT/train|val|test/<class>/*.jpg

Per seed, with the pretraining config's encoder:
  mim_jepa    MIM-JEPA on the pretraining split (train + val: no test image unless
              ``--pretrain-split all_including_test``, the authors' protocol, named so in every
              output); the frozen **context** encoder and the **EMA target** are probed at
              ``--curve`` points of pretraining (the learning curve), attentively at the end;
  untrained   the same encoder at the same seeded initialisation, same probes;
  raw_pixels  the centre crops at 32x32, kNN and linear;
  supervised  the same encoder trained end to end on the labelled split (one view of the same
              augmentation, label smoothing 0.1) for the same budget: its own head, and the same
              probes on its frozen features.
Probes are fitted on the labelled training split and scored once on test (``--eval-split val``
scores the validation split instead: that is how recipes are chosen): kNN (k=20, cosine) and a
linear probe (L-BFGS logistic regression) on mean-pooled layer-normed tokens, the paper's
attentive probe on the tokens (benchmarks/learning_eval.py, benchmarks/probes.py).

Budget: ``--budget-min`` wall-clock minutes of training steps (data loading included) per run,
converted once per method by timing a few iterations; or ``--iters`` pretraining iterations,
with supervised training given the same wall-clock time by the same timing. The JSON keeps the
counts, so every seed and a later session train alike. Every
finished (method, seed) is written to the JSON at once and skipped when the command runs again,
and an interrupted training resumes from its last checkpoint: one run may span sessions. Its
``command`` reproduces every run it holds; ``invocations`` lists the commands that ran.
``--branch-from WORK_DIR@ITER`` starts each MIM-JEPA run from another run's checkpoint at ITER:
a change that acts only late in training (``model.regularizer.fade_from=0.75``) is ablated at
the cost of the iterations after ITER, against the very weights the other run had there.
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # idle OpenMP threads must not burn time

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from benchmarks.common import machine  # noqa: E402
from benchmarks.learning_eval import (Encoder, classifier_accuracy, eval_images,  # noqa: E402
                                      eval_pipeline, probe_encoder, raw_pixels)
from benchmarks.learning_report import Results, plot, print_summary  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ('raw_pixels', 'untrained', 'mim_jepa', 'supervised')
PROGRAM = 'python -m benchmarks.learning '
DEFAULT_CONFIG = {'flowers102': 'configs/scott_jepa_flowers_cpu.py',
                  'fashion_mnist': 'configs/scott_jepa_demo.py',
                  'folder': 'configs/scott_jepa_flowers_cpu.py'}
ENCODERS = {'context': 'backbone.', 'target': 'target_encoder.module.'}
AUTHORS_PROTOCOL = "AUTHORS' PROTOCOL: pretraining saw the test images"
#: config keys this benchmark sets itself; a --cfg-options on them would be silently undone
OWNED_KEYS = ('train_cfg', 'param_scheduler', 'randomness', 'work_dir', 'resume',
              'default_hooks.checkpoint', 'default_hooks.logger', 'train_dataloader.num_workers',
              'train_dataloader.dataset.type', 'train_dataloader.dataset.data_root',
              'train_dataloader.dataset.split', 'train_dataloader.dataset.img_size')


def log(msg: str):
    print(f'[learning {time.strftime("%H:%M:%S")}] {msg}', flush=True)


# ----------------------------------------------------------------------------- data

def dataset_cfg(args, split: str, **extra) -> dict:
    """The scott_mm dataset of ``args.dataset`` for one honest split."""
    if args.dataset == 'flowers102':
        return dict(type='SCOTTFlowers102', data_root=args.data_root, split=split, **extra)
    if args.dataset == 'fashion_mnist':
        return dict(type='SCOTTFashionMNIST', split=split, img_size=args.img_size, **extra)
    return dict(type='SCOTTImageFolder', data_root=args.data_root, split=split, **extra)


def in_memory(args) -> bool:
    return args.dataset == 'fashion_mnist'  # holds decoded img_size arrays: no loading step


def with_loader(args, pipeline: list) -> list:
    steps = [s for s in copy.deepcopy(pipeline) if 'LoadImage' not in str(s['type'])]
    return steps if in_memory(args) else [dict(type='SCOTTLoadImageFromFile')] + steps


def label_subset(args, seed: int) -> dict:
    return dict(num_labels=args.labels, label_seed=seed) if args.labels else {}


def scored_data(args, seed: int) -> dict:
    """Cached centre crops of the labelled split (per seed) and of the scored split."""
    pipeline = ([dict(type='PackInputs')] if in_memory(args)
                else eval_pipeline(args.img_size, load=True))
    cache = os.path.join(args.work_dir, 'eval_cache')
    scored = dict(num_labels=args.test_images, label_seed=0) if args.test_images else {}
    return dict(train=eval_images(dataset_cfg(args, 'train', **label_subset(args, seed)),
                                  pipeline, cache),
                test=eval_images(dataset_cfg(args, args.eval_split, **scored), pipeline, cache))


# ----------------------------------------------------------------------------- configs

def load_config(args):
    from mmengine.config import Config
    path = args.config if os.path.isabs(args.config) else os.path.join(REPO, args.config)
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def schedule(iters: int, warmup_frac: float) -> list:
    """The paper's shape over ``iters`` steps: linear warm-up, flat for 72% of the rest, cosine
    to 1e-5; weight decay 0.04 -> 0.4 linear (configs hold the final value)."""
    warm = max(1, round(iters * warmup_frac))
    flat_end = min(iters - 1, warm + round(0.72 * (iters - warm)))
    steps = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warm)]
    if flat_end > warm:
        steps.append(dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False,
                          begin=flat_end, end=iters))
    steps.append(dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.1,
                      end_factor=1.0, by_epoch=False, begin=0, end=iters))
    return steps


def encoder_width(cfg) -> int:
    from scott_mm.models.backbones.scott import SCOTT
    arch = cfg.model.backbone.arch
    return (SCOTT.arch_zoo[arch] if isinstance(arch, str) else arch)['embed_dims']


def supervised_model(cfg, num_classes: int) -> dict:
    """An ImageClassifier around the pretraining config's encoder (same arch, same input
    normalisation): mean of layer-normed tokens, a linear classifier, label smoothing 0.1."""
    norm = cfg.model.data_preprocessor
    backbone = copy.deepcopy(cfg.model.backbone)
    backbone.update(backend='dense', out_type='avg_featmap', final_norm=True)
    return dict(type='ImageClassifier',
                data_preprocessor=dict(type='ClsDataPreprocessor', mean=norm.mean, std=norm.std,
                                       to_rgb=norm.get('to_rgb', False)),
                backbone=backbone,
                head=dict(type='LinearClsHead', num_classes=num_classes,
                          in_channels=encoder_width(cfg),
                          loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                                    mode='original')))


def one_view_pipeline(pipeline: list) -> list:
    """The pretraining augmentation for one view: the shared crop and flip, then the per-view
    colour stack; no mask."""
    out = []
    for step in pipeline:
        if step['type'] == 'MultiView':
            out += copy.deepcopy(step['transforms'][0])
        elif 'Mask' not in step['type']:
            out.append(copy.deepcopy(step))
    return out


def curve_iters(iters: int, points: int) -> list:
    """The iterations probed along pretraining: ``points`` of them, the last one ``iters``."""
    step = max(1, iters // points)
    return sorted({step * i for i in range(1, points)} | {iters})


def run_config(args, method: str, seed: int, iters: int, work_dir: str, num_classes: int,
               checkpoints: bool = True):
    """The pretraining config (or its supervised twin), iteration-based over ``iters``."""
    cfg = load_config(args)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'learning_{method}_seed{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed, deterministic=False)
    loader = cfg.train_dataloader
    loader.update(num_workers=args.workers, persistent_workers=args.workers > 0)
    if method == 'mim_jepa':
        loader.dataset = dict(dataset_cfg(args, args.pretrain_split),
                              pipeline=with_loader(args, loader.dataset.pipeline))
    else:
        pipeline = with_loader(args, one_view_pipeline(loader.dataset.pipeline))
        loader.dataset = dict(dataset_cfg(args, 'train', **label_subset(args, seed)),
                              pipeline=pipeline)
        cfg.model = supervised_model(cfg, num_classes)
        cfg.find_unused_parameters = True  # the mask token only serves masked pretraining
    if args.batch_size:
        loader.batch_size = args.batch_size
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg.pop(key, None)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h.get('type') != 'LearningMonitorHook' or args.monitor]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = schedule(iters, args.warmup_frac)
    points = curve_iters(iters, args.curve)
    cfg.default_hooks.checkpoint = (
        dict(type='AtomicCheckpointHook', by_epoch=False, interval=points[0],
             max_keep_ckpts=-1, save_last=True) if checkpoints else None)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.log_level = 'ERROR'  # logs stay in the work dirs; this prints progress lines
    cfg.resume = os.path.exists(os.path.join(work_dir, 'last_checkpoint'))
    if args.branch_from and method == 'mim_jepa' and checkpoints and not cfg.resume:
        # a branch's first start: mmengine resumes from load_from (later starts, from its own)
        cfg.load_from = source_checkpoint(args, seed, args.branch_from[1])
        if not os.path.exists(cfg.load_from):
            raise SystemExit(f'--branch-from: {cfg.load_from} does not exist; run the source '
                             f'to iteration {args.branch_from[1]} first (its command, its '
                             '--work-dir).')
        cfg.resume = True
    return cfg


# ----------------------------------------------------------------------------- training

def progress_hooks(label: str, iters: int):
    """Two hooks that time every training iteration (wall clock, data loading included,
    checkpoint saving excluded) and print a progress line with the ETA. The first runs before
    every other hook after an iteration and records its time; the second runs after all of them
    (checkpoints included) and starts the clock for the next iteration."""
    from mmengine.hooks import Hook

    class ProgressHook(Hook):
        priority = 'HIGHEST'

        def before_train(self, runner):
            self.last = time.perf_counter()
            self.times = []
            self.start_iter = runner.iter

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.times.append(time.perf_counter() - self.last)
            done = runner.iter + 1
            if done % 25 == 0 or done == iters:
                # the mean, not the median: the slower iterations add ~10 % to the wall
                # clock of a CPU run, and the ETA should include them
                recent = statistics.fmean(self.times[-100:])
                loss = float(outputs['loss'].detach()) if 'loss' in (outputs or {}) else math.nan
                log(f'{label}: iter {done}/{iters}, loss {loss:.4f}, {recent:.2f} s/iter '
                    f'(mean of the last {min(100, len(self.times))}), '
                    f'ETA {(iters - done) * recent / 60:.1f} min')

    class RestartClock(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            progress.last = time.perf_counter()

    progress = ProgressHook()
    return progress, RestartClock()


def train(args, method: str, seed: int, iters: int, num_classes: int, tag: str = 'run',
          checkpoints: bool = True):
    """Train with a Runner, resuming from ``work_dir``'s last checkpoint if there is one.
    Returns (runner, seconds of each iteration trained now, work_dir, timing dict)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    work_dir = os.path.join(args.work_dir, f'{method}_seed{seed}' if tag == 'run'
                            else f'{method}_{tag}')
    cfg = run_config(args, method, seed, iters, work_dir, num_classes, checkpoints)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    hook, clock = progress_hooks(f'{method} seed {seed}', iters)
    runner.register_hook(hook)
    runner.register_hook(clock)
    start = time.perf_counter()
    runner.train()
    timing = dict(train_wall_s=round(time.perf_counter() - start, 1),
                  resumed_from_iter=hook.start_iter if cfg.resume else None,
                  s_per_iter=round(statistics.median(hook.times), 3) if hook.times else None)
    return runner, hook.times, work_dir, timing


def calibrate(args, method: str, num_classes: int) -> float:
    """Wall seconds per training iteration: the mean of ``--calib-iters`` after two warm-up
    iterations (no checkpoints, so neither method is charged for saving). The mean, because a
    run's wall clock is iterations x mean and slow iterations are not rare (the current bf16
    recipe's runs: mean 8 % above the median for MIM-JEPA, 20 % for supervised training, about
    what MMEngine's 2 s sleep at every epoch end of 63 and 31 batches adds; BatchStream has
    dropped it since); 30 of them, because 6 timed MIM-JEPA 20 % faster than its runs' median."""
    n = args.calib_iters + 2
    shutil.rmtree(os.path.join(args.work_dir, f'{method}_calibration'), ignore_errors=True)
    _, times, work_dir, _ = train(args, method, 0, n, num_classes, tag='calibration',
                                  checkpoints=False)
    shutil.rmtree(work_dir, ignore_errors=True)
    return statistics.fmean(times[2:])


# ----------------------------------------------------------------------------- methods

def untrained_encoder(args, cfg, seed: int) -> Encoder:
    """The encoder exactly as the seed's pretraining run starts it (mmengine seeds, then
    builds the model; tested)."""
    from mmengine.runner import set_random_seed

    from scott_mm.registry import MODELS
    set_random_seed(seed)
    return Encoder(cfg, MODELS.build(cfg.model).backbone.state_dict())


def run_mim_jepa(args, cfg, seed, iters, data, num_classes) -> dict:
    runner, _, work_dir, timing = train(args, 'mim_jepa', seed, iters, num_classes)
    del runner
    curve = []
    points = curve_iters(iters, args.curve)
    for it in points:
        path = (source_checkpoint(args, seed, it) if args.branch_from
                and it <= args.branch_from[1] else os.path.join(work_dir, f'iter_{it}.pth'))
        point = dict(iter=it)
        for name, prefix in ENCODERS.items():
            point[name] = probe_encoder(Encoder(cfg, path, prefix), data, num_classes,
                                        args.attentive_epochs if it == iters else 0)
        log(f'mim_jepa seed {seed} iter {it}: ' + ', '.join(
            f'{n} kNN {point[n]["knn"]:.2f} linear {point[n]["linear"]:.2f}' for n in ENCODERS))
        curve.append(point)
    branched = (dict(branched_from=source_checkpoint(args, seed, args.branch_from[1]))
                if args.branch_from else {})
    return dict(iters=iters, **timing, **branched, context=curve[-1]['context'],
                target=curve[-1]['target'], curve=curve,
                work_dir=os.path.relpath(work_dir, REPO))


def run_supervised(args, cfg, seed, iters, data, num_classes) -> dict:
    """Supervised training, its frozen features probed at the same curve points as
    MIM-JEPA's (kNN and linear), so the two curves compare at equal wall-clock fractions;
    its own head and the attentive probe at the end."""
    runner, _, work_dir, timing = train(args, 'supervised', seed, iters, num_classes)
    model = runner.model.eval()
    encoder = Encoder(cfg, {k[len('backbone.'):]: v for k, v in model.state_dict().items()
                            if k.startswith('backbone.')})
    features = probe_encoder(encoder, data, num_classes, args.attentive_epochs)
    curve = []
    for it in curve_iters(iters, args.curve)[:-1]:
        path = os.path.join(work_dir, f'iter_{it}.pth')
        point = dict(iter=it, features=probe_encoder(Encoder(cfg, path), data, num_classes))
        log(f'supervised seed {seed} iter {it}: kNN {point["features"]["knn"]:.2f} '
            f'linear {point["features"]["linear"]:.2f}')
        curve.append(point)
    curve.append(dict(iter=iters, features={k: v for k, v in features.items()
                                            if k != 'attentive'}))
    return dict(iters=iters, **timing, head=classifier_accuracy(model, encoder, data),
                features=features, curve=curve, work_dir=os.path.relpath(work_dir, REPO))


# ----------------------------------------------------------------------------- main

def parse_args(argv):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dataset', choices=['flowers102', 'fashion_mnist', 'folder'],
                   default='flowers102')
    p.add_argument('--data-root', default='../shared/data/flowers-102')
    p.add_argument('--config', default=None, help='pretraining config (default per dataset)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='overrides of the pretraining config (ablations)')
    p.add_argument('--pretrain-split', default='pretrain',
                   choices=['pretrain', 'all_including_test'])
    p.add_argument('--labels', type=int, default=None,
                   help='class-balanced labelled subset of train (default: all of train)')
    p.add_argument('--eval-split', default='test', choices=['test', 'val'],
                   help="score on 'val' to choose a recipe (ablations); report 'test' once")
    p.add_argument('--test-images', type=int, default=None,
                   help='score a class-balanced subset of this many images (smoke runs)')
    budget = p.add_mutually_exclusive_group()
    budget.add_argument('--iters', type=int, default=None,
                        help='pretraining iterations; supervised gets the same wall-clock time')
    budget.add_argument('--budget-min', type=float, default=None,
                        help='wall-clock minutes of training steps per run (calibrated once)')
    p.add_argument('--supervised-iters', type=int, default=None,
                   help='with --iters: supervised iterations (default: time-matched)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    p.add_argument('--curve', type=int, default=4, help='probe points along pretraining')
    p.add_argument('--warmup-frac', type=float, default=40 / 300)
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--attentive-epochs', type=int, default=100, help='0: no attentive probe')
    p.add_argument('--workers', type=int, default=1, help='dataloader workers for training')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--calib-iters', type=int, default=30,
                   help='timed iterations per method (after 2 warm-up ones) for the budget')
    p.add_argument('--monitor', action='store_true', help="keep the config's monitor hook")
    p.add_argument('--branch-from', default=None, metavar='WORK_DIR@ITER',
                   help="start each seed's MIM-JEPA run from another run's checkpoint at ITER, "
                        'a curve point (the curve up to it is probed there), and train on: '
                        'a change that acts only after ITER costs only the iterations after '
                        'it. The other run must train the same setup (up to --cfg-options, '
                        'which must train alike until ITER)')
    p.add_argument('--work-dir', default=None)
    p.add_argument('--out', default=None)
    p.add_argument('--replot', action='store_true', help='only redraw table and PNG from --out')
    args = p.parse_args(argv)
    args.config = args.config or DEFAULT_CONFIG[args.dataset]
    name = os.path.splitext(os.path.basename(args.out or f'learning_{args.dataset}.json'))[0]
    args.out = args.out or f'benchmarks/results/{name}.json'
    args.work_dir = args.work_dir or f'work_dirs/learning/{name}'
    if not (args.iters or args.budget_min or args.replot):
        p.error('give a budget: --iters N or --budget-min M')
    if args.calib_iters < 1:
        p.error(f'--calib-iters {args.calib_iters}: time at least 1 iteration (the budget and '
                'the supervised count are planned from their mean)')
    if args.branch_from:
        source, _, at = args.branch_from.rpartition('@')
        if not (source and at.isdigit()):
            p.error(f'--branch-from {args.branch_from}: give WORK_DIR@ITER, e.g. '
                    'work_dirs/learning/C5@3750')
        args.branch_from = (source, int(at))
        if not args.iters:
            p.error('--branch-from needs --iters, the same as the source run\'s')
    owned = [k for k in args.cfg_options if any(k == o or k.startswith(o + '.')
                                                for o in OWNED_KEYS)]
    if owned:
        p.error(f'--cfg-options {owned}: the benchmark sets these itself; use --iters / '
                '--budget-min, --warmup-frac, --batch-size, --workers or --pretrain-split')
    return args


def reproducing_command(argv, runs, seeds, methods) -> str:
    """One command for the whole JSON: this invocation's options with ``--seeds`` and
    ``--methods`` widened to every run the JSON already holds. A JSON often grows over several
    invocations (one seed here, one method there); the command printed beside its numbers must
    reproduce all of them, and a rerun skips the finished ones anyway."""
    keys = [key.split('/seed') for key in runs]
    seeds = sorted({int(s) for _, s in keys} | set(seeds))
    methods = [m for m in METHODS if m in {m for m, _ in keys} | set(methods)]
    kept, skipping = [], False
    for arg in argv:
        if arg.split('=')[0] in ('--seeds', '--methods'):
            skipping = True
            continue
        if skipping and arg.startswith('--'):
            skipping = False
        if not skipping:
            kept.append(arg)
    return PROGRAM + ' '.join(kept + ['--seeds', *map(str, seeds), '--methods', *methods])


def setup_of(args) -> dict:
    """Everything that makes two runs comparable; a JSON or work dir of another setup is
    refused rather than mixed in."""
    setup = dict(dataset=args.dataset, data_root=os.path.abspath(args.data_root),
                 config=args.config, cfg_options=args.cfg_options,
                 pretrain_split=args.pretrain_split, labels=args.labels,
                 eval_split=args.eval_split, test_images=args.test_images, iters=args.iters,
                 supervised_iters=args.supervised_iters, budget_min=args.budget_min,
                 curve=args.curve, warmup_frac=args.warmup_frac, batch_size=args.batch_size,
                 attentive_epochs=args.attentive_epochs)
    if args.branch_from:  # only when given: older JSONs keep their setup
        setup['branch_from'] = f'{args.branch_from[0]}@{args.branch_from[1]}'
    return setup


# what a MIM-JEPA run's training depends on, besides its config's options
TRAINING_SETUP = ('dataset', 'data_root', 'config', 'pretrain_split', 'iters', 'curve',
                  'warmup_frac', 'batch_size')


def check_branch_source(args, setup: dict):
    """Refuse a ``--branch-from`` run that did not train as this one would until ITER."""
    source, at = args.branch_from
    path = os.path.join(source, 'setup.json')
    if not os.path.exists(path):
        raise SystemExit(f'--branch-from: {path} does not exist; give the --work-dir of a '
                         'finished or running benchmarks.learning run.')
    with open(path) as f:
        theirs = json.load(f)
    differ = [k for k in TRAINING_SETUP if theirs.get(k) != setup.get(k)]
    if differ:
        raise SystemExit(f'--branch-from: {source} trained another setup ({", ".join(differ)}: '
                         f'{[theirs.get(k) for k in differ]} there, '
                         f'{[setup.get(k) for k in differ]} here); branch only from a run of '
                         'the same setup.')
    points = curve_iters(args.iters, args.curve)
    if at not in points[:-1]:
        raise SystemExit(f'--branch-from {source}@{at}: ITER must be a checkpoint before the '
                         f'end, one of {points[:-1]}.')


def source_checkpoint(args, seed: int, it: int) -> str:
    """The ``--branch-from`` run's checkpoint of ``seed`` at iteration ``it``."""
    return os.path.join(args.branch_from[0], f'mim_jepa_seed{seed}', f'iter_{it}.pth')


def claim_work_dir(args, setup: dict):
    """Refuse to resume checkpoints that another setup left in the work dir."""
    path = os.path.join(args.work_dir, 'setup.json')
    if os.path.exists(path):
        with open(path) as f:
            if json.load(f) != json.loads(json.dumps(setup)):
                raise SystemExit(f'{args.work_dir} holds checkpoints of another setup ({path}); '
                                 'pass another --work-dir, or delete it.')
        return
    os.makedirs(args.work_dir, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(setup, f, indent=1)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.replot:
        with open(args.out) as f:
            data = json.load(f)
        print_summary(data)
        plot(data, os.path.splitext(args.out)[0] + '.png')
        return data
    torch.set_num_threads(args.threads)
    import scott_mm  # noqa: F401  (registers everything)
    from mmengine.registry import init_default_scope

    from scott_mm.registry import DATASETS
    init_default_scope('mmpretrain')  # transforms resolve as in the configs
    cfg = load_config(args)
    if cfg.optim_wrapper.get('type') == 'BF16OptimWrapper':
        from scott_mm.engine.bf16_optim_wrapper import slow_bf16_warning
        warning = slow_bf16_warning()  # the runs log at level ERROR: say it here
        if warning:
            log(f'WARNING: {warning}')
    img = cfg.model.backbone.img_size
    args.img_size = img if isinstance(img, int) else img[0]
    num_classes = len(DATASETS.build(dataset_cfg(args, 'train')).metainfo['classes'])

    protocol = ('honest: pretraining on train + val only' if args.pretrain_split == 'pretrain'
                else AUTHORS_PROTOCOL)
    if args.eval_split == 'val':
        protocol += ('; scored on val to choose a recipe, not test (pretraining saw the val '
                     'images, unlabelled)')
    setup = setup_of(args)
    budget = f'{args.iters} iterations' if args.iters else f'{args.budget_min:g} min'
    title = (f'{args.dataset} {args.img_size}px, {args.config}'
             f'{" " + str(args.cfg_options) if args.cfg_options else ""}; {budget} of '
             f'training per run; {protocol}')
    results = Results(args.out, dict(
        benchmark='learning', title=title, protocol=protocol, setup=setup, machine=machine()),
        command=lambda runs: reproducing_command(argv, runs, args.seeds, args.methods))
    results.invoked(PROGRAM + ' '.join(argv))
    results.data['command'] = results.command(results.data['runs'])
    if args.branch_from:
        check_branch_source(args, setup)
    claim_work_dir(args, setup)

    start = time.perf_counter()
    plan_iterations(args, results, num_classes)
    planned = results.data['planned_iters']

    for seed in args.seeds:
        data = None
        for method in args.methods:
            if results.done(method, seed):
                continue
            data = data or scored_data(args, seed)
            log(f'{method} seed {seed}: start ({time.perf_counter() - start:.0f} s into this '
                'run)')
            if method == 'raw_pixels':
                result = raw_pixels(data, num_classes)
            elif method == 'untrained':
                result = probe_encoder(untrained_encoder(args, cfg, seed), data, num_classes,
                                       args.attentive_epochs)
            elif method == 'mim_jepa':
                result = run_mim_jepa(args, cfg, seed, planned[method], data, num_classes)
            else:
                result = run_supervised(args, cfg, seed, planned[method], data, num_classes)
            result['machine'] = machine()
            results.add(method, seed, result)
            log(f'{method} seed {seed}: done: ' + json.dumps(
                {k: v for k, v in result.items() if k not in ('curve', 'machine')})[:400])
    results.save()
    print_summary(results.data)
    plot(results.data, os.path.splitext(args.out)[0] + '.png')
    log(f'wrote {args.out} ({(time.perf_counter() - start) / 60:.1f} min)')
    return results.data


def plan_iterations(args, results, num_classes: int):
    """Iterations per method, fixed once per JSON. ``--budget-min``: each method's timed step
    cost converts the minutes. ``--iters N``: N pretraining iterations, and supervised training
    gets the same wall-clock time (N times the ratio of the two timed step costs), unless
    ``--supervised-iters`` says otherwise."""
    planned = results.data.setdefault('planned_iters', {})
    timed = results.data.setdefault('calibration_s_per_iter', {})
    wanted = [m for m in ('mim_jepa', 'supervised') if m in args.methods and m not in planned]
    if not wanted:
        return
    if args.iters and args.supervised_iters:
        planned.update(mim_jepa=args.iters, supervised=args.supervised_iters)
    else:
        for method in ('mim_jepa', 'supervised'):
            timed[method] = timed.get(method) or calibrate(args, method, num_classes)
        if args.iters:
            planned.update(mim_jepa=args.iters, supervised=max(1, round(
                args.iters * timed['mim_jepa'] / timed['supervised'])))
        else:
            planned.update({m: max(1, int(args.budget_min * 60 / timed[m])) for m in timed})
        log(f'timed s/iter {timed} -> iterations {planned}')
    results.save()


if __name__ == '__main__':
    main()
