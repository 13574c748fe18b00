"""Two runs of one config in one process, started within the same second, log into their own
files. mmengine names the logger ``<config>_<second>`` and hands out an existing logger of that
name, so the second run's log went into the first run's file and its own was never written (a
flaky CI failure of test_batch_stream)."""
import time

from mmengine.config import Config
from mmengine.registry import RUNNERS

from tests.test_kill_resume import quick_runs, write_jepa_config  # noqa: F401


def test_runs_started_in_the_same_second_write_their_own_logs(
        tmp_path, photo_folder, quick_runs, monkeypatch):  # noqa: F811
    monkeypatch.setattr(time, 'strftime', lambda fmt, *args: '20261203_000000')  # one second
    path = tmp_path / 'same_name.py'
    write_jepa_config(path, photo_folder)
    runners = []
    for name in ('first', 'second'):
        cfg = Config.fromfile(str(path))
        cfg.work_dir = str(tmp_path / name)
        runners.append(RUNNERS.build(cfg))
        runners[-1].logger.info(f'this is the {name} run')
    first, second = runners
    assert first.experiment_name != second.experiment_name
    assert first.logger is not second.logger and first.visualizer is not second.visualizer
    for runner, name, other in ((first, 'first', 'second'), (second, 'second', 'first')):
        log = open(f'{runner.log_dir}/{runner.timestamp}.log').read()
        assert f'this is the {name} run' in log and f'this is the {other} run' not in log
