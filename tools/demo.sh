#!/usr/bin/env bash
# The main job (`make demo`): MIM-JEPA pretraining on the embedded Fashion-MNIST photos, then a
# linear probe on its frozen features, next to the same probe on an untrained encoder (the
# baseline any self-supervised claim must beat). About 10 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${WORK_DIR:-work_dirs/demo}

bash tools/fetch_fashion_mnist.sh >/dev/null

echo "== 1/3 MIM-JEPA pretraining (configs/scott_jepa_demo.py) -> $OUT/pretrain"
$PY tools/train.py configs/scott_jepa_demo.py --work-dir "$OUT/pretrain" "$@"
CKPT=$(cat "$OUT/pretrain/last_checkpoint")

echo "== 2/3 linear probe on the pretrained context encoder -> $OUT/probe_pretrained"
$PY tools/train.py configs/linear_probe_demo.py --work-dir "$OUT/probe_pretrained" \
    --cfg-options model.backbone.init_cfg.checkpoint="$CKPT"
$PY tools/test.py configs/linear_probe_demo.py "$(cat "$OUT/probe_pretrained/last_checkpoint")" \
    --work-dir "$OUT/probe_pretrained" --out "$OUT/probe_pretrained/test_metrics.json"

echo "== 3/3 the same probe on an untrained encoder -> $OUT/probe_random_init"
$PY tools/train.py configs/linear_probe_demo.py --work-dir "$OUT/probe_random_init" \
    --cfg-options model.backbone.init_cfg=None
$PY tools/test.py configs/linear_probe_demo.py "$(cat "$OUT/probe_random_init/last_checkpoint")" \
    --work-dir "$OUT/probe_random_init" --out "$OUT/probe_random_init/test_metrics.json"

$PY - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
rows = [(name, json.load(open(f'{out}/{name}/test_metrics.json'))['accuracy/top1'])
        for name in ('probe_pretrained', 'probe_random_init')]
print('\nFashion-MNIST test accuracy, linear probe on 1,000 labels, frozen encoder:')
for name, acc in rows:
    print(f'  {name:<20} {acc:6.2f} %')
print(f'Checkpoints, logs and metrics: {out}/')
PYEOF
