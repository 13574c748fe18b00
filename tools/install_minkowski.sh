#!/usr/bin/env bash
# Build and install MinkowskiEngine 0.5.4 (CPU) into the given Python environment.
#
# Why a script: upstream ships only a 2021 sdist. It needs OpenBLAS headers, a small patch for
# Python >= 3.10 (tools/minkowski_py310.patch), and a 2-5 minute compile.
# The built wheel is cached in $SCOTT_MM_CACHE (default ~/.cache/scott_mm), keyed by the torch
# version and the hash of this script and the patch, so the second set-up takes seconds.
#
# Usage: tools/install_minkowski.sh [PYTHON]      (default: python3)
# GPU hosts: see README, "MinkowskiEngine on a GPU host".
set -euo pipefail

PY=${1:-python3}
# Absolute path (not resolved: a venv's python is a symlink), since the build runs elsewhere.
case "$PY" in */*) PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")" ;; *) PY=$(command -v "$PY") ;; esac
ME_VERSION=0.5.4
ME_SHA256=b1879c00d0b0b1d30ba622cce239886a7e3c78ee9da1064cdfe2f64c2ab15f94
CACHE=${SCOTT_MM_CACHE:-$HOME/.cache/scott_mm}
HERE=$(cd "$(dirname "$0")" && pwd)

if "$PY" -c "import MinkowskiEngine" 2>/dev/null; then
  echo "[minkowski] MinkowskiEngine already importable in $PY"; exit 0
fi

TORCH=$("$PY" -c "import torch; print(torch.__version__.replace('+', '_'))")
PYTAG=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
KEY=$(cat "$HERE/install_minkowski.sh" "$HERE/minkowski_py310.patch" | sha256sum | cut -c1-12)
WHEEL_DIR="$CACHE/minkowski-$ME_VERSION-torch$TORCH-$PYTAG-$KEY"

WHEEL_GLOB="[Mm]inkowski[Ee]ngine-$ME_VERSION-*.whl"
if ! compgen -G "$WHEEL_DIR/$WHEEL_GLOB" >/dev/null; then
  # 1. OpenBLAS headers (cblas.h) for the CPU build.
  if [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ] \
     && ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "[minkowski] installing libopenblas-dev"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev
    else
      echo "[minkowski] ERROR: OpenBLAS headers missing. Install them and re-run:" >&2
      echo "    sudo apt-get install libopenblas-dev      (Debian/Ubuntu)" >&2
      echo "    conda install -c conda-forge openblas     (conda)" >&2
      exit 1
    fi
  fi

  # 2. The sdist, checked against the hash we built and tested with.
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  echo "[minkowski] fetching MinkowskiEngine $ME_VERSION sdist"
  # Its setup.py runs for metadata even here; the stdlib distutils lets it do so on setuptools>=60.
  SETUPTOOLS_USE_DISTUTILS=stdlib "$PY" -m pip download -q --no-deps --no-binary :all: \
      -d "$WORK" "MinkowskiEngine==$ME_VERSION" 2>&1 | sed '/is ignored: it is neither/d'
  echo "$ME_SHA256  $WORK/MinkowskiEngine-$ME_VERSION.tar.gz" | sha256sum -c --quiet -
  tar -xzf "$WORK/MinkowskiEngine-$ME_VERSION.tar.gz" -C "$WORK"
  SRC="$WORK/MinkowskiEngine-$ME_VERSION"

  # 3. Our patch: Python >= 3.10 moved Sequence to collections.abc (five files).
  patch -d "$SRC" -p1 --quiet < "$HERE/minkowski_py310.patch"

  # 4. Compile a CPU wheel (NDEBUG drops -g: 0.5 MB instead of 28 MB, and a faster build).
  echo "[minkowski] compiling (2-5 minutes on 2 cores)"
  (cd "$SRC" && CFLAGS=-DNDEBUG MAX_JOBS=${MAX_JOBS:-$(nproc)} "$PY" -m pip wheel . \
      --use-pep517 --no-build-isolation --no-deps -w "$WORK/wheel" \
      --config-settings=--build-option=--cpu_only \
      --config-settings=--build-option=--blas=openblas)
  mkdir -p "$WHEEL_DIR" && mv "$WORK"/wheel/$WHEEL_GLOB "$WHEEL_DIR"/  # cache only a finished wheel
fi

WHEEL=$(compgen -G "$WHEEL_DIR/$WHEEL_GLOB" | head -1)
echo "[minkowski] installing $WHEEL"
"$PY" -m pip install -q --no-deps --force-reinstall "$WHEEL" 2>&1 | sed '/is ignored: it is neither/d'

"$PY" -c "import MinkowskiEngine as ME; print('[minkowski] ok, version', ME.__version__)"
