"""benchmarks/learning.py end to end on a miniature Flowers-102 tree of real photos: every
method and probe runs through the real Runner, results land in the JSON as they finish, a rerun
skips them, and the pretraining split never holds a test image unless asked."""
import json
import os
import os.path as osp

import pytest
import torch

from benchmarks import learning
from tests.data_utils import make_flowers

TINY = ['model.backbone.arch.embed_dims=32', 'model.backbone.arch.num_layers=1',
        'model.backbone.arch.num_heads=2', 'model.neck.in_channels=32',
        'model.neck.embed_dims=32', 'model.neck.num_layers=1', 'model.neck.num_heads=2',
        'model.neck.layer_id_offset=1', 'train_dataloader.batch_size=4']


@pytest.fixture(scope='module')
def flowers(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('flowers'))
    make_flowers(root, per_part=(2, 2, 2), num_classes=3)
    return root


def argv(root, out, *extra):
    return ['--dataset', 'flowers102', '--data-root', root, '--iters', '2', '--seeds', '0',
            '--supervised-iters', '2', '--curve', '2', '--attentive-epochs', '1',
            '--workers', '0', '--threads', '1',
            '--out', out, '--work-dir', osp.join(osp.dirname(out), 'wd'),
            *extra, '--cfg-options', *TINY]


def test_every_method_runs_and_a_rerun_skips_finished_ones(flowers, tmp_path, monkeypatch):
    out = str(tmp_path / 'learning.json')
    data = learning.main(argv(flowers, out))
    saved = json.load(open(out))
    assert set(saved['runs']) == {f'{m}/seed0' for m in learning.METHODS}
    assert saved['protocol'].startswith('honest')
    assert saved['machine']['cpu_capability']
    jepa = saved['runs']['mim_jepa/seed0']
    assert [p['iter'] for p in jepa['curve']] == [1, 2]
    for point in jepa['curve']:
        for encoder in ('context', 'target'):
            assert 0 <= point[encoder]['knn'] <= 100 and 0 <= point[encoder]['linear'] <= 100
    assert 'attentive' in jepa['context'] and 'attentive' not in jepa['curve'][0]['context']
    supervised = saved['runs']['supervised/seed0']
    assert 0 <= supervised['head'] <= 100
    assert [p['iter'] for p in supervised['curve']] == [1, 2]  # same points as MIM-JEPA's
    assert supervised['curve'][-1]['features']['knn'] == supervised['features']['knn']
    assert 0 <= supervised['curve'][0]['features']['linear'] <= 100
    methods = [row['method'] for row in saved['rows']]
    assert methods == ['raw_pixels', 'untrained', 'mim_jepa (context)', 'mim_jepa (target)',
                       'supervised', 'mim_jepa (context) - untrained, paired',
                       'mim_jepa (target) - untrained, paired']
    paired = saved['rows'][5]
    assert paired['knn'] == pytest.approx(
        jepa['context']['knn'] - saved['runs']['untrained/seed0']['knn'], abs=0.01)
    assert osp.exists(out.replace('.json', '.png'))

    def no_training(*args, **kwargs):
        raise AssertionError('a finished run was trained again')

    monkeypatch.setattr(learning, 'train', no_training)
    assert learning.main(argv(flowers, out))['runs'] == data['runs']
    assert len(json.load(open(out))['invocations']) == 2
    with pytest.raises(SystemExit, match='another setup'):
        learning.main(argv(flowers, out)[:-len(TINY) - 1] + ['--iters', '3', '--cfg-options',
                                                             *TINY])


def test_the_saved_command_reproduces_every_run_the_json_holds():
    # the JSON holds seeds 0-1 of two methods; this invocation adds supervised on seed 2
    runs = {'untrained/seed0': {}, 'mim_jepa/seed0': {}, 'untrained/seed1': {},
            'mim_jepa/seed1': {}}
    given = ['--iters', '4000', '--seeds', '2', '--methods', 'supervised', '--cfg-options',
             'a=1', '--out', 'x.json']
    assert learning.reproducing_command(given, runs, [2], ['supervised']) == (
        'python -m benchmarks.learning --iters 4000 --cfg-options a=1 --out x.json '
        '--seeds 0 1 2 --methods untrained mim_jepa supervised')


def test_runs_of_two_processes_into_one_json_are_all_kept(tmp_path):
    """Seeds run side by side (one thread each) write one JSON: each process adds its runs to
    what is on disk, and its last save keeps the other's, command included."""
    from benchmarks.learning_report import Results
    out, setup = str(tmp_path / 'x.json'), dict(setup=dict(config='c.py'))
    argv = ['--iters', '10', '--out', out]

    def process(seed):
        results = Results(out, dict(setup), command=lambda runs: learning.reproducing_command(
            argv + ['--seeds', str(seed)], runs, [seed], ['untrained']))
        results.invoked(f'seed {seed}')
        return results

    first, second = process(0), process(1)  # both started before either wrote
    first.add('untrained', 0, dict(knn=1.0))
    second.add('untrained', 1, dict(knn=2.0))
    first.save()  # the first one's final save, after the second finished
    saved = json.load(open(out))
    assert saved['runs'] == {'untrained/seed0': dict(knn=1.0), 'untrained/seed1': dict(knn=2.0)}
    assert saved['invocations'] == ['seed 0', 'seed 1']
    assert saved['command'].endswith('--seeds 0 1 --methods untrained')
    assert [row['seeds'] for row in saved['rows'] if row['method'] == 'untrained'] == ['0/1']


@pytest.mark.parametrize('split', ['pretrain', 'all_including_test'])
def test_pretraining_sees_test_images_only_in_the_authors_protocol(flowers, tmp_path, split):
    from mmengine.registry import init_default_scope

    from scott_mm.registry import DATASETS
    init_default_scope('mmpretrain')
    args = learning.parse_args(argv(flowers, str(tmp_path / 'x.json'), '--pretrain-split',
                                    split))
    args.img_size = 96
    cfg = learning.run_config(args, 'mim_jepa', 0, 2, str(tmp_path / 'wd'), 3)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    test = DATASETS.build(learning.dataset_cfg(args, 'test'))
    def paths(d):
        return {d.get_data_info(i)['img_path'] for i in range(len(d))}

    overlap = paths(dataset) & paths(test)
    assert bool(overlap) == (split == 'all_including_test')
    supervised = learning.run_config(args, 'supervised', 0, 2, str(tmp_path / 'wd2'), 3)
    assert supervised.train_dataloader.dataset.split == 'train'
    assert all('Mask' not in s['type'] for s in supervised.train_dataloader.dataset.pipeline)


def test_untrained_baseline_is_the_pretraining_runs_initial_encoder(flowers, tmp_path):
    """The untrained row and iteration 0 of the curve stand for the run's own start."""
    from mmengine.registry import RUNNERS, init_default_scope
    init_default_scope('mmpretrain')
    args = learning.parse_args(argv(flowers, str(tmp_path / 'x.json')))
    args.img_size = 96
    cfg = learning.load_config(args)
    runner = RUNNERS.build(learning.run_config(args, 'mim_jepa', 3, 2, str(tmp_path / 'wd'), 3))
    started = runner.model.backbone.state_dict()
    baseline = learning.untrained_encoder(args, cfg, seed=3).backbone.state_dict()
    assert started.keys() == baseline.keys()
    assert all(torch.equal(started[k], baseline[k]) for k in started)


def test_encoder_sees_what_the_training_preprocessor_gives(flowers):
    """Cached uint8 BGR crops -> the same tokens as the model's own data preprocessor."""
    import numpy as np
    from mmengine.config import Config

    from benchmarks.learning_eval import Encoder
    from scott_mm.registry import MODELS
    cfg = Config.fromfile('configs/scott_jepa_flowers_cpu.py')
    cfg.model.backbone.arch = dict(embed_dims=32, num_layers=1, num_heads=2)
    cfg.model.neck.update(in_channels=32, embed_dims=32, num_layers=1, num_heads=2)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    encoder = Encoder(cfg, model.backbone.state_dict())
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 96, 96),
                                                                dtype=np.uint8))
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=images, data_samples=None), False)['inputs']
        expected = model.backbone(inputs)[-1]
    expected = torch.nn.functional.layer_norm(expected, expected.shape[-1:])
    assert torch.allclose(encoder.tokens(images), expected, atol=1e-5)


def test_supervised_training_gets_the_pretraining_wall_clock_time(flowers, tmp_path):
    """--iters N without --supervised-iters: both steps are timed, supervised gets N times the
    ratio of their costs (its step is cheaper: one view, no target encoder, no predictor)."""
    from benchmarks.learning_report import Results
    args = learning.parse_args([
        '--dataset', 'flowers102', '--data-root', flowers, '--iters', '10', '--seeds', '0',
        '--calib-iters', '1', '--workers', '0', '--threads', '1',
        '--out', str(tmp_path / 'x.json'), '--work-dir', str(tmp_path / 'wd'),
        '--cfg-options', *TINY])
    args.img_size = 96
    results = Results(args.out, dict(setup=learning.setup_of(args)))
    learning.plan_iterations(args, results, 3)
    timed, planned = results.data['calibration_s_per_iter'], results.data['planned_iters']
    assert planned['mim_jepa'] == 10
    assert planned['supervised'] == max(1, round(10 * timed['mim_jepa'] / timed['supervised']))
    assert not (tmp_path / 'wd' / 'mim_jepa_calibration').exists()


@pytest.mark.parametrize('path, iters, batch, predictor_layers, mask_ratio, regularizer', [
    ('configs/scott_jepa_flowers_cpu.py', 1900, 64, 1, 0.6, None),
    ('configs/scott_jepa_flowers_cpu_bf16.py', 5000, 32, 3, 0.75, None),
    ('configs/scott_jepa_flowers_cpu_bf16_varcov.py', 5000, 32, 3, 0.75,
     dict(type='VarianceCovarianceRegularizer', var_weight=0.05, cov_weight=0.002))])
def test_cpu_configs_train_as_their_benchmark_runs_did(path, iters, batch, predictor_layers,
                                                       mask_ratio, regularizer):
    """tools/train.py on a CPU config gets the schedule, length and batch that the benchmark
    measured (the benchmark builds its schedule itself, so a config edited alone would drift)."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    assert cfg.train_cfg.max_iters == iters
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.model.neck.num_layers == predictor_layers
    masks = [t for t in cfg.train_dataloader.dataset.pipeline
             if t['type'] == 'BlockwiseMaskGenerator']
    assert [t['mask_ratio'] for t in masks] == [mask_ratio]
    assert cfg.model.get('regularizer') == regularizer
    assert cfg.param_scheduler == learning.schedule(iters, 40 / 300)


def test_no_calibration_iterations_is_refused_with_the_option_named(flowers, tmp_path, capsys):
    with pytest.raises(SystemExit):
        learning.parse_args(argv(flowers, str(tmp_path / 'x.json'), '--calib-iters', '0'))
    assert '--calib-iters 0' in capsys.readouterr().err


@pytest.mark.parametrize('has_units', [False, True])
def test_a_bf16_recipe_on_a_cpu_without_bf16_units_is_warned_before_any_run(
        has_units, flowers, tmp_path, capsys, monkeypatch):
    """The runs log at level ERROR, so the wrapper's warning would go unseen: the benchmark
    prints it itself. The CPU's answer is the edge."""
    from scott_mm.engine import bf16_optim_wrapper
    monkeypatch.setattr(bf16_optim_wrapper, 'cpu_has_bf16_units', lambda: has_units)
    out = str(tmp_path / 'bf16.json')
    learning.main(argv(flowers, out, '--methods', 'raw_pixels')
                  + ['optim_wrapper.type=BF16OptimWrapper'])
    printed = capsys.readouterr().out
    assert ('WARNING: BF16OptimWrapper' in printed) != has_units
    assert 'optim_wrapper.type=OptimWrapper' in printed or has_units


def test_a_branch_trains_on_from_the_source_runs_checkpoint(flowers, tmp_path):
    """--branch-from WORK_DIR@ITER: with the source's own options the branch ends exactly where
    the source did (a resumed Runner trains as an uninterrupted one), its curve holds the
    source's early points, and the source's files are left as they were. A source of another
    setup, or an ITER that is no checkpoint, is refused before anything trains."""
    run = ['--iters', '4', '--methods', 'mim_jepa', '--attentive-epochs', '0']
    source = str(tmp_path / 'source' / 'wd')
    learning.main(argv(flowers, str(tmp_path / 'source' / 'x.json'), *run))
    seed_dir = osp.join(source, 'mim_jepa_seed0')
    stamps = {f: os.stat(osp.join(seed_dir, f)).st_mtime_ns for f in os.listdir(seed_dir)}

    out = str(tmp_path / 'branch' / 'x.json')
    branched = learning.main(argv(flowers, out, *run, '--branch-from', f'{source}@2'))
    result = branched['runs']['mim_jepa/seed0']
    assert result['resumed_from_iter'] == 2
    assert result['branched_from'] == osp.join(seed_dir, 'iter_2.pth')
    assert [p['iter'] for p in result['curve']] == [2, 4]
    ours = torch.load(osp.join(tmp_path, 'branch', 'wd', 'mim_jepa_seed0', 'iter_4.pth'),
                      map_location='cpu', weights_only=False)['state_dict']
    theirs = torch.load(osp.join(seed_dir, 'iter_4.pth'), map_location='cpu',
                        weights_only=False)['state_dict']
    assert ours.keys() == theirs.keys()
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=1e-5, atol=1e-6, msg=key)
    assert {f: os.stat(osp.join(seed_dir, f)).st_mtime_ns for f in os.listdir(seed_dir)} \
        == stamps

    with pytest.raises(SystemExit, match='one of \\[2\\]'):
        learning.main(argv(flowers, str(tmp_path / 'b2' / 'x.json'), *run, '--branch-from',
                           f'{source}@3'))
    with pytest.raises(SystemExit, match='another setup \\(iters'):
        learning.main(argv(flowers, str(tmp_path / 'b3' / 'x.json'), *run, '--iters', '6',
                           '--branch-from', f'{source}@2'))
