"""The benchmark plumbing: backends alternate in one process, ratios are paired per round."""
import pytest

from benchmarks.common import paired_ratio, time_interleaved
from benchmarks.tokenizer import run_case


def test_steps_alternate_round_by_round():
    calls = []
    steps = {name: (lambda name=name: calls.append(name)) for name in ('dense', 'sparse')}
    times = time_interleaved(steps, repeats=3, warmup=1)
    assert calls == ['dense', 'sparse'] * 4
    assert {name: len(t) for name, t in times.items()} == {'dense': 3, 'sparse': 3}


def test_paired_ratio_is_the_median_of_per_round_ratios():
    times = {'dense': [1.0, 2.0, 4.0], 'sparse': [0.5, 0.6, 3.0]}  # ratios 0.5, 0.3, 0.75
    assert paired_ratio(times, 'sparse', 'dense') == pytest.approx(0.5)


@pytest.mark.parametrize('measure', ['time', 'memory'])
def test_tokenizer_case_runs_on_real_backends(measure):
    case = dict(device='cpu', batch=2, img=32, repeats=2, threads=1, ratio=0.5, measure=measure,
                backends=['dense', 'minkowski'] if measure == 'time' else ['minkowski'])
    result = run_case(case)
    if measure == 'time':
        assert all(len(t) == 2 and min(t) > 0 for t in result['times'].values())
    else:
        assert result['peak_mib'] >= 0


def test_pretrain_step_case_times_both_backends_on_the_real_model():
    from benchmarks.pretrain_step import BACKENDS, SCOTT_S, run_case as step_case
    case = dict(device='cpu', batch=2, img=64, repeats=1, threads=1, authors=None,
                config=SCOTT_S, measure='time', backends=list(BACKENDS))
    result = step_case(case)
    assert set(result['times']) == {'dense', 'minkowski', 'dense+visible', 'minkowski+visible'}
    assert all(len(t) == 1 and t[0] > 0 for t in result['times'].values())


def test_authors_reference_names_a_wrong_checkout(tmp_path):
    from benchmarks.authors_reference import build_authors_step
    with pytest.raises(SystemExit, match='inescopresearch/scott'):
        build_authors_step(str(tmp_path), views=None, masked=None)


def test_attention_benchmark_times_both_kernels_and_reports(tmp_path, capsys):
    import json

    from benchmarks.attention import measure
    from benchmarks.common import report
    times = measure(batch=2, tokens=5, heads=1, repeats=2)
    assert set(times) == {'bf16', 'fp32'} and all(min(t) > 0 for t in times.values())
    report(str(tmp_path / 'a.json'), 'attention', 'cmd', ['batch', 'ms'],
           [dict(batch=2, ms=1.234, all_seconds=times)], repeats=2)
    written = json.loads((tmp_path / 'a.json').read_text())
    assert written['machine']['cpu_capability'] and written['columns'] == ['batch', 'ms']
    assert written['rows'][0]['all_seconds'] == times and '1.23' in capsys.readouterr().out


@pytest.mark.parametrize('masked', [False, True])
def test_memory_format_benchmark_runs_both_layouts(masked):
    from benchmarks.memory_format import steps
    from scott_mm.models.sparse.dense import DenseMaskedBackend
    for step in steps(batch=2, img=32, dtype='bf16', masked=masked).values():
        step()
    assert DenseMaskedBackend.channels_last_on_cpu  # the switch is restored
