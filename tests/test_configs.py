"""Every config in configs/ loads and names only registered types."""
from pathlib import Path

import pytest
from mmengine.config import Config

CONFIGS = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / 'configs').rglob('*.py'))


def test_there_are_configs():
    assert any(p.endswith('default_runtime.py') for p in CONFIGS)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.split('configs/')[-1])
def test_config_loads(path):
    cfg = Config.fromfile(path)
    if 'default_scope' in cfg:
        assert cfg.default_scope == 'mmpretrain'
        assert cfg.custom_imports.imports == ['scott_mm']
