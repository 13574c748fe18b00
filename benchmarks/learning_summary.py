"""Every Flowers-102 recipe of benchmarks/learning.py in one table, read from their JSONs, each
beside the untrained encoder of the same seed: the table README "Does pretraining learn?"
shows (tools/update_readme_results.py copies it there).

    python -m benchmarks.learning_summary [--out benchmarks/results/learning_summary.json]

A run is paired with the untrained encoder of its own JSON where that JSON has the seed, else
with ``REFERENCE``'s (or another file's, for a seed ``REFERENCE`` lacks): the untrained
encoder depends only on the seed (same initial weights in every recipe here), and the summary
refuses files whose untrained numbers for a seed disagree with the first file holding it by
more than ``TOLERANCE`` (the probes' threaded float sums make reruns differ by a few of the
6,149 test photos: 32.04 and 32.07 for one linear probe).
"""
import argparse
import json
import os
import statistics

from benchmarks.common import print_table, write_json
from benchmarks.learning_report import seeds_of

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results')
REFERENCE = 'learning_flowers102_cpu_bf16_b32.json'
PROBES = ('knn', 'linear', 'attentive')
TOLERANCE = 0.2  # percentage points
TRAINED = ('mim_jepa', 'supervised')  # the rows that get a paired difference
COLUMNS = ['recipe', 'iterations', 'train min', 'CPU', 'seeds', 'kNN', 'linear', 'attentive',
           'kNN - untrained', 'linear - untrained', 'attentive - untrained', 'own head', 'JSON']
#: (label, JSON in benchmarks/results, method, part of a result holding the probes)
ROWS = [
    ('raw pixels', 'learning_flowers102.json', 'raw_pixels', None),
    ('SCOTT untrained', REFERENCE, 'untrained', None),
    ("MIM-JEPA, paper's path (scott_jepa_flowers_cpu_mask_token.py)",
     'learning_flowers102.json', 'mim_jepa', 'context'),
    ('MIM-JEPA, CPU recipe on the dense tokenizer backend',
     'learning_flowers102_visible_pred1.json', 'mim_jepa', 'context'),
    ('MIM-JEPA, CPU recipe (scott_jepa_flowers_cpu.py, minkowski)',
     'learning_flowers102_cpu_minkowski.json', 'mim_jepa', 'context'),
    ("the same, authors' protocol (pretraining saw the test photos)",
     'learning_flowers102_cpu_minkowski_authors.json', 'mim_jepa', 'context'),
    ('the same, 3,000 iterations (over the budget on purpose)',
     'learning_flowers102_cpu_minkowski_3000.json', 'mim_jepa', 'context'),
    ('MIM-JEPA, CPU recipe in bf16, batch 64', 'learning_flowers102_cpu_bf16.json',
     'mim_jepa', 'context'),
    ('MIM-JEPA, bf16 + batch 32 (first bf16 recipe)', REFERENCE, 'mim_jepa', 'context'),
    ('MIM-JEPA, bf16 + batch 16, lr 5e-4', 'learning_flowers102_cpu_bf16_b16.json',
     'mim_jepa', 'context'),
    ('MIM-JEPA, bf16 + batch 32, no stochastic depth',
     'learning_flowers102_cpu_bf16_b32_no_drop_path.json', 'mim_jepa', 'context'),
    ("MIM-JEPA, bf16 + batch 32, paper's mask-token context",
     'learning_flowers102_cpu_bf16_b32_mask_token.json', 'mim_jepa', 'context'),
    ('MIM-JEPA, bf16 + batch 32, 3-layer predictor',
     'learning_flowers102_cpu_bf16_b32_predictor3.json', 'mim_jepa', 'context'),
    ('MIM-JEPA, bf16 + batch 32, 3-layer predictor, faster steps, 4,700 iterations',
     'learning_flowers102_cpu_bf16_b32_predictor3_4700.json', 'mim_jepa', 'context'),
    ('the same, its EMA target encoder', 'learning_flowers102_cpu_bf16_b32_predictor3_4700.json',
     'mim_jepa', 'target'),
    ('the same recipe, 4,000 iterations (~30 min at the speed its 4,700 ran)',
     'learning_flowers102_cpu_bf16_b32_predictor3_4000.json', 'mim_jepa', 'context'),
    ('MIM-JEPA, bf16 recipe (scott_jepa_flowers_cpu_bf16.py): the same with mask ratio 0.75, '
     '5,000 iterations (time of its 4,000)',
     'learning_flowers102_cpu_bf16_b32_predictor3_mask075_5000.json', 'mim_jepa', 'context'),
    ("the same, authors' protocol (pretraining saw the test photos)",
     'learning_flowers102_cpu_bf16_mask075_5000_authors.json', 'mim_jepa', 'context'),
    ('the bf16 recipe with variance-covariance terms 0.5 / 0.02 (not adopted: linear -7.8)',
     'learning_flowers102_cpu_bf16_vicreg_5000.json', 'mim_jepa', 'context'),
    ('MIM-JEPA, current recipe (scott_jepa_flowers_cpu_bf16_varcov.py): the bf16 recipe with '
     'variance-covariance terms 0.05 / 0.002',
     'learning_flowers102_cpu_bf16_vicreg_weak_5000.json', 'mim_jepa', 'context'),
    ('the same, its EMA target encoder', 'learning_flowers102_cpu_bf16_vicreg_weak_5000.json',
     'mim_jepa', 'target'),
    ('the current recipe with the terms faded out over the last quarter (fade_from=0.75; not '
     'adopted: within the seeds\' spread)',
     'learning_flowers102_cpu_bf16_vicreg_weak_fade075_5000.json', 'mim_jepa', 'context'),
    ('the current recipe, branched from those runs at 3,750 (same CPU, no fade)',
     'learning_flowers102_cpu_bf16_vicreg_weak_from_fade075_at_3750.json', 'mim_jepa',
     'context'),
    ('supervised from scratch, time of the bf16 recipe (~2 % less than the current one)',
     'learning_flowers102_cpu_bf16_b32_predictor3_mask075_5000.json', 'supervised', 'features'),
    ('the 4,700-iteration recipe in fp32, 8,000 iterations (2x what fit 30 min on the Xeon)',
     'learning_flowers102_cpu_fp32_b32_predictor3_8000.json', 'mim_jepa', 'context'),
    ('supervised from scratch, fp32 batch 32, time of the 8,000-iteration run',
     'learning_flowers102_cpu_fp32_b32_predictor3_8000.json', 'supervised', 'features'),
    ('supervised from scratch, time of the 4,700-iteration bf16 recipe',
     'learning_flowers102_cpu_bf16_b32_predictor3_4700.json', 'supervised', 'features'),
    ('supervised from scratch, time of the first bf16 recipe', REFERENCE, 'supervised',
     'features'),
    ("supervised from scratch, fp32 batch 64, time of the paper's path",
     'learning_flowers102.json', 'supervised', 'features'),
]


def load(results: str, name: str) -> dict:
    with open(os.path.join(results, name)) as f:
        return json.load(f)


def untrained_by_seed(files: dict, reference: str) -> dict:
    """{seed: untrained probe results}, from every file, checked to agree."""
    found, source = {}, {}
    for name in [reference] + sorted(set(files) - {reference}):
        for seed in seeds_of(files[name], 'untrained'):
            result = {p: files[name][f'untrained/seed{seed}'][p] for p in PROBES}
            if seed in found and any(abs(found[seed][p] - result[p]) > TOLERANCE
                                     for p in PROBES):
                raise SystemExit(f'untrained seed {seed} differs between {source[seed]} and '
                                 f'{name}: their encoders are not the same; pair them within '
                                 'one file instead')
            found.setdefault(seed, result)
            source.setdefault(seed, name)
    return found


def own_untrained(runs: dict, reference: dict) -> dict:
    """The untrained encoder a file's runs are paired with: its own where it has the seed."""
    return {**reference, **{s: runs[f'untrained/seed{s}'] for s in seeds_of(runs, 'untrained')}}


def mean_std(values: list) -> str:
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} +- {statistics.stdev(values):.2f}'


def minutes(results: list) -> str:
    """Training wall clock per seed; a resumed run only knows the part after its restart."""
    texts = []
    for r in results:
        if 'train_wall_s' in r:
            resumed = r.get('resumed_from_iter')
            texts.append(f'{r["train_wall_s"] / 60:.1f}' + (f' (from {resumed})' if resumed
                                                            else ''))
    return ' / '.join(texts) or '-'


def cpu_label(machine) -> str:
    """The CPU a JSON's runs trained on, short: its minutes only compare within one CPU."""
    if not machine:
        return '-'
    model = machine.get('cpu_model') or machine.get('cpu', '-')
    model = ' '.join(model.replace('(R)', '').replace('Processor', '').split())
    capability = machine.get('cpu_capability')
    return f'{model}, {capability}' if capability else model


def summary_row(label, name, method, part, runs, untrained, machine=None) -> dict:
    seeds = seeds_of(runs, method)
    results = [runs[f'{method}/seed{s}'] for s in seeds]
    probes = [r[part] if part else r for r in results]
    row = {'recipe': label, 'seeds': '/'.join(map(str, seeds)) or '-', 'JSON': name,
           'iterations': results[0].get('iters', '-') if results else '-',
           'train min': minutes(results), 'CPU': cpu_label(machine),
           'own head': mean_std([r['head'] for r in results if 'head' in r])}
    for probe, column in zip(PROBES, ('kNN', 'linear', 'attentive')):
        values = [p[probe] for p in probes if probe in p]
        row[column] = mean_std(values)
        row[probe + '_per_seed'] = [round(v, 2) for v in values]
        paired = [p[probe] - untrained[s][probe] for s, p in zip(seeds, probes)
                  if probe in p and s in untrained]
        row[column + ' - untrained'] = (mean_std(paired) if method in TRAINED
                                        and len(paired) == len(values) else '-')
    return row


def summarize(results: str = RESULTS, rows=ROWS, reference: str = REFERENCE) -> tuple:
    """(rows, the distinct machines the runs were measured on)."""
    files = {name: load(results, name) for name in {r[1] for r in rows} | {reference}}
    runs = {name: data['runs'] for name, data in files.items()}
    untrained = untrained_by_seed(runs, reference)
    machines = []
    for name in sorted(files):  # a fixed order, so the written JSON does not change run to run
        if files[name].get('machine') not in machines:
            machines.append(files[name].get('machine'))
    return [summary_row(label, name, method, part, runs[name],
                        own_untrained(runs[name], untrained), files[name].get('machine'))
            for label, name, method, part in rows], machines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=os.path.join(RESULTS, 'learning_summary.json'))
    args = p.parse_args(argv)
    rows, machines = summarize()
    print_table(rows, COLUMNS)
    where = dict(machine=machines[0]) if len(machines) == 1 else dict(machines=machines)
    write_json(args.out, dict(
        benchmark='learning_summary', **where, command='python -m benchmarks.learning_summary',
        title=('Flowers-102 test top-1 %, context encoder unless named, mean +- std over the '
               'seeds listed; "- untrained" pairs each seed with the untrained encoder of the '
               'same seed; train min per seed (a resumed run counts only its resumed part)'),
        columns=COLUMNS, rows=rows))
    return rows


if __name__ == '__main__':
    main()
