"""Bad input fails early, through the user's path (tools/train.py with a config), with a message
that names the key and the valid choices; nothing is trained and no checkpoint is written."""
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.test_kill_resume import quick_runs, write_jepa_config  # noqa: F401

BAD_OPTIONS = [
    ('model.backbone.arch=huge',
     r"SCOTT: unknown arch 'huge'; choose one of \['base', 'small', 'tiny'\]"),
    ('model.backbone.backend=cuda_sparse',
     r"Unknown tokenizer backend 'cuda_sparse': choose one of \['dense', 'minkowski'\] "
     r"\(key 'backend'"),
    ('model.backbone.img_size=36',
     'image size 36x36 is not divisible by the patch size 8'),
    ('train_dataloader.dataset.pipeline.4.mask_ratio=1.2',
     r'BlockwiseMaskGenerator: mask_ratio must be in \(0, 1\), the fraction of patches '
     r'hidden and predicted, got 1.2'),
    ('train_dataloader.dataset.pipeline.4.mask_ratio=0',  # issue 19: trained with loss 0
     r'BlockwiseMaskGenerator: mask_ratio must be in \(0, 1\), the fraction of patches hidden '
     r'and predicted, got 0 \(nothing masked leaves nothing to predict: the loss would be 0\)'),
    ('model.backbone.img_size=abc',  # issue 19: "too many values to unpack"
     r"SCOTT: img_size='abc' must be an int or \(height, width\) of positive ints"),
    ('optim_wrapper.optimizer.lr=abc',  # issue 19: a TypeError inside torch
     r"optim_wrapper.optimizer.lr='abc' must be a number >= 0"),
    ('train_dataloader.batch_size=16',  # issue 19: "epoch_length must be a positive integer"
     r'train_dataloader.batch_size=16 > dataset size 8 with drop_last=True: an epoch would have '
     r'no batch. Lower train_dataloader.batch_size or set train_dataloader.drop_last=False.'),
]


@pytest.mark.parametrize('option,message', BAD_OPTIONS,
                         ids=[o.split('=')[0] for o, _ in BAD_OPTIONS])
def test_bad_config_value_fails_before_training(tmp_path, photo_folder, option, message,
                                                 quick_runs):
    from tools import train
    work = tmp_path / 'work'
    with pytest.raises(ValueError, match=message):
        train.main([write_jepa_config(tmp_path / 'cfg.py', photo_folder), '--work-dir', str(work),
                    '--cfg-options', option])
    assert not list(work.glob('*.pth')) and not (work / 'last_checkpoint').exists()


def test_minkowski_backend_without_minkowski_engine_says_what_to_do(tmp_path, photo_folder):
    """In a real process where ``import MinkowskiEngine`` fails (as on a host without it)."""
    cfg = write_jepa_config(tmp_path / 'cfg.py', photo_folder)
    blocked = (
        "import runpy, sys; sys.modules['MinkowskiEngine'] = None; "  # makes the import fail
        f"sys.argv = ['tools/train.py', {cfg!r}, '--work-dir', {str(tmp_path / 'work')!r}, "
        "'--cfg-options', 'model.backbone.backend=minkowski']; "
        "runpy.run_path('tools/train.py', run_name='__main__')")
    result = subprocess.run([sys.executable, '-c', blocked], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0
    assert ("ImportError: The SCOTT tokenizer backend 'minkowski' needs MinkowskiEngine, which "
            'is not importable here') in result.stderr
    assert 'tools/install_minkowski.sh' in result.stderr and "backend='dense'" in result.stderr
    assert not list((tmp_path / 'work').glob('*.pth'))
