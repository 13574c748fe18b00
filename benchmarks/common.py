"""Shared benchmark plumbing.

Speed: the backends being compared run in one process, alternating step by step, and each ratio
is the median of the per-round ratios, so slow drifts of a noisy machine hit both sides alike.
Memory: each backend runs alone in a fresh subprocess, so its peak is its own. Peak memory on CPU
is the growth of the process's peak resident set (ru_maxrss) over what it held just before the
measured work; on GPU it is torch.cuda.max_memory_allocated.
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


def time_interleaved(steps: dict, repeats: int, warmup: int = 1) -> dict:
    """{name: [seconds per round]} of the ``steps`` (name -> callable), called in turn."""
    def timed(fn):
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - t

    for _ in range(warmup):
        for fn in steps.values():
            timed(fn)
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            times[name].append(timed(fn))
    return times


def median(values):
    return sorted(values)[len(values) // 2]


def paired_ratio(times: dict, name: str, reference: str) -> float:
    """Median over rounds of times[name] / times[reference]."""
    return median([a / b for a, b in zip(times[name], times[reference])])


def peak_memory_mib(step, device: torch.device, calls: int = 2) -> float:
    """Peak memory of ``calls`` calls of ``step()`` (the first one allocates); see the module
    docstring for what is counted. Run it in a fresh process per case."""
    before = peak_rss_mib()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    for _ in range(calls):
        step()
    return (torch.cuda.max_memory_allocated() / 2**20 if device.type == 'cuda'
            else peak_rss_mib() - before)


def benchmark_args(description: str, repeats: int, out: str, add_arguments=None, img=224):
    """The arguments every benchmark takes; ``--case`` is the per-case child process.
    ``add_arguments(parser)`` adds a benchmark's own."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument('--case', help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--img', type=int, default=img)
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


def run(module, case, label):
    """``run_case_in_subprocess``, or None (reported) when the case fails."""
    try:
        return run_case_in_subprocess(module, case)
    except RuntimeError as err:  # e.g. no CUDA build of MinkowskiEngine on a GPU host
        print(f'  {label}: failed: {str(err).splitlines()[-1]}', flush=True)
        return None


def measure_backends(module: str, case: dict, backends: list, label: str) -> list:
    """One row per backend: ``backends`` timed alternately in one subprocess (``all_seconds``,
    median ``seconds``, ``ratio_vs_dense`` paired per round), then each one's ``peak_mib`` in
    its own subprocess. Failed cases give NaN (and are reported)."""
    timed = run(module, dict(case, backends=backends, measure='time'), label)
    rows = []
    for backend in backends:
        memory = run(module, dict(case, backends=[backend], measure='memory'),
                     f'{label} {backend} memory')
        times = timed['times'][backend] if timed else [float('nan')]
        rows.append(dict(case, backend=backend, all_seconds=times, seconds=median(times),
                         ratio_vs_dense=paired_ratio(timed['times'], backend, 'dense')
                         if timed else float('nan'),
                         peak_mib=memory['peak_mib'] if memory else float('nan')))
    return rows


def machine() -> dict:
    """What the numbers were measured on: ratios differ between CPU models and ISA levels."""
    return dict(cpu=platform.processor() or platform.machine(), cpu_model=cpu_model(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(), cores=os.cpu_count(),
                torch_threads=torch.get_num_threads(), torch=torch.__version__,
                gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None)


def cpu_model():
    """The CPU's marketing name from /proc/cpuinfo (None where there is none)."""
    if not os.path.exists('/proc/cpuinfo'):
        return None
    with open('/proc/cpuinfo') as f:
        return next((line.split(':', 1)[1].strip() for line in f
                     if line.startswith('model name')), None)


def print_table(rows, columns):
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print('  '.join(str(r[c]).ljust(w) for c, w in zip(columns, widths)))


def report(path: str, benchmark: str, command: str, columns: list, rows: list, **settings):
    """Print ``rows`` as a table (floats to 2 decimals) and write them with the machine to
    ``path``; ``columns`` are the ones shown (rows may hold more, e.g. every round's timing)."""
    print_table([{c: (f'{r[c]:.2f}' if isinstance(r[c], float) else r[c]) for c in columns}
                 for r in rows], columns)
    write_json(path, dict(benchmark=benchmark, machine=machine(), **settings, command=command,
                          columns=columns, rows=rows))


def write_json(path: str, payload: dict):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(payload, f, indent=2)
    print(f'wrote {path}')
