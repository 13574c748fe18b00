"""Few labels, same CPU time: does MIM-JEPA pretraining beat supervised training from scratch?

    python -m benchmarks.few_labels [--budget 1800] [--seeds 0 1 2] [--labels 1000] [--out PATH]

On the embedded Fashion-MNIST (32 px, the demo's SCOTT: D=128, 6 layers, 4 px stride), with a
fixed budget of labels (``--labels``, class-balanced, drawn per seed from the 'train' split) and
a fixed budget of encoder-training CPU time (``--budget`` CPU seconds, ``time.process_time``:
every thread of this process, data loading included since it runs in-process):

  a) ``mim_jepa+probe``: MIM-JEPA pretraining on all 60,000 unlabelled training photos for the
     budget, then a linear probe on the frozen context encoder's features of the labelled photos;
  b) ``supervised``: the same SCOTT trained end to end on the labelled photos for the budget
     (configs/supervised_demo.py's recipe);
  c) ``random+probe``: the same SCOTT left at its random initialisation + the same probe.

The probe is multinomial logistic regression (L-BFGS, fixed L2) on layer-normed, averaged
tokens, so it needs no validation labels; (b) has no model selection either. The number of
iterations that fits the budget is measured once per method (a few timed iterations), schedules
(the paper's warm-up / flat / cosine shape) are laid out over it, and a hook stops training when
the budget is spent in any case. Prints mean +- std over seeds, writes JSON and a PNG plot.
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # idle OpenMP threads must not burn budget

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from benchmarks.common import machine, print_table, write_json  # noqa: E402
from benchmarks.probes import linear_probe_accuracy  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ('mim_jepa+probe', 'supervised', 'random+probe')


def paper_schedule(iters: int, weight_decay: bool):
    """Warm-up over 40/300 of training, flat for 72% of the rest, cosine to 1e-5 (iter-based);
    optionally weight decay 0.04 -> 0.4 (configs hold the final value)."""
    warm = max(1, round(iters * 40 / 300))
    flat_end = min(iters - 1, warm + round(0.72 * (iters - warm)))
    steps = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warm)]
    if flat_end > warm:
        steps.append(dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False,
                          begin=flat_end, end=iters))
    if weight_decay:
        steps.append(dict(type='LinearParamScheduler', param_name='weight_decay',
                          start_factor=0.1, end_factor=1.0, by_epoch=False, begin=0, end=iters))
    return steps


def make_budget_hook(budget_s: float):
    """A hook that times each training iteration in CPU seconds and stops at the budget."""
    from mmengine.hooks import Hook

    class CPUTimeBudgetHook(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner):
            self.start = self.last = time.process_time()
            self.wall_start = time.perf_counter()
            self.iter_times = []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            now = time.process_time()
            self.iter_times.append(now - self.last)
            self.last = now
            if now - self.start >= budget_s:
                runner.train_loop.stop_training = True

        def after_train(self, runner):
            self.used = time.process_time() - self.start
            self.wall = time.perf_counter() - self.wall_start

    return CPUTimeBudgetHook()


def runner_config(method: str, seed: int, iters: int, args, tag: str):
    """The shipped demo config of ``method``, iteration-based over ``iters`` steps."""
    from mmengine.config import Config
    name = 'scott_jepa_demo' if method == 'mim_jepa+probe' else 'supervised_demo'
    cfg = Config.fromfile(os.path.join(REPO, 'configs', f'{name}.py'))
    cfg.work_dir = os.path.join(args.work_dir, f'seed{seed}', f'{name}_{tag}')
    cfg.experiment_name = f'few_labels_{name}_{tag}_seed{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.model.backbone.backend = args.backend
    loader = cfg.train_dataloader
    loader.update(num_workers=0, persistent_workers=False)  # data loading counts in CPU time
    if method == 'mim_jepa+probe':
        loader.dataset.pop('indices', None)  # every unlabelled training photo
        if args.pretrain_images:
            loader.dataset.indices = args.pretrain_images
    else:
        loader.dataset.update(num_labels=args.labels, label_seed=seed)
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None  # no model selection
        if args.test_images:
            cfg.test_dataloader.dataset.indices = args.test_images
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = paper_schedule(iters, weight_decay=method == 'mim_jepa+probe')
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.log_level = 'WARNING'  # the runs' logs stay in their work dirs; the table is the output
    return cfg


def train_for_budget(method: str, seed: int, iters: int, budget_s: float, args, tag='run'):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    cfg = runner_config(method, seed, iters, args, tag)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    hook = make_budget_hook(budget_s)
    runner.register_hook(hook)
    runner.train()
    return runner, hook


def calibrate(method: str, args) -> float:
    """CPU seconds per training iteration (median of a few, after two warm-up iterations)."""
    n = args.calib_iters + 2
    _, hook = train_for_budget(method, 0, n, float('inf'), args, tag='calibration')
    return statistics.median(hook.iter_times[2:])


def fashion_mnist(split: str, seed: int, args, num_labels=None):
    from scott_mm.registry import DATASETS
    cfg = dict(type='SCOTTFashionMNIST', split=split, img_size=32,
               pipeline=[dict(type='PackInputs')])
    if num_labels:
        cfg.update(num_labels=num_labels, label_seed=seed)
    elif split == 'test' and args.test_images:
        cfg.update(indices=args.test_images)
    return DATASETS.build(cfg)


def probe_accuracy(model, labelled, test) -> float:
    from scott_mm.apis import extract_features
    feats = [extract_features(model, None, d, batch_size=250, progress=False)
             for d in (labelled, test)]
    labels = [torch.as_tensor(d.get_gt_labels(), dtype=torch.long) for d in (labelled, test)]
    return linear_probe_accuracy(feats[0], labels[0], feats[1], labels[1],
                                 num_classes=int(labels[0].max()) + 1)


def run_seed(seed: int, iters: dict, args) -> dict:
    """Accuracy, iterations and CPU / wall seconds of every method for one seed."""
    from mmengine.config import Config
    from scott_mm.registry import MODELS
    labelled = fashion_mnist('train', seed, args, num_labels=args.labels)
    test = fashion_mnist('test', seed, args)
    out = {}

    model_cfg = Config.fromfile(os.path.join(REPO, 'configs', 'scott_jepa_demo.py')).model
    model_cfg.backbone.backend = args.backend
    torch.manual_seed(seed)  # c) the encoder as pretraining would start it
    untrained = MODELS.build(model_cfg)
    out['random+probe'] = dict(accuracy=probe_accuracy(untrained, labelled, test), iters=0,
                               cpu_s=0.0, wall_s=0.0)

    runner, hook = train_for_budget('mim_jepa+probe', seed, iters['mim_jepa+probe'],
                                    args.budget, args)
    out['mim_jepa+probe'] = dict(accuracy=probe_accuracy(runner.model, labelled, test),
                                 iters=runner.iter, cpu_s=hook.used, wall_s=hook.wall)

    runner, hook = train_for_budget('supervised', seed, iters['supervised'], args.budget, args)
    out['supervised'] = dict(accuracy=runner.test()['accuracy/top1'], iters=runner.iter,
                             cpu_s=hook.used, wall_s=hook.wall)
    for method, r in out.items():
        print(f'[few_labels] seed {seed} {method:<15} {r["accuracy"]:6.2f} %  '
              f'({r["iters"]} iters, {r["cpu_s"]:.0f} CPU s)', flush=True)
    return out


def plot(results: dict, path: str, title: str):
    """Mean +- std per method, each seed as a point, one seed's points joined (they are paired:
    same labelled photos, same initial weights). The y axis is zoomed to the data."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    x = range(len(METHODS))
    for seed_accs in zip(*(results[m]['accuracy'] for m in METHODS)):
        ax.plot(x, seed_accs, color='lightgray', marker='o', markersize=4, zorder=1)
    for i, method in enumerate(METHODS):
        mean, std = mean_std(results[method]['accuracy'])
        ax.errorbar(i, mean, yerr=std, fmt='s', capsize=6, markersize=8, zorder=2,
                    color=('tab:blue', 'tab:orange', 'tab:gray')[i])
    ax.set_xticks(list(x), METHODS)
    ax.set_xlim(-0.5, len(METHODS) - 0.5)
    ax.set_ylabel('Fashion-MNIST test accuracy (%)')
    ax.set_title(title + '\n(squares: mean +- std over seeds; grey: one seed)', fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f'wrote {path}')


def mean_std(values):
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--budget', type=float, default=1800,
                        help='CPU seconds of encoder training per method and seed')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--labels', type=int, default=1000, help='labelled training photos')
    parser.add_argument('--threads', type=int, default=2, help='torch threads')
    parser.add_argument('--backend', default='dense', choices=['dense', 'minkowski'],
                        help='tokenizer backend (same function; dense is faster at 32 px)')
    parser.add_argument('--calib-iters', type=int, default=5)
    parser.add_argument('--test-images', type=int, default=None,
                        help='evaluate on the first N test photos only (smoke runs)')
    parser.add_argument('--pretrain-images', type=int, default=None,
                        help='pretrain on the first N training photos only (smoke runs)')
    parser.add_argument('--work-dir', default='work_dirs/few_labels')
    parser.add_argument('--out', default='benchmarks/results/few_labels.json')
    parser.add_argument('--plot', default=None, help='PNG path (default: --out with .png)')
    parser.add_argument('--replot', action='store_true',
                        help='only redraw the PNG from the JSON at --out')
    args = parser.parse_args(argv)
    if args.replot:
        with open(args.out) as f:
            saved = json.load(f)
        plot(saved['results'], args.plot or os.path.splitext(args.out)[0] + '.png',
             saved['title'])
        return saved['results']
    torch.set_num_threads(args.threads)
    import scott_mm  # noqa: F401  (registers everything)

    start = time.perf_counter()
    sec_per_iter = {m: calibrate(m, args) for m in ('mim_jepa+probe', 'supervised')}
    iters = {m: max(1, int(args.budget / s)) for m, s in sec_per_iter.items()}
    print(f'[few_labels] CPU s / iteration: {sec_per_iter}; iterations in the budget: {iters}',
          flush=True)
    per_seed = {seed: run_seed(seed, iters, args) for seed in args.seeds}

    results = {m: {k: [per_seed[s][m][k] for s in args.seeds]
                   for k in ('accuracy', 'iters', 'cpu_s', 'wall_s')} for m in METHODS}
    rows, table = [], []  # rows: numbers for JSON readers (tools/update_readme_results.py)
    for method in METHODS:
        r = results[method]
        mean, std = mean_std(r['accuracy'])
        r.update(mean=mean, std=std)
        joined = dict(iters='/'.join(map(str, r['iters'])),
                      cpu='/'.join(f'{c:.0f}' for c in r['cpu_s']))
        rows.append(dict(method=method, top1_mean=mean, top1_std=std,
                         top1_per_seed='/'.join(f'{a:.2f}' for a in r['accuracy']),
                         iterations=joined['iters'], cpu_s=joined['cpu'],
                         labels=args.labels, budget_cpu_s=args.budget))
        table.append({'method': method, 'test top-1 (%)': f'{mean:.2f} +- {std:.2f}',
                      'iterations': joined['iters'], 'CPU s': joined['cpu']})
    title = (f'Fashion-MNIST, {args.labels} labels, {args.budget:.0f} CPU s per encoder, '
             f'{len(args.seeds)} seeds')
    print(f'\n{title} (mean +- std over seeds {args.seeds})')
    print_table(table, ['method', 'test top-1 (%)', 'iterations', 'CPU s'])
    write_json(args.out, dict(
        benchmark='few_labels', title=title,
        columns=['method', 'top1_mean', 'top1_std', 'top1_per_seed', 'iterations', 'cpu_s'],
        command=' '.join(['python -m benchmarks.few_labels'] + (argv or sys.argv[1:])),
        budget_cpu_s=args.budget, labels=args.labels, seeds=args.seeds, threads=args.threads,
        backend=args.backend, test_images=args.test_images or 10000,
        pretrain_images=args.pretrain_images or 60000, cpu_s_per_iter=sec_per_iter,
        planned_iters=iters, probe='logistic regression, L-BFGS, L2 1e-3, standardised',
        rows=rows, results=results, total_wall_s=time.perf_counter() - start,
        machine=machine()))
    plot(results, args.plot or os.path.splitext(args.out)[0] + '.png', title)
    return results


if __name__ == '__main__':
    main()
