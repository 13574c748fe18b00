"""tools/test.py evaluates only a checkpoint whose weights fit the model (issue 19, item 1).

Before, a MIM-JEPA pretraining checkpoint given to a linear-probe config scored 7.2 % top-1 with
exit status 0 (a random head on the encoder), and a wider encoder's checkpoint 9.6 %: mmengine
loads ``load_from`` with ``strict=False`` and only logs warnings.
"""
import os.path as osp

import pytest

from scott_mm.engine.checkpoint_fit import CheckpointMismatchError
from tests.conftest import REPO
from tests.test_evaluation_checkpoints import TINY, jepa_checkpoint, single_thread  # noqa: F401

PROBE = osp.join(REPO, 'configs', 'linear_probe_demo.py')


def tiny(embed_dims=TINY['embed_dims']):
    arch = dict(TINY, embed_dims=embed_dims)
    return [*(f'model.backbone.arch.{k}={v}' for k, v in arch.items()),
            f'model.head.in_channels={embed_dims}', 'train_dataloader.dataset.num_labels=20',
            'val_dataloader.dataset.indices=8', 'test_dataloader.dataset.indices=8',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1']


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    return jepa_checkpoint(tmp_path_factory)


@pytest.fixture(scope='module')
def probe_ckpt(ckpt, tmp_path_factory):
    """A linear probe (D=32) trained for one epoch on the tiny pretraining checkpoint."""
    from tools import train
    work = tmp_path_factory.mktemp('probe')
    train.main([PROBE, '--work-dir', str(work), '--cfg-options', *tiny(),
                f'model.backbone.init_cfg.checkpoint={ckpt}'])
    return open(work / 'last_checkpoint').read().strip()


def test_the_probes_own_checkpoint_is_evaluated(probe_ckpt, tmp_path):
    from tools import test
    metrics = test.main([PROBE, probe_ckpt, '--work-dir', str(tmp_path), '--cfg-options',
                         *tiny()])
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_pretraining_checkpoint_in_a_probe_config_is_refused(ckpt, tmp_path):
    from tools import test
    out = tmp_path / 'metrics.json'
    with pytest.raises(CheckpointMismatchError) as err:
        test.main([PROBE, ckpt, '--work-dir', str(tmp_path), '--out', str(out),
                   '--cfg-options', *tiny()])
    lines = str(err.value).splitlines()
    assert lines[0] == f'{ckpt} does not fit the model of this config (ImageClassifier):'
    assert lines[1].startswith('  missing from the checkpoint: head.* (')  # the probe's head
    assert lines[2].startswith('  in the checkpoint but not in the model: neck.* (')
    assert 'target_encoder.* (' in lines[2]  # the predictor and the EMA target
    assert 'into a probe config as model.backbone.init_cfg.checkpoint' in lines[3]
    assert not out.exists()  # no score of a random head


def test_checkpoint_of_a_wider_encoder_is_refused(probe_ckpt, tmp_path):
    from tools import test
    with pytest.raises(CheckpointMismatchError) as err:
        test.main([PROBE, probe_ckpt, '--work-dir', str(tmp_path), '--cfg-options',
                   *tiny(embed_dims=48)])
    message = str(err.value)
    assert message.startswith(f'{probe_ckpt} does not fit the model of this config')
    assert ('different shapes (9): backbone.mask_token: checkpoint (1, 1, 32) vs model '
            '(1, 1, 48); backbone.tokenizer.conv2.weight: checkpoint (32, 64, 3, 3) vs model '
            '(48, 64, 3, 3);') in message
