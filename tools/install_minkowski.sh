#!/usr/bin/env bash
# Build and install MinkowskiEngine 0.5.4 (CPU) into the given Python environment.
#
# Why a script: upstream ships only a 2021 sdist. It needs OpenBLAS headers, a small patch for
# Python >= 3.10 (tools/minkowski_py310.patch), and a 2-5 minute compile.
# The built wheel is cached in $SCOTT_MM_CACHE (default ~/.cache/scott_mm), keyed by the torch
# version and the hash of this script, the patch and the BLAS choice, so the second set-up takes
# seconds.
#
# Usage: tools/install_minkowski.sh [PYTHON]      (default: python3)
# Environment:
#   MINKOWSKI_SDIST=FILE   a local MinkowskiEngine-0.5.4.tar.gz (hosts without a package index)
#   MINKOWSKI_BLAS=scipy-openblas32
#                          link the OpenBLAS of the scipy-openblas32 wheel installed in PYTHON
#                          instead of the system's (hosts without libopenblas-dev and apt)
#   MAX_JOBS=N             parallel compile jobs (default: all cores)
# A CPU build even where torch sees a GPU (--cpu_only): the minkowski backend only asks
# MinkowskiEngine for coordinate maps and computes on the GPU itself. GPU hosts: see README, "GPU".
set -euo pipefail

PY=${1:-python3}
# Absolute path (not resolved: a venv's python is a symlink), since the build runs elsewhere.
case "$PY" in */*) PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")" ;; *) PY=$(command -v "$PY") ;; esac
ME_VERSION=0.5.4
ME_SHA256=b1879c00d0b0b1d30ba622cce239886a7e3c78ee9da1064cdfe2f64c2ab15f94
BLAS=${MINKOWSKI_BLAS:-system}
CACHE=${SCOTT_MM_CACHE:-$HOME/.cache/scott_mm}
HERE=$(cd "$(dirname "$0")" && pwd)

if "$PY" -c "import MinkowskiEngine" 2>/dev/null; then
  echo "[minkowski] MinkowskiEngine already importable in $PY"; exit 0
fi

TORCH=$("$PY" -c "import torch; print(torch.__version__.replace('+', '_'))")
PYTAG=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
KEY=$( (cat "$HERE/install_minkowski.sh" "$HERE/minkowski_py310.patch"; echo "$BLAS") | sha256sum | cut -c1-12)
WHEEL_DIR="$CACHE/minkowski-$ME_VERSION-torch$TORCH-$PYTAG-$KEY"

WHEEL_GLOB="[Mm]inkowski[Ee]ngine-$ME_VERSION-*.whl"
if ! compgen -G "$WHEEL_DIR/$WHEEL_GLOB" >/dev/null; then
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  # setup.py runs `pip uninstall MinkowskiEngine` with whatever pip is on PATH, which may belong
  # to another environment: this pip ignores that (the install below replaces the package).
  mkdir "$WORK/bin"
  printf '#!/bin/sh\n[ "$1" = uninstall ] && exit 0\nexec "%s" -m pip "$@"\n' "$PY" > "$WORK/bin/pip"
  chmod +x "$WORK/bin/pip"
  export PATH="$WORK/bin:$PATH"

  # 1. BLAS (cblas_sgemm & co. for MinkowskiEngine's CPU convolutions).
  if [ "$BLAS" = scipy-openblas32 ]; then
    # The wheel's header declares scipy_cblas_*: a cblas.h that maps the plain names onto them,
    # a libopenblas.so link for -lopenblas (-L: before any system libopenblas), and the
    # library's folder as the run-time path.
    read -r BLAS_INC BLAS_LIB < <("$PY" -c \
      "import scipy_openblas32 as s; print(s.get_include_dir(), s.get_lib_dir())")
    mkdir "$WORK/blas"
    { echo "#include \"$BLAS_INC/cblas.h\""
      for f in sgemm dgemm saxpy daxpy; do echo "#define cblas_$f scipy_cblas_$f"; done
    } > "$WORK/blas/cblas.h"
    ln -s "$BLAS_LIB/libscipy_openblas.so" "$WORK/blas/libopenblas.so"
    export CPATH="$WORK/blas${CPATH:+:$CPATH}" LDFLAGS="${LDFLAGS:-} -L$WORK/blas -Wl,-rpath,$BLAS_LIB"
    echo "[minkowski] BLAS: scipy-openblas32 in $BLAS_LIB"
  elif [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ] \
     && ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "[minkowski] installing libopenblas-dev"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev
    else
      echo "[minkowski] ERROR: OpenBLAS headers missing. Install them and re-run:" >&2
      echo "    sudo apt-get install libopenblas-dev      (Debian/Ubuntu)" >&2
      echo "    conda install -c conda-forge openblas     (conda)" >&2
      echo "    or: pip install scipy-openblas32 and MINKOWSKI_BLAS=scipy-openblas32" >&2
      exit 1
    fi
  fi

  # 2. The sdist, checked against the hash we built and tested with.
  SDIST="$WORK/MinkowskiEngine-$ME_VERSION.tar.gz"
  if [ -n "${MINKOWSKI_SDIST:-}" ]; then
    cp "$MINKOWSKI_SDIST" "$SDIST"
  else
    echo "[minkowski] fetching MinkowskiEngine $ME_VERSION sdist"
    # Its setup.py runs for metadata even here; the stdlib distutils lets it do so on setuptools>=60.
    SETUPTOOLS_USE_DISTUTILS=stdlib "$PY" -m pip download -q --no-deps --no-binary :all: \
        -d "$WORK" "MinkowskiEngine==$ME_VERSION" 2>&1 | sed '/is ignored: it is neither/d'
  fi
  echo "$ME_SHA256  $SDIST" | sha256sum -c --quiet -
  tar -xzf "$SDIST" -C "$WORK"
  SRC="$WORK/MinkowskiEngine-$ME_VERSION"

  # 3. Our patch: Python >= 3.10 moved Sequence to collections.abc (five files).
  patch -d "$SRC" -p1 --quiet < "$HERE/minkowski_py310.patch"

  # 4. Compile a CPU wheel (NDEBUG drops -g: 0.5 MB instead of 28 MB, and a faster build;
  # <cstdint> first: GCC >= 13 headers no longer include it for code that forgot to).
  # setup.py directly, so every stage sees --cpu_only and --blas (through pip, its metadata
  # stage sees neither and imports numpy.distutils, which Python >= 3.12 does not have).
  echo "[minkowski] compiling (2-5 minutes on 2 cores)"
  (cd "$SRC" && CFLAGS="-DNDEBUG -include cstdint" MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "$PY" setup.py -q bdist_wheel \
      --dist-dir "$WORK/wheel" --cpu_only --blas=openblas)
  mkdir -p "$WHEEL_DIR" && mv "$WORK"/wheel/$WHEEL_GLOB "$WHEEL_DIR"/  # cache only a finished wheel
fi

WHEEL=$(compgen -G "$WHEEL_DIR/$WHEEL_GLOB" | head -1)
echo "[minkowski] installing $WHEEL"
"$PY" -m pip install -q --no-deps --force-reinstall "$WHEEL" 2>&1 | sed '/is ignored: it is neither/d'

"$PY" -c "import MinkowskiEngine as ME; print('[minkowski] ok, version', ME.__version__)"
