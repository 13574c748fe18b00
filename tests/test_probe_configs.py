"""Every evaluation config (linear / attentive probe, kNN, supervised; flowers, pets, in100,
demo) builds and runs a few iterations through the real Runner on real photos, from a real
MIM-JEPA checkpoint; frozen encoders stay bit-identical to the checkpoint."""
import json
import multiprocessing as mp
import os.path as osp
import socket

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from scott_mm.datasets.imagenet100 import imagenet100_wnids
from scott_mm.evaluation import knn_scores, read_state_dict, select_encoder_weights
from tests.conftest import REPO
from tests.data_utils import make_flowers, make_image_folder, make_pets
from tests.test_evaluation_checkpoints import TINY, jepa_checkpoint, single_thread  # noqa: F401

DATASETS = ('demo', 'flowers', 'pets', 'in100')
TRAINED = [f'{kind}_{ds}' for kind in ('linear_probe', 'attentive_probe', 'supervised')
           for ds in DATASETS]
KNN = [f'knn_{ds}' for ds in DATASETS]


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    return jepa_checkpoint(tmp_path_factory)


@pytest.fixture(scope='module')
def ckpt16(ckpt, tmp_path_factory):
    """The demo checkpoint with patch-16 tokenizers, for the paper-layout configs (the demo's
    patch-4 tokenizer has 3x3 convolutions, the paper's 7x7)."""
    from scott_mm.models.tokenizers.scott_tokenizer import SCOTTTokenizer
    state = torch.load(ckpt, map_location='cpu')
    torch.manual_seed(0)
    tokenizer = SCOTTTokenizer(embed_dims=TINY['embed_dims'], backend='dense').state_dict()
    for key in [k for k in state['state_dict'] if '.tokenizer.' in k]:
        state['state_dict'][key] = tokenizer[key.split('.tokenizer.')[1]].clone()
    path = str(tmp_path_factory.mktemp('jepa_patch16') / 'epoch_1.pth')
    torch.save(state, path)
    return path


def checkpoint_for(name, ckpt, ckpt16):
    return ckpt if name.endswith('demo') else ckpt16


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """Miniature Flowers / Pets / ImageNet-100 trees of real photos; Fashion-MNIST is real."""
    base = tmp_path_factory.mktemp('eval_data')
    make_flowers(str(base / 'flowers'), per_part=(2, 2, 2))
    make_pets(str(base / 'pets'))
    make_image_folder(str(base / 'in100'), {'train': {w: 2 for w in imagenet100_wnids()},
                                            'val': {w: 1 for w in imagenet100_wnids()}}, size=16)
    return dict(demo=None, **{k: str(base / k) for k in ('flowers', 'pets', 'in100')})


def tiny_config(name, root, work_dir, **init):
    """The config file as shipped, with a tiny encoder (the checkpoint's) and a few images."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.arch = dict(TINY)
    if 'head' in cfg.model:
        cfg.model.head.in_channels = TINY['embed_dims']
    if init and cfg.model.backbone.get('init_cfg'):
        cfg.model.backbone.init_cfg.update(init)
    loaders = [cfg.get(k) for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    for loader in filter(None, loaders + [cfg.model.get('bank_dataloader')]):
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        if root is None:  # Fashion-MNIST: 2 labelled photos per class, 12 to evaluate
            loader.dataset.update(num_labels=20) if loader.dataset.get('num_labels') else \
                loader.dataset.update(indices=12)
        else:
            loader.dataset.update(data_root=root, indices=8)
    if cfg.get('train_cfg'):
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
    return cfg


def build_runner(cfg):
    """As tools/train.py and tools/test.py build it (the configs name scott_mm's Runner)."""
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def encoder_weights(ckpt, prefix, backbone):
    return select_encoder_weights(read_state_dict(ckpt), prefix, backbone)


def test_splits_are_honest_and_probes_frozen():
    """Fit on train, select on val, report test; probes freeze every block of the encoder."""
    for name in TRAINED + KNN:
        cfg = Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))
        splits = {k: cfg[k].dataset.split for k in ('train_dataloader', 'val_dataloader',
                                                    'test_dataloader') if cfg.get(k)}
        if cfg.model.get('bank_dataloader'):
            splits['bank'] = cfg.model.bank_dataloader.dataset.split
        assert splits == ({'test_dataloader': 'test', 'bank': 'train'} if name in KNN else
                          dict(train_dataloader='train', val_dataloader='val',
                               test_dataloader='test')), name
        backbone = cfg.model.backbone
        if 'probe' in name:
            layers = backbone.arch['num_layers'] if isinstance(backbone.arch, dict) else 12
            assert backbone.frozen_stages >= layers, name
            assert backbone.init_cfg == dict(type='Pretrained', checkpoint=None,
                                             prefix='backbone.'), name
            assert backbone.final_norm and cfg.custom_hooks[0].type == \
                'PretrainedEncoderCheckHook', name
        if name.startswith('attentive_probe'):
            assert backbone.out_type == 'raw', name
        if name.startswith('supervised'):
            assert not backbone.get('frozen_stages') and not backbone.get('init_cfg'), name


@pytest.mark.parametrize('name', TRAINED)
def test_trains_a_few_iterations_then_tests(name, ckpt, ckpt16, roots, tmp_path):
    ckpt = checkpoint_for(name, ckpt, ckpt16)
    cfg = tiny_config(name, roots[name.rsplit('_', 1)[1]], tmp_path,
                      checkpoint=ckpt, prefix='backbone.')
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == len(runner.train_dataloader) >= 2
    model, state = runner.model, runner.optim_wrapper.optimizer.state
    assert all(p in state for p in model.head.parameters())  # the head trained
    if name.startswith('supervised'):
        used = [p for n, p in model.backbone.named_parameters() if n != 'mask_token']
        assert all(p in state for p in used)  # end to end (no mask, so no mask token)
    else:  # frozen: no optimiser step ever touched it, and it is the checkpoint's, bit for bit
        assert not any(p in state for p in model.backbone.parameters())
        assert not any(p.requires_grad for p in model.backbone.parameters())
        expected = encoder_weights(ckpt, 'backbone.', model.backbone)
        for key, value in model.backbone.state_dict().items():
            assert torch.equal(value, expected[key]), key
    assert list(tmp_path.glob('best_accuracy_top1_epoch_1.pth')) or name.endswith('demo')
    metrics = runner.test()
    assert 0 <= metrics['accuracy/top1'] <= 100


@pytest.mark.parametrize('name', KNN)
def test_knn_config_evaluates_a_pretraining_checkpoint(name, ckpt, ckpt16, roots, tmp_path,
                                                      monkeypatch):
    ckpt = checkpoint_for(name, ckpt, ckpt16)
    from scott_mm.evaluation import KNNClassifier
    calls = []
    build_bank = KNNClassifier.build_bank
    monkeypatch.setattr(KNNClassifier, 'build_bank',
                        lambda self: calls.append(1) or build_bank(self))
    cfg = tiny_config(name, roots[name.rsplit('_', 1)[1]], tmp_path)
    cfg.load_from = ckpt  # what tools/test.py does with its checkpoint argument
    runner = build_runner(cfg)
    metrics = runner.test()
    assert len(runner.test_dataloader) > 1 and calls == [1]  # the bank is extracted once
    model = runner.model
    expected = encoder_weights(ckpt, 'backbone.', model.backbone)
    assert all(torch.equal(v, expected[k]) for k, v in model.backbone.state_dict().items())
    # the same accuracy by hand: bank and test features, then the weighted vote
    with torch.no_grad():
        feats, labels = [], []
        for data in runner.test_dataloader:
            data = model.data_preprocessor(data, False)
            feats.append(model.extract_feat(data['inputs']))
            labels += [int(s.gt_label) for s in data['data_samples']]
    scores = knn_scores(torch.cat(feats), *model.bank, model.num_classes, 20, 0.07)
    accuracy = (scores.argmax(1) == torch.tensor(labels)).float().mean().item() * 100
    assert metrics['accuracy/top1'] == pytest.approx(accuracy)


def _knn_test_on_rank(rank, port, cfg, queue):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    runner = build_runner(cfg)
    metrics = runner.test()
    bank, labels = runner.model.bank
    shares = (runner.world_size, len(runner.test_dataloader.sampler))
    # numpy, not tensors: torch shares tensors through file descriptors that vanish when this
    # process exits, which made the parent's get() fail now and then ("connection reset").
    queue.put((rank, metrics['accuracy/top1'], bank.numpy(), labels.numpy(), shares))
    dist.destroy_process_group()


def test_knn_across_two_processes_matches_one(ckpt, tmp_path):
    """Two real processes (gloo) share bank and test set, both padded by mmengine's sampler;
    every rank must hold the whole bank in order and the accuracy must be the single run's."""
    cfg = tiny_config('knn_demo', None, tmp_path)
    cfg.model.bank_dataloader.dataset.num_labels = 15  # 8 + 7 rows per rank
    cfg.test_dataloader.dataset.indices = 11
    cfg.load_from = ckpt
    single = build_runner(cfg.copy())
    accuracy = single.test()['accuracy/top1']
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = mp.get_context('fork')
    queue = ctx.Queue()
    procs = [ctx.Process(target=_knn_test_on_rank, args=(r, port, cfg.copy(), queue))
             for r in range(2)]
    for p in procs:
        p.start()
    try:
        results = sorted((queue.get(timeout=120) for _ in procs), key=lambda r: r[0])
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0, 0]
    for _, acc, bank, labels, shares in results:
        assert shares == (2, 6)  # each rank saw half of the 11 test photos (one padded)
        assert acc == pytest.approx(accuracy)
        assert torch.allclose(torch.from_numpy(bank), single.model.bank[0], atol=1e-6)
        assert torch.equal(torch.from_numpy(labels), single.model.bank[1])


def test_knn_can_take_the_ema_target(ckpt, roots, tmp_path):
    cfg = tiny_config('knn_demo', None, tmp_path)
    cfg.model.encoder_prefix = 'target_encoder.module.'
    cfg.load_from = ckpt
    runner = build_runner(cfg)
    runner.test()
    target = encoder_weights(ckpt, 'target_encoder.module.', runner.model.backbone)
    context = encoder_weights(ckpt, 'backbone.', runner.model.backbone)
    state = runner.model.backbone.state_dict()
    assert all(torch.equal(v, target[k]) for k, v in state.items())
    assert not all(torch.equal(v, context[k]) for k, v in state.items())


def test_demo_contract_through_the_command_line_tools(ckpt, tmp_path):
    """tools/demo.sh: probe the pretrained EMA target, test with --out, read accuracy/top1;
    then the untrained baseline with init_cfg=None."""
    from tools import test, train
    tiny = [f'model.backbone.arch.{k}={v}' for k, v in TINY.items()]
    small = ['model.head.in_channels=32', 'train_dataloader.dataset.num_labels=20',
             'val_dataloader.dataset.indices=8', 'test_dataloader.dataset.indices=8',
             'train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    config = osp.join(REPO, 'configs', 'linear_probe_demo.py')
    runner = train.main([config, '--work-dir', str(tmp_path / 'probe'), '--cfg-options', *tiny,
                         *small, f'model.backbone.init_cfg.checkpoint={ckpt}',
                         'model.backbone.init_cfg.prefix=target_encoder.module.'])
    target = encoder_weights(ckpt, 'target_encoder.module.', runner.model.backbone)
    assert all(torch.equal(v, target[k]) for k, v in runner.model.backbone.state_dict().items())
    last = open(tmp_path / 'probe' / 'last_checkpoint').read().strip()
    out = tmp_path / 'metrics.json'
    test.main([config, last, '--work-dir', str(tmp_path / 'probe'), '--out', str(out),
               '--cfg-options', *tiny, *small])
    assert 0 <= json.load(open(out))['accuracy/top1'] <= 100

    baseline = train.main([config, '--work-dir', str(tmp_path / 'random'), '--cfg-options',
                           *tiny, *small, 'model.backbone.init_cfg=None'])
    assert baseline.iter == 1
