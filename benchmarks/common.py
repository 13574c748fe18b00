"""Shared benchmark plumbing: each case runs in a fresh subprocess so its peak memory is its own.

Peak memory on CPU is the growth of the process's peak resident set (ru_maxrss) over what it
held just before the measured work; on GPU it is torch.cuda.max_memory_allocated.
"""
import json
import os
import platform
import resource
import subprocess
import sys
import time

import torch


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def time_repeats(fn, repeats: int, warmup: int = 1):
    """Median and all wall times of ``fn()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2], times


def measure(step, repeats: int, device: torch.device):
    """(median seconds, all seconds, peak MiB) of ``step()``; peak as in the module docstring."""
    before = peak_rss_mib()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    median, times = time_repeats(step, repeats)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == 'cuda'
            else peak_rss_mib() - before)
    return median, times, peak


def benchmark_args(description: str, repeats: int, out: str):
    """The arguments every benchmark takes; ``--case`` is the per-case child process."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--case', help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--img', type=int, default=224)
    parser.add_argument('--repeats', type=int, default=repeats)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', default=out)
    return parser.parse_args()


def run_child_case(args, run_case) -> bool:
    """In a ``--case`` child: measure that one case, print it as JSON, return True."""
    if not args.case:
        return False
    case = json.loads(args.case)
    torch.set_num_threads(case['threads'])
    print(json.dumps(run_case(case)))
    return True


def run_case_in_subprocess(module: str, case: dict) -> dict:
    """Run ``python -m module --case JSON`` and return the JSON it prints last."""
    out = subprocess.run([sys.executable, '-m', module, '--case', json.dumps(case)],
                         capture_output=True, text=True, check=False,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out.returncode != 0:
        raise RuntimeError(f'benchmark case {case} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict:
    return dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                torch_threads=torch.get_num_threads(), torch=torch.__version__,
                gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None)


def print_table(rows, columns):
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print('  '.join(str(r[c]).ljust(w) for c, w in zip(columns, widths)))


def write_json(path: str, payload: dict):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(payload, f, indent=2)
    print(f'wrote {path}')
