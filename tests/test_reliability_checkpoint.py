"""A checkpoint that needs a global outside scott_mm's allow-list is refused, clearly."""
import argparse
import pickle

import pytest
import torch

from scott_mm.engine import RefusedCheckpointError
from scott_mm.engine.checkpoint_globals import refusal
from tests.test_kill_resume import quick_runs, write_jepa_config  # noqa: F401


def test_resuming_a_tampered_checkpoint_names_the_file_and_the_global(tmp_path, photo_folder,
                                                                      quick_runs):
    from tools import train
    tampered = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1, 'iter': 4}, 'state_dict': {},
                'payload': argparse.Namespace(command='anything')}, tampered)
    with pytest.raises(RefusedCheckpointError) as err:
        train.main([write_jepa_config(tmp_path / 'cfg.py', photo_folder), '--work-dir',
                    str(tmp_path / 'work'), '--resume', str(tampered)])
    message = str(err.value)
    assert message.startswith(f'Refusing to load {tampered}: it needs argparse.Namespace, '
                              "which is not on scott_mm's allow-list")
    assert 'refuses unknown globals on purpose' in message
    assert isinstance(err.value, pickle.UnpicklingError)  # callers catching torch's error still do
    assert isinstance(err.value.__cause__, pickle.UnpicklingError)  # torch's own message kept


def test_other_unpickling_errors_pass_through_unchanged():
    err = pickle.UnpicklingError('invalid load key, 0x00')
    assert refusal('some.pth', err) is err
