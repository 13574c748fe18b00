"""tools/update_readme_results.py rewrites only the results block, from whatever JSON and PNG
files exist, and survives files it does not understand."""
import json
import math

import pytest

from tests.conftest import REPO
from tools import update_readme_results as upd

BEFORE = '# title\n\nText before, kept byte for byte.  \r\n\n## Results\n\n'
START = '<!-- results:start (generated; do not edit by hand) -->\n'
END = '<!-- results:end -->\n'
AFTER = '\n## Licence\n\nText after.\n'


@pytest.fixture
def repo(tmp_path):
    results = tmp_path / 'benchmarks' / 'results'
    results.mkdir(parents=True)
    (results / 'tokenizer.json').write_text(json.dumps(dict(
        benchmark='tokenizer fwd+bwd', machine=dict(cpu='x86_64', cores=2, gpu=None),
        batch=16, rows=[dict(backend='dense', ratio=0.6, seconds=0.123456, all_seconds=[0.1]),
                        dict(backend='minkowski', ratio=0.6, seconds=math.nan, error='a|b')])))
    (results / 'bare_list.json').write_text(json.dumps([dict(model='probe', top1=71.25)]))
    (results / 'flat.json').write_text(json.dumps(dict(top1=80.5, top5=97.0)))
    (results / 'broken.json').write_text('{"rows": [')
    (results / 'numbers.json').write_text('[1, 2, 3]')
    (results / 'nested.json').write_text(json.dumps(dict(runs=dict(a=1))))
    (tmp_path / 'docs').mkdir()
    for name in ('masked_tokenizer.png', 'demo_curves.png'):
        (tmp_path / 'docs' / name).write_bytes(b'\x89PNG')
    (results / 'speed.png').write_bytes(b'\x89PNG')
    readme = tmp_path / 'README.md'
    readme.write_bytes((BEFORE + START + 'stale text\n' + END + AFTER).encode())
    return tmp_path


def run(repo, *extra):
    return upd.main(['--readme', str(repo / 'README.md'), '--root', str(repo), *extra])


def block_of(text):
    return text.split(START, 1)[1].split(END, 1)[0]


def test_rewrites_only_the_block(repo):
    assert run(repo, '--check') == 1
    assert run(repo) == 0
    text = (repo / 'README.md').read_bytes().decode()
    assert text.startswith(BEFORE + START) and text.endswith(END + AFTER)
    block = block_of(text)
    assert 'stale text' not in block
    assert run(repo, '--check') == 0  # idempotent: a second run changes nothing
    assert (repo / 'README.md').read_bytes().decode() == text


def test_tables_and_notes(repo):
    run(repo)
    block = block_of((repo / 'README.md').read_text())
    assert '#### tokenizer fwd+bwd' in block
    assert 'Machine: cpu x86_64, cores 2.' in block and 'Settings: batch 16.' in block
    assert '| backend | ratio | seconds | error |' in block  # the list column is left out
    assert '| dense | 0.6 | 0.1235 | - |' in block
    assert '| minkowski | 0.6 | n/a | a\\|b |' in block
    assert '| model | top1 |' in block and '| probe | 71.25 |' in block
    assert '| top1 | top5 |' in block and '| 80.5 | 97 |' in block
    assert '`benchmarks/results/broken.json`: not readable as JSON' in block
    assert '`benchmarks/results/numbers.json`: a JSON list, not a table' in block
    assert '`benchmarks/results/nested.json`: no list of rows (keys: runs)' in block


def test_pictures_are_linked(repo):
    run(repo)
    block = block_of((repo / 'README.md').read_text())
    assert block.index('### How it works') < block.index(
        '![the sparse tokenizer on a masked image](docs/masked_tokenizer.png)')
    assert '![demo_curves](docs/demo_curves.png)' in block
    assert '![speed](benchmarks/results/speed.png)' in block
    assert 'TensorboardVisBackend' in block


def test_no_results_yet(tmp_path):
    (tmp_path / 'README.md').write_text(START + END)
    run(tmp_path)
    block = block_of((tmp_path / 'README.md').read_text())
    assert 'No results yet' in block and '![' not in block


def test_missing_markers_refused(tmp_path):
    (tmp_path / 'README.md').write_text('# no markers\n')
    with pytest.raises(ValueError, match='results:start'):
        run(tmp_path)
    (tmp_path / 'README.md').write_text(END + START)  # wrong order
    with pytest.raises(ValueError, match='results:end'):
        run(tmp_path)


def test_the_real_readme_has_the_markers():
    text = (REPO / 'README.md').read_text()
    updated = upd.replace_block(text, upd.results_block(str(REPO)))
    assert updated.split('<!-- results:start', 1)[0] == text.split('<!-- results:start', 1)[0]
    assert updated.split('<!-- results:end -->', 1)[1] == text.split('<!-- results:end -->', 1)[1]


def test_embedded_table_is_filled_from_its_json(repo):
    prose = ('Measured:\n\n<!-- table: benchmarks/results/tokenizer.json -->\n| stale |\n'
             '<!-- /table -->\n\nMore prose.\n')
    readme = repo / 'README.md'
    readme.write_text(BEFORE + prose + START + END + AFTER)
    assert run(repo, '--check') == 1
    run(repo)
    text = readme.read_text()
    assert ('<!-- table: benchmarks/results/tokenizer.json -->\n'
            '| backend | ratio | seconds | error |\n|---|---|---|---|\n'
            '| dense | 0.6 | 0.1235 | - |\n| minkowski | 0.6 | n/a | a\\|b |\n'
            '<!-- /table -->\n\nMore prose.\n') in text
    assert '| stale |' not in text
    assert run(repo, '--check') == 0


def test_embedded_table_without_its_json_is_an_error(repo):
    (repo / 'README.md').write_text('<!-- table: benchmarks/results/missing.json -->\n'
                                    '<!-- /table -->\n' + START + END)
    with pytest.raises(ValueError, match='missing.json.*run the benchmark'):
        run(repo)


def test_the_real_readme_tables_are_current():
    """The tables in the README's prose are what their JSONs hold now (regenerate with
    tools/update_readme_results.py after a benchmark rewrites one)."""
    text = (REPO / 'README.md').read_text()
    assert upd.embedded_tables(text, str(REPO)) == text


def test_unclosed_table_marker_is_an_error(repo):
    (repo / 'README.md').write_text('<!-- table: benchmarks/results/tokenizer.json -->\nprose\n'
                                    + START + END)
    with pytest.raises(ValueError, match='close every table marker'):
        run(repo)
