"""Training curves from mmengine work dirs: loss, collapse diagnostics, probe accuracy.

    python tools/plot_logs.py work_dirs/demo/pretrain --out curves.png
    python tools/plot_logs.py work_dirs/demo/pretrain work_dirs/demo/probe_pretrained \
        --keys loss target_std target_rank accuracy/top1

mmengine's ``LocalVisBackend`` (on in every scott_mm config) writes one JSON object per logged
step to ``<work_dir>/<timestamp>/vis_data/scalars.json``; a resumed run adds a new timestamp
folder, and all of them are read in order. Training lines carry ``iter``; validation lines
(``accuracy/top1`` ...) carry only ``step``, the epoch. One panel per key, one line per work dir;
keys a work dir never logged are skipped. ``target_std`` near 0 or ``target_rank`` near 1 means
the target features collapsed (see scott_mm/evaluation/diagnostics.py).

Runs with ``LearningMonitorHook`` (scott_mm/engine/hooks/learning_monitor_hook.py) also get
panels that group its keys (:data:`PANELS`): ``monitor/knn`` (kNN accuracy of the context and
target encoders, the curve that shows learning), ``monitor/losses`` (the loss on a fixed batch
against the position-only and other-image baselines it must beat) and ``monitor/ranks``.
``--keys`` takes panel names and single keys alike.

TensorBoard instead (or as well): ``pip install tensorboard`` (not a scott_mm requirement), then
in a config ``visualizer = dict(type='UniversalVisualizer', vis_backends=[
dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])`` and
``tensorboard --logdir work_dirs/<name>``.
"""
import argparse
import glob
import json
import math
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

DEFAULT_KEYS = ('loss', 'target_std', 'target_rank', 'lr', 'accuracy/top1', 'monitor/knn',
                'monitor/losses', 'monitor/ranks')
# Panels that draw several keys against each other; any other panel name is a single key.
PANELS = {
    'monitor/knn': ('monitor/knn_context', 'monitor/knn_target'),
    'monitor/losses': ('monitor/loss', 'monitor/loss_position_only',
                       'monitor/loss_other_context'),
    'monitor/ranks': ('monitor/context_rank', 'monitor/target_rank'),
}
PANEL_INCHES = (3.2, 2.4)  # (width, height) of one panel
COLUMNS = 3
DPI = 100


def figure_pixels(num_panels):
    """(width, height) of the PNG in pixels for ``num_panels`` panels, COLUMNS per row."""
    cols = min(COLUMNS, num_panels)
    rows = math.ceil(num_panels / COLUMNS)
    return (round(cols * PANEL_INCHES[0] * DPI), round(rows * PANEL_INCHES[1] * DPI))


def scalar_files(work_dir):
    """Every scalars.json of a work dir, oldest run first (timestamp folder names sort)."""
    return sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))


def read_scalars(work_dir):
    """{key: [(x, value), ...]}: x is ``iter`` for training lines, ``step`` (epoch) otherwise.

    Lines that are not JSON objects (a run killed mid-write) are skipped.
    """
    files = scalar_files(work_dir)
    if not files:
        raise FileNotFoundError(f'plot_logs: no */vis_data/scalars.json under {work_dir} '
                                "(is LocalVisBackend among the config's vis_backends?)")
    series = {}
    for path in files:
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(record, dict):
                    continue
                x = record.get('iter', record.get('step'))
                for key, value in record.items():
                    if key in ('iter', 'step', 'epoch') or not isinstance(value, (int, float)):
                        continue
                    series.setdefault(key, []).append((x, value, 'iter' in record))
    return series


def panel_keys(panel):
    """The keys drawn in a panel: its group in :data:`PANELS`, else the panel name itself."""
    return PANELS.get(panel, (panel, ))


def plot(runs, keys, out):
    """``runs``: {label: series}. One panel per key (or :data:`PANELS` group) that some run has;
    returns the panels drawn."""
    keys = [k for k in keys if any(m in s for s in runs.values() for m in panel_keys(k))]
    if not keys:
        raise ValueError('plot_logs: none of the requested keys was logged')
    width, height = figure_pixels(len(keys))
    rows = math.ceil(len(keys) / COLUMNS)
    cols = min(COLUMNS, len(keys))
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(width / DPI, height / DPI))
    for ax, key in zip(axes.flat, keys):
        by_iter = True
        members = panel_keys(key)
        for label, series in runs.items():
            for member in members:
                points = series.get(member)
                if not points:
                    continue
                by_iter = points[0][2]
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                name = member.split('/')[-1] if len(members) > 1 else None
                if len(runs) > 1:
                    name = f'{label}: {name}' if name else label
                ax.plot(xs, ys, marker='o' if len(xs) < 30 else None, markersize=3, label=name)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel('iteration' if by_iter else 'epoch', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.yaxis.get_offset_text().set_fontsize(7)
        ax.grid(alpha=0.3)
        if key == 'lr':
            ax.ticklabel_format(axis='y', style='sci', scilimits=(0, 0))
        if len(runs) > 1 or len(members) > 1:
            ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return keys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='mmengine work dirs (one line per work dir)')
    parser.add_argument('--keys', nargs='+', default=list(DEFAULT_KEYS),
                        help=f'scalars to plot (default: {" ".join(DEFAULT_KEYS)})')
    parser.add_argument('--out', default='curves.png', help='output PNG')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runs = {osp.basename(osp.normpath(w)): read_scalars(w) for w in args.work_dirs}
    keys = plot(runs, args.keys, args.out)
    print(f'wrote {args.out} ({", ".join(keys)}; {figure_pixels(len(keys))} px)')
    return keys


if __name__ == '__main__':
    main()
