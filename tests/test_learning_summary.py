"""benchmarks/learning_summary.py: one row per recipe, each seed paired with the untrained
encoder of the same seed, from its own JSON or the reference one."""
import json

import pytest

from benchmarks import learning_summary as summary


def probes(knn, linear, attentive):
    return dict(knn=knn, linear=linear, attentive=attentive)


@pytest.fixture
def results(tmp_path):
    reference = {'untrained/seed0': probes(10.0, 30.0, 35.0),
                 'untrained/seed1': probes(12.0, 31.0, 36.0),
                 'supervised/seed0': dict(iters=90, train_wall_s=600.0, head=40.0,
                                          features=probes(41.0, 42.0, 43.0))}
    variant = {f'mim_jepa/seed{s}': dict(iters=100, train_wall_s=1200.0 + 60 * s,
                                         resumed_from_iter=50 if s else None,
                                         context=probes(20.0 + s, 40.0 + 3 * s, 45.0),
                                         target=probes(18.0, 38.0, 44.0)) for s in (0, 1)}
    for name, runs in (('reference.json', reference), ('variant.json', variant)):
        (tmp_path / name).write_text(json.dumps(dict(runs=runs, machine=dict(cpu='x'))))
    return tmp_path


ROWS = [('untrained', 'reference.json', 'untrained', None),
        ('variant', 'variant.json', 'mim_jepa', 'context'),
        ('supervised', 'reference.json', 'supervised', 'features')]


def test_rows_pair_each_seed_with_its_untrained_encoder(results):
    rows, machines = summary.summarize(str(results), ROWS, 'reference.json')
    untrained, variant, supervised = rows
    assert untrained['kNN'] == '11.00 +- 1.41' and untrained['kNN - untrained'] == '-'
    # seed 0: 20 - 10, seed 1: 21 - 12 -> 10 and 9
    assert variant['kNN - untrained'] == '9.50 +- 0.71'
    assert variant['linear - untrained'] == '11.00 +- 1.41'  # 40 - 30, 43 - 31
    assert variant['linear_per_seed'] == [40.0, 43.0]
    assert variant['train min'] == '20.0 / 21.0 (from 50)'
    assert variant['CPU'] == 'x'
    assert supervised['own head'] == '40.00' and supervised['attentive - untrained'] == '8.00'
    assert machines == [dict(cpu='x')]


def test_cpu_label_names_model_and_capability():
    machine = dict(cpu='x86_64', cpu_model='Intel(R) Xeon(R) Processor', cpu_capability='AVX512')
    assert summary.cpu_label(machine) == 'Intel Xeon, AVX512'
    assert summary.cpu_label(None) == '-'


def test_own_untrained_encoder_first_and_disagreeing_ones_refused(results):
    runs = json.loads((results / 'variant.json').read_text())
    runs['runs']['untrained/seed1'] = probes(12.1, 31.0, 36.0)  # within the tolerance
    (results / 'variant.json').write_text(json.dumps(runs))
    variant = summary.summarize(str(results), ROWS, 'reference.json')[0][1]
    assert variant['kNN - untrained'] == '9.45 +- 0.78'  # seed 1 paired with its own file's
    runs['runs']['untrained/seed1'] = probes(12.5, 31.0, 36.0)
    (results / 'variant.json').write_text(json.dumps(runs))
    with pytest.raises(SystemExit, match='untrained seed 1 differs'):
        summary.summarize(str(results), ROWS, 'reference.json')


def test_the_committed_summary_is_current():
    """The JSON the README shows is what the committed learning JSONs give now."""
    with open(f'{summary.RESULTS}/learning_summary.json') as f:
        committed = json.load(f)
    assert committed['rows'] == json.loads(json.dumps(summary.summarize()[0]))
