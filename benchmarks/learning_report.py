"""Results of benchmarks/learning.py: the JSON that grows run by run, its summary table and
its plot."""
import fcntl
import json
import os
import statistics

from benchmarks.common import print_table


class Results:
    """The JSON file, rewritten atomically after every finished (method, seed). Processes that
    run different seeds into one file (one thread each, side by side) merge: each adds its run
    to what is on disk, under a lock, so none drops the others'."""

    def __init__(self, path: str, header: dict, command=None):
        """command: runs -> the one command that reproduces them all (kept current on save)."""
        self.path, self.command = path, command
        self.data = dict(header, runs={}, invocations=[])
        self.unsaved_invocations = []
        if os.path.exists(path):
            with open(path) as f:
                old = json.load(f)
            if old.get('setup') != json.loads(json.dumps(header['setup'])):
                raise SystemExit(
                    f'{path} holds results of another setup:\n  saved: {old.get("setup")}\n  '
                    f'now:   {header["setup"]}\nPass --out with a new file, or delete it.')
            self.data['runs'] = old.get('runs', {})
            self.data['invocations'] = old.get('invocations', [])  # every command that ran
            self.data['planned_iters'] = old.get('planned_iters', {})
            # the step costs that planned those iterations: a rerun keeps the record
            self.data['calibration_s_per_iter'] = old.get('calibration_s_per_iter', {})

    def done(self, method, seed) -> bool:
        return f'{method}/seed{seed}' in self.data['runs']

    def invoked(self, command: str):
        """Record a command that ran on this file (every one, reruns included)."""
        self.data['invocations'].append(command)
        self.unsaved_invocations.append(command)

    def add(self, method, seed, result):
        self.data['runs'][f'{method}/seed{seed}'] = result
        self.save()

    def save(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path + '.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if os.path.exists(self.path):  # what other processes added meanwhile
                with open(self.path) as f:
                    on_disk = json.load(f)
                self.data['runs'] = {**on_disk.get('runs', {}), **self.data['runs']}
                self.data['invocations'] = (on_disk.get('invocations', [])
                                            + self.unsaved_invocations)
            if self.command:
                self.data['command'] = self.command(self.data['runs'])
            self.data['rows'] = summary_rows(self.data)
            self.data['columns'] = COLUMNS
            with open(self.path + '.tmp', 'w') as f:
                json.dump(self.data, f, indent=1)
            os.replace(self.path + '.tmp', self.path)
            self.unsaved_invocations = []


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


PROBES = ('knn', 'linear', 'attentive', 'head')
DISPLAY = {'kNN (%)': 'knn', 'linear (%)': 'linear', 'attentive (%)': 'attentive',
           'own head (%)': 'head'}
COLUMNS = ['method', 'seeds', 'iters'] + list(DISPLAY)
#: (row name, method, where its probe results are in one seed's result)
ROWS = [('raw_pixels', 'raw_pixels', None), ('untrained', 'untrained', None),
        ('mim_jepa (context)', 'mim_jepa', 'context'),
        ('mim_jepa (target)', 'mim_jepa', 'target'),
        ('supervised', 'supervised', 'features')]


def seeds_of(runs: dict, method: str) -> list:
    return sorted(int(k.split('/seed')[1]) for k in runs if k.startswith(method + '/'))


def probe_values(result: dict, part) -> dict:
    values = dict(result[part] if part else result)
    if 'head' in result:
        values['head'] = result['head']  # the supervised model's own classifier
    return values


def summary_rows(data: dict) -> list:
    """One row per (method, encoder): mean +- std over the seeds that finished; then, for the
    question the benchmark asks, MIM-JEPA minus untrained paired by seed (same initial
    weights, same labels)."""
    runs = data['runs']
    rows = []
    for name, method, part in ROWS:
        seeds = seeds_of(runs, method)
        if seeds:
            per_seed = [probe_values(runs[f'{method}/seed{s}'], part) for s in seeds]
            rows.append(row(name, seeds, runs[f'{method}/seed{seeds[0]}'].get('iters', 0),
                            per_seed))
    paired = sorted(set(seeds_of(runs, 'mim_jepa')) & set(seeds_of(runs, 'untrained')))
    for part in ('context', 'target'):
        if paired:
            diffs = [{p: runs[f'mim_jepa/seed{s}'][part][p] - runs[f'untrained/seed{s}'][p]
                      for p in PROBES[:3] if p in runs[f'mim_jepa/seed{s}'][part]
                      and p in runs[f'untrained/seed{s}']} for s in paired]
            rows.append(row(f'mim_jepa ({part}) - untrained, paired', paired,
                            runs[f'mim_jepa/seed{paired[0]}']['iters'], diffs))
    return rows


def row(name: str, seeds: list, iters: int, per_seed: list) -> dict:
    out = dict(method=name, seeds='/'.join(map(str, seeds)), iters=iters)
    for probe in PROBES:
        mean, std = mean_std([r.get(probe) for r in per_seed])
        out[probe] = None if mean is None else round(mean, 2)
        out[probe + '_std'] = None if std is None else round(std, 2)
        out[probe + '_per_seed'] = [None if r.get(probe) is None else round(r[probe], 2)
                                    for r in per_seed]
    out.update({column: fmt(out, probe) for column, probe in DISPLAY.items()})
    return out


def fmt(row, probe) -> str:
    """'mean +- std' over seeds; one seed shows its value alone; '-' where it does not apply."""
    if row[probe] is None:
        return '-'
    if row[probe + '_std'] is None:
        return f'{row[probe]:.2f}'
    return f'{row[probe]:.2f} +- {row[probe + "_std"]:.2f}'


def print_summary(data: dict):
    print(f'\n{data["title"]}\n(top-1 %, mean +- std over the seeds listed)')
    print_table(data['rows'], COLUMNS)


def plot(data: dict, path: str):
    """Left: final accuracies per method and probe. Right: the learning curve of MIM-JEPA
    (mean over seeds; iteration 0 is the untrained encoder), supervised training's curve dashed
    (its own head as a line for runs recorded before it had a curve)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    rows = [r for r in data['rows'] if 'paired' not in r['method']]
    width = 0.8 / max(1, len(rows))
    for i, r in enumerate(rows):
        shown = [(j, r[p], r[p + '_std'] or 0) for j, p in enumerate(PROBES)
                 if r[p] is not None]
        ax1.bar([j + (i - len(rows) / 2 + 0.5) * width for j, _, _ in shown],
                [y for _, y, _ in shown], width, yerr=[e for _, _, e in shown],
                label=r['method'], capsize=2)
    ax1.set_xticks(range(len(PROBES)), ['kNN', 'linear', 'attentive', 'own head'])
    ax1.set_ylabel('top-1 (%)')
    ax1.legend(fontsize=7)
    runs = data['runs']
    jepa = [runs[f'mim_jepa/seed{s}'] for s in seeds_of(runs, 'mim_jepa')]
    untrained = [runs[f'untrained/seed{s}'] for s in seeds_of(runs, 'untrained')]
    for enc, style in (('context', '-'), ('target', ':')):
        for probe, colour in (('knn', 'tab:blue'), ('linear', 'tab:orange')):
            by_iter = {}
            for r in jepa:
                for point in r['curve']:
                    by_iter.setdefault(point['iter'], []).append(point[enc][probe])
            if untrained:
                by_iter[0] = [u[probe] for u in untrained]
            its = sorted(by_iter)
            if its:
                ax2.plot(its, [statistics.mean(by_iter[i]) for i in its], style, color=colour,
                         marker='o', markersize=3, label=f'{enc} {probe}')
    sup_runs = [runs[f'supervised/seed{s}'] for s in seeds_of(runs, 'supervised')]
    sup_curves = [r for r in sup_runs if 'curve' in r]
    if jepa and sup_curves:
        # supervised steps are cheaper: its points sit where MIM-JEPA had spent the same time
        scale = jepa[0]['iters'] / sup_curves[0]['iters']
        for probe, colour in (('knn', 'tab:blue'), ('linear', 'tab:orange')):
            by_iter = {}
            for r in sup_curves:
                for point in r['curve']:
                    by_iter.setdefault(point['iter'], []).append(point['features'][probe])
            its = sorted(by_iter)
            ax2.plot([i * scale for i in its], [statistics.mean(by_iter[i]) for i in its], '--',
                     color=colour, marker='s', markersize=3, label=f'supervised {probe}')
    elif sup_runs:
        ax2.axhline(statistics.mean(r['head'] for r in sup_runs), color='tab:red', ls='--',
                    label='supervised (own head)')
    ax2.set_xlabel('pretraining iteration (0 = untrained; supervised at equal wall-clock)')
    ax2.set_ylabel('top-1 (%)')
    ax2.legend(fontsize=7)
    fig.suptitle(data['title'], fontsize=8, wrap=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f'wrote {path}')
