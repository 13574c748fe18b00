"""Regenerate the README's results block from benchmarks/results/*.json and the PNGs at hand.

    python tools/update_readme_results.py            # rewrite the block in README.md
    python tools/update_readme_results.py --check    # exit 1 if the block is out of date

Only the text between ``<!-- results:start ... -->`` and ``<!-- results:end -->`` changes, and
the table between ``<!-- table: PATH -->`` and ``<!-- /table -->`` anywhere in the prose, which
becomes the rows of the JSON at PATH (relative to the repository root); the marker lines and
everything else stay byte for byte. A benchmark JSON is expected to look like
``{"benchmark": name, "machine": {...}, "rows": [{...}, ...]}`` (what benchmarks/common.py
writes); a bare list of row dicts or a flat dict of numbers also becomes a table, and anything
else (unreadable, other shapes) is named in the block and skipped, never fatal; an embedded
table whose JSON is missing, or a table marker without its end, is an error. PNGs under
docs/ and benchmarks/results/ are linked as pictures.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import re
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
START = re.compile(r'^<!-- results:start.*-->[ \t]*$', re.MULTILINE)
END = re.compile(r'^<!-- results:end -->[ \t]*$', re.MULTILINE)
TABLE = re.compile(r'^(<!-- table: (\S+) -->[ \t]*\r?\n)(.*?)^(<!-- /table -->)',
                   re.MULTILINE | re.DOTALL)
TOKENIZER_PICTURE = 'docs/masked_tokenizer.png'
MAX_COLUMNS = 12
CAPTIONS = {  # what the pictures the tools write by default show; others get their file name
    'demo_masks': 'What pretraining sees (`tools/visualize_masks.py`): each image, the context '
                  'view with its masked patches hatched, the target view, the mask.',
    'demo_features': 'What the encoder learnt (`tools/visualize_features.py`): PCA of the patch '
                     'features as RGB and last-layer attention from the marked patch, per head.',
    'demo_curves': 'Training curves (`tools/plot_logs.py`): loss, collapse diagnostics '
                   '(`target_std`, `target_rank`), learning rate and probe accuracy.',
}

HOW_IT_WORKS = """\
### How it works

An image is cut into 16x16 patches and a blockwise mask hides 60% of them (117 of 196). The
context encoder's tokenizer, a small CNN (conv 7x7/s2, ReLU, MaxBlurPool, conv 7x7/s2, ReLU,
MaxBlurPool), computes only at the visible sites: every layer keeps the visible patches at its
own resolution (112, 56, 28, then 14 = one site per token), so a masked pixel neither feeds nor
receives anything, and the masked slots of the 196-token sequence hold a learned mask
embedding. A transformer encodes that sequence, a small predictor fills in the latents of the
masked slots, and the loss compares them with the layer-normed features an EMA copy of the
encoder computes from the whole second view. The picture is the real computation on a real
photo, made with the tokenizer's own layers by `tools/draw_masked_tokenizer.py` (random
weights; grey = masked, colour = activation strength).
"""

PICTURE_COMMANDS = """\
Pictures of a run (demo shown; any config and checkpoint work):

```bash
python tools/visualize_masks.py configs/scott_jepa_demo.py --out docs/demo_masks.png
python tools/visualize_features.py configs/scott_jepa_demo.py \\
    "$(cat work_dirs/demo/pretrain/last_checkpoint)" --out docs/demo_features.png
python tools/plot_logs.py work_dirs/demo/pretrain --out docs/demo_curves.png
python tools/update_readme_results.py   # this block
```

`tools/plot_logs.py` reads mmengine's `LocalVisBackend` logs
(`<work_dir>/<timestamp>/vis_data/scalars.json`). For TensorBoard, `pip install tensorboard`
(not a requirement of scott_mm) and set in a config
`visualizer = dict(type='UniversalVisualizer', vis_backends=[dict(type='LocalVisBackend'),
dict(type='TensorboardVisBackend')])`, then `tensorboard --logdir work_dirs/<name>`.
"""


def cell(value):
    """One table cell: 4 significant digits for floats, 'n/a' for NaN, no stray pipes."""
    if value is None:
        return '-'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, float):
        return 'n/a' if math.isnan(value) else f'{value:.4g}'
    if isinstance(value, (list, dict)):
        return '...'
    return str(value).replace('|', '\\|').replace('\n', ' ')


def table(rows, columns=None):
    """Markdown table of row dicts: the benchmark's own ``columns`` when it names them, else
    columns in order of first appearance, nested values left out (e.g. every repeat's timing),
    at most MAX_COLUMNS."""
    if not columns:
        columns = []
        for row in rows:
            for key, value in row.items():
                if key not in columns and not isinstance(value, (list, dict)):
                    columns.append(key)
    columns = list(columns)[:MAX_COLUMNS]
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    lines += ['| ' + ' | '.join(cell(row.get(c)) for c in columns) + ' |' for row in rows]
    return '\n'.join(lines)


def describe_machine(machine):
    if isinstance(machine, dict):
        return ', '.join(f'{k} {cell(v)}' for k, v in machine.items() if v is not None)
    return cell(machine)


def benchmark_section(path, rel):
    """Markdown for one JSON file; a note instead of a table when its shape is unknown."""
    name = osp.splitext(osp.basename(path))[0]
    try:
        with open(path) as f:
            payload = json.load(f)
    except (OSError, ValueError) as err:
        return f'- `{rel}`: not readable as JSON ({type(err).__name__}), skipped.'
    if isinstance(payload, list) and payload and all(isinstance(r, dict) for r in payload):
        payload = dict(rows=payload)
    if not isinstance(payload, dict):
        return f'- `{rel}`: a JSON {type(payload).__name__}, not a table, skipped.'
    rows = payload.get('rows')
    if rows is None and payload and all(isinstance(v, (int, float, str, bool))
                                        for v in payload.values()):
        rows = [payload]
        payload = dict(benchmark=name)
    if not (isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows)):
        keys = ', '.join(sorted(map(str, payload)))[:200]
        return f'- `{rel}`: no list of rows (keys: {keys}), skipped.'
    lines = [f"#### {cell(payload.get('benchmark', name))}", '',
             f'From `{rel}`.' + (f" Machine: {describe_machine(payload['machine'])}."
                                 if payload.get('machine') else '')]
    settings = {k: v for k, v in payload.items()
                if k not in ('benchmark', 'machine', 'rows', 'columns', 'title')
                and isinstance(v, (int, float, str))}
    if settings:
        text = ', '.join(f'{k} {cell(v)}' for k, v in settings.items())
        lines.append(f"Settings: {text}{'' if text.endswith('.') else '.'}")
    if isinstance(payload.get('title'), str):
        lines.append(payload['title'] + '.')
    return '\n'.join(lines + ['', table(rows, payload.get('columns'))])


def pictures(root):
    """Repo-relative PNG paths under docs/ and benchmarks/results/, sorted."""
    found = []
    for folder in ('docs', osp.join('benchmarks', 'results')):
        found += sorted(glob.glob(osp.join(root, folder, '**', '*.png'), recursive=True))
    return [osp.relpath(p, root).replace(os.sep, '/') for p in found]


def results_block(root):
    """The generated markdown that goes between the markers."""
    parts = [HOW_IT_WORKS]
    pngs = pictures(root)
    if TOKENIZER_PICTURE in pngs:
        parts.append(f'![the sparse tokenizer on a masked image]({TOKENIZER_PICTURE})\n')
    parts.append('### Benchmarks\n')
    jsons = sorted(glob.glob(osp.join(root, 'benchmarks', 'results', '*.json')))
    if jsons:
        parts += [benchmark_section(p, osp.relpath(p, root).replace(os.sep, '/')) + '\n'
                  for p in jsons]
    else:
        parts.append('No results yet: run a benchmark (e.g. `python -m benchmarks.tokenizer`),\n'
                     'then `python tools/update_readme_results.py`.\n')
    others = [p for p in pngs if p != TOKENIZER_PICTURE]
    parts.append('### Pictures\n')
    for path in others:
        name = osp.splitext(osp.basename(path))[0]
        caption = CAPTIONS.get(name)
        parts.append((caption + '\n\n' if caption else '') + f'![{name}]({path})\n')
    parts.append(PICTURE_COMMANDS)
    return '\n'.join(parts)


def replace_block(text, block):
    """``text`` with the lines between the markers replaced by ``block``."""
    start, end = START.search(text), END.search(text)
    if start is None or end is None or end.start() < start.end():
        raise ValueError('update_readme_results: the README needs a line '
                         '"<!-- results:start ... -->" followed later by "<!-- results:end -->"')
    return text[:start.end()] + '\n' + block.rstrip('\n') + '\n' + text[end.start():]


def embedded_tables(text, root):
    """``text`` with every ``<!-- table: PATH -->`` ... ``<!-- /table -->`` filled with PATH's
    rows; a missing or unreadable PATH is an error naming it, not a silently stale table."""
    def fill(match):
        path = osp.join(root, match.group(2))
        try:
            with open(path, encoding='utf-8') as f:
                payload = json.load(f)
            rows = payload['rows']
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f'update_readme_results: the table marker "{match.group(1).strip()}"'
                             f' needs a JSON with "rows" at {path} ({type(err).__name__}: '
                             f'{err}); run the benchmark that writes it') from None
        return match.group(1) + table(rows, payload.get('columns')) + '\n' + match.group(4)
    opened = len(re.findall(r'^<!-- table: ', text, re.MULTILINE))
    closed = len(re.findall(r'^<!-- /table -->', text, re.MULTILINE))
    if opened != closed:
        raise ValueError(f'update_readme_results: {opened} "<!-- table: PATH -->" markers but '
                         f'{closed} "<!-- /table -->": close every table marker')
    return TABLE.sub(fill, text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--readme', default=osp.join(REPO, 'README.md'))
    parser.add_argument('--root', default=REPO,
                        help='repository root holding benchmarks/results/ and docs/')
    parser.add_argument('--check', action='store_true',
                        help='change nothing; exit 1 if the block is out of date')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with open(args.readme, encoding='utf-8', newline='') as f:
        text = f.read()
    updated = replace_block(embedded_tables(text, args.root), results_block(args.root))
    if args.check:
        stale = updated != text
        print(f"{args.readme}: results block {'is out of date' if stale else 'is current'}")
        return 1 if stale else 0
    if updated != text:
        with open(args.readme, 'w', encoding='utf-8', newline='') as f:
            f.write(updated)
        print(f'updated the results block of {args.readme}')
    else:
        print(f'{args.readme}: results block already current')
    return 0


if __name__ == '__main__':
    sys.exit(main())
