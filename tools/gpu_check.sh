#!/usr/bin/env bash
# The device check of issue #16: one prepared script for one short GPU lease (<= 8 minutes).
#
#   python tools/prepare_gpu_bundle.py --authors PATH --flowers PATH   # here, with PyPI: gpu_bundle/
#   bash tools/gpu_check.sh                    # on the GPU machine (README, "GPU")
#   DEVICE=cpu bash tools/gpu_check.sh         # its rehearsal on a CPU machine
#
# Steps, in order of need. Each runs under its own time budget (cut to what is left of TOTAL_S),
# its output goes to $OUT/gpu_check.log and its exit code to $OUT/summary.json; a failing step
# never stops the others, and a step that cannot run is skipped with the reason printed.
#   env        what the machine has: GPU, Python, torch, cores, the bundle
#   install    the bundle's wheels into PYTHON, offline (pip --no-index)
#   minkowski  MinkowskiEngine 0.5.4 built CPU-only with all cores (tools/install_minkowski.sh)
#   scott_mm   pip install --no-deps -e .
#   tests      tests/test_gpu.py, tests/test_amp.py and the sparse-tokenizer tests
#   benchmark  benchmarks.pretrain_step on the device: both backends, fp32 and bf16, and the
#              authors' fp32 step when gpu_bundle/authors-scott is there
#   pretrain   configs/scott_jepa_flowers_gpu_check.py --amp on gpu_bundle/flowers-102-mini with
#              the learning monitor (backend minkowski, or dense if MinkowskiEngine did not build)
# Everything installed goes into a virtual environment over PYTHON's packages
# (tools/overlay_venv.py), so the machine's Python is left as it was. DEVICE=cpu: the same steps
# with CPU-sized settings, and the overlay sees only what the GPU image has too, so the bundle
# must bring the rest; the GPU tests then run on the CPU (SCOTT_MM_GPU_TESTS_ON_CPU=1).
# Environment: PYTHON (default python3, or .venv/bin/python for DEVICE=cpu), OUT (default
# work_dirs/gpu_check), BUNDLE (default gpu_bundle), TOTAL_S (default 470, cpu 3600).
# $OUT gets at most 6 files: gpu_check.log, summary.json, pretrain_step.json, pretrain.log,
# pretrain_scalars.json, tests.xml.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DEVICE=${DEVICE:-cuda}
BUNDLE=$(cd "${BUNDLE:-gpu_bundle}" 2>/dev/null && pwd) || BUNDLE=$REPO/gpu_bundle
OUT=${OUT:-$REPO/work_dirs/gpu_check}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
LOG=$OUT/gpu_check.log
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
: > "$LOG"
: > "$WORK/steps.tsv"
START=$(date +%s)

if [ "$DEVICE" = cpu ]; then
  TOTAL_S=${TOTAL_S:-3600}
  declare -A BUDGET=([env]=60 [install]=300 [minkowski]=1200 [scott_mm]=120 [tests]=900
                     [benchmark]=900 [pretrain]=600)
  BENCH_ARGS=(--batch 2 --img 64 --repeats 1 --threads 2 --devices cpu)
  PRETRAIN_ARGS=(train_dataloader.batch_size=4 train_dataloader.num_workers=1 train_cfg.max_iters=4
                 default_hooks.logger.interval=1 custom_hooks.0.interval=2
                 custom_hooks.0.dataset.num_labels=60)
  export SCOTT_MM_GPU_TESTS_ON_CPU=1
else
  TOTAL_S=${TOTAL_S:-470}
  declare -A BUDGET=([env]=30 [install]=60 [minkowski]=200 [scott_mm]=60 [tests]=150
                     [benchmark]=170 [pretrain]=150)
  BENCH_ARGS=(--batch 64 --img 224 --repeats 5 --threads "$(nproc)" --devices cuda)
  PRETRAIN_ARGS=()
fi
DEADLINE=$((START + TOTAL_S))

note() { echo "[gpu_check $(date +%T)] $*" | tee -a "$LOG"; }

skip() {  # skip NAME REASON
  note "SKIPPED $1: $2"
  printf '%s\tskipped\t0\t%s\n' "$1" "$2" >> "$WORK/steps.tsv"
}

step() {  # step NAME COMMAND...: run under the step's budget; output to the log; record rc
  local name=$1 budget=${BUDGET[$1]} left=$((DEADLINE - $(date +%s)))
  shift
  [ "$budget" -gt "$left" ] && budget=$left
  if [ "$budget" -lt 15 ]; then skip "$name" "the check's ${TOTAL_S} s are spent"; return 1; fi
  note "$name: start (budget ${budget} s)"
  echo "\$ $*" >> "$LOG"
  local t0 rc
  t0=$(date +%s)
  timeout -k 10 "$budget" "$@" > "$WORK/$name.out" 2>&1
  rc=$?
  cat "$WORK/$name.out" >> "$LOG"
  local seconds=$(($(date +%s) - t0)) status=ok
  [ $rc -eq 124 ] && status="timed out after ${budget} s"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && status="failed"
  note "$name: $status (exit $rc, ${seconds} s)"
  [ $rc -ne 0 ] && tail -n 25 "$WORK/$name.out" | sed 's/^/    | /'
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$seconds" "$status" >> "$WORK/steps.tsv"
  return $rc
}

# --- env: a virtual environment over PYTHON's packages -----------------------------------------
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  if [ "$DEVICE" = cpu ] && ! python3 -c 'import torch' 2>/dev/null && [ -x .venv/bin/python ]; then
    PYTHON=$REPO/.venv/bin/python
  fi
fi
if [ "$DEVICE" = cpu ]; then
  step env "$PYTHON" tools/overlay_venv.py "$WORK/venv" --image-only || {
    note "no overlay environment: stopping, the rehearsal must not install into $PYTHON"; exit 1; }
  PYTHON=$WORK/venv/bin/python
elif step env "$PYTHON" tools/overlay_venv.py "$WORK/venv"; then
  PYTHON=$WORK/venv/bin/python
else
  note "no overlay environment: installing into $PYTHON itself"
fi
PY=$(command -v "$PYTHON")
note "DEVICE=$DEVICE PYTHON=$PY BUNDLE=$BUNDLE OUT=$OUT TOTAL_S=$TOTAL_S"
{ nvidia-smi -L 2>/dev/null || echo "nvidia-smi: none"
  echo "cores: $(nproc)  disk: $(df -h "$WORK" | awk 'NR==2 {print $4}') free"
  "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__,
            "cuda", torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else "",
            "bf16", torch.cuda.is_available() and torch.cuda.is_bf16_supported())'
  command -v nvcc >/dev/null && nvcc --version | tail -1
  ls "$BUNDLE" 2>&1; } 2>&1 | tee -a "$LOG"
if [ "$DEVICE" = cuda ] && ! "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  note "WARNING: DEVICE=cuda but torch sees no GPU: the GPU tests will skip"
fi

# --- install: the bundle, offline -----------------------------------------------------------
if compgen -G "$BUNDLE/wheels/*.whl" >/dev/null; then
  step install "$PY" -m pip install --no-index --no-deps --no-compile --disable-pip-version-check \
       "$BUNDLE"/wheels/*.whl
else
  skip install "no wheels in $BUNDLE/wheels (run tools/prepare_gpu_bundle.py first)"
fi

# --- minkowski: CPU build with all cores, with the bundle's setuptools and OpenBLAS -----------
if "$PY" -c 'import MinkowskiEngine' 2>/dev/null; then
  skip minkowski "MinkowskiEngine already importable"
elif [ -f "$BUNDLE/MinkowskiEngine-0.5.4.tar.gz" ]; then
  "$PY" -m pip install -q --no-index --no-deps --target "$WORK/build-site" "$BUNDLE"/build/*.whl \
      >> "$LOG" 2>&1
  step minkowski env PYTHONPATH="$WORK/build-site" SCOTT_MM_CACHE="$WORK/cache" \
       MINKOWSKI_SDIST="$BUNDLE/MinkowskiEngine-0.5.4.tar.gz" MINKOWSKI_BLAS=scipy-openblas32 \
       MAX_JOBS="$(nproc)" bash tools/install_minkowski.sh "$PY"
else
  skip minkowski "no MinkowskiEngine sdist in $BUNDLE"
fi
BACKEND=minkowski
if ! "$PY" -c 'import MinkowskiEngine' 2>/dev/null; then
  BACKEND=dense
  note "MinkowskiEngine is not importable: the minkowski tests fail, the benchmark skips its" \
       "rows and the pretraining uses backend=dense"
fi

# --- scott_mm, then the tests -----------------------------------------------------------------
step scott_mm "$PY" -m pip install --no-index --no-deps --no-build-isolation \
     --disable-pip-version-check -e .
note "skipping tests/test_amp.py::test_probe_trains_and_tests_with_amp: it needs the Fashion-MNIST" \
     "demo checkpoint, which is not bundled; tests/test_gpu.py trains and tests a probe instead"
step tests "$PY" -m pytest -q -rs --junitxml="$OUT/tests.xml" \
     tests/test_gpu.py tests/test_amp.py tests/test_site_ops.py tests/test_tokenizer.py \
     tests/test_minkowski_engine.py \
     --deselect tests/test_amp.py::test_probe_trains_and_tests_with_amp

# --- benchmark ----------------------------------------------------------------------------------
AUTHORS=()
if [ -f "$BUNDLE/authors-scott/src/mimjepa.py" ]; then
  AUTHORS=(--authors "$BUNDLE/authors-scott")
else
  note "SKIPPED the authors' step in the benchmark: no checkout in $BUNDLE/authors-scott" \
       "(tools/prepare_gpu_bundle.py --authors PATH)"
fi
step benchmark "$PY" -m benchmarks.pretrain_step "${BENCH_ARGS[@]}" --dtypes fp32 bf16 \
     --backends dense "$BACKEND" "${AUTHORS[@]}" --out "$OUT/pretrain_step.json"

# --- pretrain -----------------------------------------------------------------------------------
if [ -f "$BUNDLE/flowers-102-mini/setid.mat" ]; then
  step pretrain "$PY" tools/train.py configs/scott_jepa_flowers_gpu_check.py --amp \
       --work-dir "$WORK/pretrain" --cfg-options \
       train_dataloader.dataset.data_root="$BUNDLE/flowers-102-mini" \
       model.backbone.backend="$BACKEND" "${PRETRAIN_ARGS[@]}"
  cp "$(ls -t "$WORK"/pretrain/*/*.log 2>/dev/null | head -1)" "$OUT/pretrain.log" 2>/dev/null
  cp "$(ls -t "$WORK"/pretrain/*/vis_data/scalars.json 2>/dev/null | head -1)" \
     "$OUT/pretrain_scalars.json" 2>/dev/null
else
  skip pretrain "no Flowers-102 subset in $BUNDLE/flowers-102-mini (prepare_gpu_bundle.py --flowers)"
fi

# --- summary ------------------------------------------------------------------------------------
"$PY" tools/gpu_check_summary.py "$WORK/steps.tsv" "$OUT" "$DEVICE" "$(($(date +%s) - START))" \
  2>&1 | tee -a "$LOG"
