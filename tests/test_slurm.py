"""tools/slurm_train.sh and slurm_test.sh against a fake ``srun`` (and ``scontrol``) on PATH.

The fake srun writes its command line, then runs the command as the single task of a job, with
the SLURM_* variables a real srun would set; mmengine's slurm launcher reads those.
"""
import os
import subprocess

from tests.conftest import REPO
from tests.test_distributed import free_port, load_probe, probe_config, run, tiny_options

FAKE_SRUN = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$SRUN_RECORD"
[ -n "${SRUN_DRY:-}" ] && exit 0
while [ $# -gt 0 ]; do  # skip srun's own options: the command starts at the first non-option
    case $1 in -p) shift 2 ;; -*) shift ;; *) break ;; esac
done
SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NTASKS=1 SLURM_NODELIST=localhost exec "$@"
"""
FAKE_SCONTROL = """#!/bin/sh
# `scontrol show hostname NODELIST`: one host per line (the fake node list has one)
echo "$3"
"""


def fake_slurm(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('srun', FAKE_SRUN), ('scontrol', FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    record = tmp_path / 'srun_args.txt'
    env = dict(PATH=f'{bin_dir}:{os.environ["PATH"]}', SRUN_RECORD=str(record),
               GPUS='1', GPUS_PER_NODE='1', CPUS_PER_TASK='2', SRUN_ARGS='--time=10 --quiet')
    return env, record


def check_srun_options(args):
    assert args[:2] == ['-p', 'cpu-part']
    for option in ('--job-name=jepa', '--gres=gpu:1', '--ntasks=1', '--ntasks-per-node=1',
                   '--cpus-per-task=2', '--kill-on-bad-exit=1', '--time=10', '--quiet'):
        assert option in args, option


def test_slurm_train_runs_through_srun_with_the_slurm_launcher(tmp_path):
    env, record = fake_slurm(tmp_path)
    config, work_dir = probe_config(tmp_path), tmp_path / 'work'
    options = tiny_options(batch_size=8, num_images=16)
    run(['bash', 'tools/slurm_train.sh', 'cpu-part', 'jepa', config, str(work_dir)] + options,
        tmp_path / 'slurm_train.log', MASTER_PORT=str(free_port()), **env)

    args = record.read_text().splitlines()
    check_srun_options(args)
    command = args[args.index('-u') - 1:]
    # The venv's python, not the first one on PATH (unless PY names another).
    assert command[0] == os.environ.get('PY', str(REPO / '.venv' / 'bin' / 'python'))
    assert command[1:] == ['-u', str(REPO / 'tools' / 'train.py'), config,
                           f'--work-dir={work_dir}', '--launcher=slurm'] + options
    # mmengine ran distributed from the SLURM_* variables (one task) and trained 2 iterations.
    probe = load_probe(work_dir, 0)
    assert (probe['rank'], probe['world_size']) == (0, 1)
    assert probe['wrapped'] == 'MMDistributedDataParallel'
    assert len(probe['losses']) == 2 and len(probe['saved']) == 1
    assert (work_dir / 'epoch_1.pth').is_file()


def test_slurm_test_command_line(tmp_path):
    env, record = fake_slurm(tmp_path)
    subprocess.run(['bash', str(REPO / 'tools' / 'slurm_test.sh'), 'cpu-part', 'jepa', 'cfg.py',
                    'ckpt.pth', '--out', 'metrics.json'],
                   env=dict(os.environ, SRUN_DRY='1', **env), check=True)
    args = record.read_text().splitlines()
    check_srun_options(args)
    assert args[args.index('-u') + 1:] == [str(REPO / 'tools' / 'test.py'), 'cfg.py', 'ckpt.pth',
                                           '--launcher=slurm', '--out', 'metrics.json']
