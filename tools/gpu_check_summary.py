"""The last step of tools/gpu_check.sh: one summary.json and a short table of what ran.

    python tools/gpu_check_summary.py STEPS_TSV OUT DEVICE SECONDS

Reads the steps' exit codes (STEPS_TSV: name, exit code or 'skipped', seconds, status), the
test report (OUT/tests.xml), the benchmark (OUT/pretrain_step.json) and the pretraining's
scalars (OUT/pretrain_scalars.json), whichever exist.
"""
import json
import statistics
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def read_steps(path: Path) -> list:
    steps = []
    for line in path.read_text().splitlines():
        name, code, seconds, status = line.split('\t', 3)
        steps.append(dict(name=name, exit=None if code == 'skipped' else int(code),
                          seconds=int(seconds), status=status if code != 'skipped' else
                          f'skipped: {status}'))
    return steps


def read_tests(path: Path):
    if not path.exists():
        return None
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == 'testsuite' else suite.find('testsuite')
    counts = {k: int(suite.get(k, 0)) for k in ('tests', 'failures', 'errors', 'skipped')}
    counts['not_passed'] = [case.get('classname', '') + '::' + case.get('name', '')
                            for case in suite.iter('testcase')
                            if case.find('failure') is not None or case.find('error') is not None]
    return counts


def read_benchmark(path: Path):
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    keep = ['device', 'dtype', 'backend', 's/step', 'img/s', 'peak MiB', 'time vs dense',
            'speed vs authors']
    return dict(title=data['title'], machine=data['machine'],
                rows=[{k: row.get(k) for k in keep} for row in data['rows']])


def read_pretraining(path: Path):
    if not path.exists():
        return None
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    train = [x for x in lines if 'loss' in x]
    monitor = [{k: v for k, v in x.items() if k.startswith('monitor/') or k == 'iter'}
               for x in lines if any(k.startswith('monitor/') for k in x)]
    times = [x['time'] for x in train if 'time' in x]
    return dict(iterations=max((x.get('iter', 0) for x in lines), default=0),
                first_loss=train[0]['loss'] if train else None,
                last_loss=train[-1]['loss'] if train else None,
                median_s_per_iter=statistics.median(times) if times else None,
                monitor=monitor)


def main(steps_tsv, out, device, seconds):
    out = Path(out)
    summary = dict(device=device, seconds=int(seconds), steps=read_steps(Path(steps_tsv)),
                   tests=read_tests(out / 'tests.xml'),
                   benchmark=read_benchmark(out / 'pretrain_step.json'),
                   pretraining=read_pretraining(out / 'pretrain_scalars.json'))
    (out / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')

    print(f'\n=== gpu_check summary ({device}, {seconds} s) ===')
    for s in summary['steps']:
        print(f"  {s['name']:<10} {s['status']:<40} {s['seconds']:>5} s")
    if summary['tests']:
        t = summary['tests']
        print(f"  tests: {t['tests']} run, {t['failures']} failed, {t['errors']} errors, "
              f"{t['skipped']} skipped {t['not_passed'] or ''}")
    if summary['benchmark']:
        print(f"  {summary['benchmark']['title']}")
        for row in summary['benchmark']['rows']:
            print('    ' + '  '.join(f'{k}={v}' for k, v in row.items()))
    if summary['pretraining']:
        p = summary['pretraining']
        print(f"  pretraining: {p['iterations']} iterations, loss {p['first_loss']} -> "
              f"{p['last_loss']}, {p['median_s_per_iter']} s/iter")
        for point in p['monitor']:
            print('    ' + '  '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}'
                                     for k, v in point.items()))
    print(f'  files: {", ".join(sorted(p.name for p in out.iterdir()))}')


if __name__ == '__main__':
    main(*sys.argv[1:5])
