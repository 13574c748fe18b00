"""The ablation table that chose the CPU-scale recipe: one row per benchmarks/learning.py run.

    python -m benchmarks.learning_ablations benchmarks/results/learning/ablations/*.json \
        [--seeds 0 1] [--out benchmarks/results/learning_ablations.json]

Each input is one variant, run with ``--eval-split val`` (recipes are chosen on the validation
split, never on test) and a changed ``--cfg-options``. A variant is compared with the untrained
encoder of its own file when it has one (a changed architecture), else with that of the file
named ``--base``. Rows keep the order of the arguments; with several ``--seeds`` each variant
has a row per seed, "vs base" pairs it with the base variant on the same seed (the seeds differ
by more than most changes do), and a ``mean`` row gives mean +- std over the seeds.
"""
import argparse
import json
import os

from benchmarks.common import print_table, write_json
from benchmarks.learning_summary import mean_std

COLUMNS = ['variant', 'change', 'iters', 's/iter', 'context kNN', 'context linear',
           'target kNN', 'target linear', 'untrained kNN', 'untrained linear',
           'best kNN (iter)', 'd kNN', 'd linear']
#: several seeds: 12 columns (what a README table shows); the untrained encoder is in "d"
SEEDS_COLUMNS = ['variant', 'change', 'seed', 'iters', 'context kNN', 'context linear',
                 'target kNN', 'target linear', 'd kNN', 'd linear', 'vs base kNN',
                 'vs base linear']
PAIRED = {'vs base kNN': 'context kNN', 'vs base linear': 'context linear'}


def load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def describe(setup: dict, base_setup: dict) -> str:
    """What the variant changes relative to the base run, in config terms."""
    keys = list(setup['cfg_options']) + [k for k in base_setup['cfg_options']
                                         if k not in setup['cfg_options']]
    changed = {k: setup['cfg_options'].get(k, '(config default)') for k in keys
               if base_setup['cfg_options'].get(k) != setup['cfg_options'].get(k)}
    for key in ('iters', 'batch_size', 'warmup_frac', 'pretrain_split', 'branch_from'):
        if setup.get(key) != base_setup.get(key):
            changed[key] = setup.get(key)
    return ', '.join(f'{k}={v}' for k, v in changed.items()) or 'base'


def changes_encoder(setup: dict, base_setup: dict) -> bool:
    """Whether the variant's untrained encoder differs from the base's (then it needs its own
    untrained run)."""
    keys = set(setup['cfg_options']) | set(base_setup['cfg_options'])
    return any(k.startswith(('model.backbone', 'model.data_preprocessor')) and
               setup['cfg_options'].get(k) != base_setup['cfg_options'].get(k) for k in keys)


def row(name: str, data: dict, base: dict, seed: int = 0) -> dict:
    runs = data['runs']
    jepa = runs.get(f'mim_jepa/seed{seed}')
    untrained = runs.get(f'untrained/seed{seed}')
    if untrained is None and not changes_encoder(data['setup'], base['setup']):
        untrained = base['runs'].get(f'untrained/seed{seed}')
    if jepa is None or untrained is None:
        return None
    best = max(jepa['curve'], key=lambda p: p['context']['knn'])
    return {
        'variant': name, 'change': describe(data['setup'], base['setup']),
        'iters': jepa['iters'], 's/iter': jepa.get('s_per_iter'),
        'context kNN': round(jepa['context']['knn'], 2),
        'context linear': round(jepa['context']['linear'], 2),
        'target kNN': round(jepa['target']['knn'], 2),
        'target linear': round(jepa['target']['linear'], 2),
        'untrained kNN': round(untrained['knn'], 2),
        'untrained linear': round(untrained['linear'], 2),
        'best kNN (iter)': f"{best['context']['knn']:.2f} ({best['iter']})",
        'd kNN': round(jepa['context']['knn'] - untrained['knn'], 2),
        'd linear': round(jepa['context']['linear'] - untrained['linear'], 2),
    }


def seed_rows(name: str, data: dict, base: dict, seeds: list) -> list:
    """One row per seed with both runs finished, paired with the base on the same seed, and a
    mean row when there are several."""
    rows = []
    for seed in seeds:
        r, b = row(name, data, base, seed), row('base', base, base, seed)
        if r is None or b is None:
            continue
        r = {'seed': seed, **r}
        r.update({k: round(r[v] - b[v], 2) for k, v in PAIRED.items()})
        rows.append({k: r[k] for k in SEEDS_COLUMNS})
    if len(rows) > 1:
        numeric = SEEDS_COLUMNS[SEEDS_COLUMNS.index('context kNN'):]
        rows.append(dict(variant=name, change='', iters=rows[0]['iters'],
                         seed='mean of ' + '/'.join(str(r['seed']) for r in rows),
                         **{k: mean_std([r[k] for r in rows]) for k in numeric}))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('files', nargs='+')
    parser.add_argument('--base', default=None, help='the base variant (default: first file)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--out', default='benchmarks/results/learning_ablations.json')
    args = parser.parse_args(argv)
    several = len(args.seeds) > 1
    base_path = args.base or args.files[0]
    base = load(base_path)
    rows, commands, machines = [], [], {}
    for path in args.files:
        data = load(path)
        if data['setup'].get('eval_split') != 'val':
            raise SystemExit(f'{path}: recipes are chosen on the validation split; run it with '
                             '--eval-split val')
        name = os.path.splitext(os.path.basename(path))[0]
        commands.append(data['command'])
        machines[name] = data['machine']  # variants may have run on other machines
        found = (seed_rows(name, data, base, args.seeds) if several
                 else [r for r in [row(name, data, base, args.seeds[0])] if r])
        if not found:
            print(f'{path}: no finished mim_jepa run, or no untrained run of its encoder, for '
                  f'seeds {args.seeds}; left out')
        rows.extend(found)
    if not rows:
        raise SystemExit('learning_ablations: no row to show: every file above was left out. '
                         'The base file needs an untrained run of the seeds asked for: rerun '
                         'its command with --methods untrained.')
    columns = SEEDS_COLUMNS if several else COLUMNS
    print_table(rows, columns)
    seeds = (f'seeds {"/".join(map(str, args.seeds))}, "vs base" = minus the base variant on the '
             'same seed;' if several else 'one seed,')
    write_json(args.out, dict(
        benchmark='learning_ablations',
        title=(f'Recipe ablations on Flowers-102 ({seeds} scored on the validation split; '
               'context = frozen context encoder, d = context minus untrained)'),
        base=os.path.basename(base_path), columns=columns, rows=rows,
        commands=commands, machine=base['machine'], machines=machines))
    return rows


if __name__ == '__main__':
    main()
