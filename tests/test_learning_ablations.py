"""The ablation table: variants paired with the base variant on the same seed."""
import json

import pytest

from benchmarks import learning_ablations


def jepa(knn, linear):
    return dict(iters=2000, context=dict(knn=knn, linear=linear),
                target=dict(knn=knn - 2, linear=linear - 1),
                curve=[dict(iter=2000, context=dict(knn=knn, linear=linear))])


def write(tmp_path, name, cfg_options, runs, eval_split='val', cpu='x'):
    path = tmp_path / f'{name}.json'
    path.write_text(json.dumps(dict(
        setup=dict(eval_split=eval_split, cfg_options=cfg_options, iters=2000),
        runs=runs, command=f'python -m benchmarks.learning ... {name}', machine=dict(cpu=cpu))))
    return str(path)


def test_several_seeds_are_paired_with_the_base_on_the_same_seed(tmp_path):
    base = write(tmp_path, 'A0_base', {'model.neck.num_layers': 3}, {
        'untrained/seed0': dict(knn=18.0, linear=37.0), 'untrained/seed1': dict(knn=17.0, linear=36.0),
        'mim_jepa/seed0': jepa(25.0, 40.0), 'mim_jepa/seed1': jepa(23.0, 39.0)})
    variant = write(tmp_path, 'A1_blocks3', {'model.neck.num_layers': 3, 'model.target_blocks': 3}, {
        'mim_jepa/seed0': jepa(27.0, 40.5), 'mim_jepa/seed1': jepa(24.0, 38.0),
        'mim_jepa/seed2': jepa(30.0, 50.0)}, cpu='y')  # seed 2 has no base run: not in the table
    out = tmp_path / 'table.json'
    rows = learning_ablations.main([base, variant, '--seeds', '0', '1', '2', '--out', str(out)])
    by = {(r['variant'], r['seed']): r for r in rows}
    assert set(by) == {('A0_base', 0), ('A0_base', 1), ('A0_base', 'mean of 0/1'),
                       ('A1_blocks3', 0), ('A1_blocks3', 1), ('A1_blocks3', 'mean of 0/1')}
    assert by['A1_blocks3', 0]['change'] == 'model.target_blocks=3'
    assert (by['A1_blocks3', 0]['vs base kNN'], by['A1_blocks3', 1]['vs base kNN']) == (2.0, 1.0)
    assert by['A1_blocks3', 1]['vs base linear'] == -1.0
    assert by['A1_blocks3', 1]['d kNN'] == 7.0  # the base file's untrained encoder, seed 1
    assert by['A1_blocks3', 'mean of 0/1']['vs base kNN'] == '1.50 +- 0.71'
    assert by['A0_base', 'mean of 0/1']['vs base linear'] == '0.00 +- 0.00'
    written = json.loads(out.read_text())
    assert len(written['columns']) <= 12 and 'seeds 0/1/2' in written['title']
    # variants measured on another machine say so
    assert written['machines'] == {'A0_base': {'cpu': 'x'}, 'A1_blocks3': {'cpu': 'y'}}


def test_one_seed_keeps_the_single_seed_table(tmp_path):
    base = write(tmp_path, 'V0', {}, {'untrained/seed0': dict(knn=18.0, linear=37.0),
                                      'mim_jepa/seed0': jepa(25.0, 40.0)})
    rows = learning_ablations.main([base, '--out', str(tmp_path / 't.json')])
    assert rows[0]['d kNN'] == 7.0 and 'seed' not in rows[0]


def test_a_run_scored_on_test_is_refused(tmp_path):
    base = write(tmp_path, 'V0', {}, {}, eval_split='test')
    with pytest.raises(SystemExit, match='validation split'):
        learning_ablations.main([base, '--out', str(tmp_path / 't.json')])


def test_a_base_without_an_untrained_run_is_named_not_a_crash(tmp_path):
    base = write(tmp_path, 'B0', {}, {'mim_jepa/seed0': jepa(25.0, 40.0)})
    with pytest.raises(SystemExit, match='--methods untrained'):
        learning_ablations.main([base, '--out', str(tmp_path / 't.json')])


def test_a_branched_variant_names_the_run_it_branched_from():
    base = dict(cfg_options={'a': 1}, iters=5000)
    branched = dict(cfg_options={'a': 1}, iters=5000, branch_from='work_dirs/learning/C5@3750')
    assert learning_ablations.describe(branched, base) == 'branch_from=work_dirs/learning/C5@3750'
