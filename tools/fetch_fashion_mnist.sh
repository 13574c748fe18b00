#!/usr/bin/env bash
# Make Fashion-MNIST (60k train + 10k test real 28x28 grey photos, MIT licence) available
# offline and print the directory that holds its four IDX .gz files.
#
# Why this way: no PyPI package ships the images, but Debian's `dataset-fashion-mnist` does.
# We use the system copy when it is installed; otherwise `apt-get download` fetches the .deb
# (no root needed) and `dpkg-deb -x` unpacks just the data into a cache. Safe to run again.
#
#   tools/fetch_fashion_mnist.sh            # prints e.g. /home/me/.cache/scott_mm/fashion-mnist
#   SCOTT_MM_DATA=/data tools/fetch_fashion_mnist.sh   # caches under /data/fashion-mnist
#
# scott_mm's SCOTTFashionMNIST dataset looks in the same places, so configs need no path.
set -euo pipefail

FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"
SYSTEM_DIR=/usr/share/datasets/fashion-mnist
CACHE_DIR="${SCOTT_MM_DATA:-$HOME/.cache/scott_mm}/fashion-mnist"

complete() {  # all four files present and non-empty in $1
    local f
    for f in $FILES; do [ -s "$1/$f" ] || return 1; done
}

if complete "$SYSTEM_DIR"; then echo "$SYSTEM_DIR"; exit 0; fi
if complete "$CACHE_DIR"; then echo "$CACHE_DIR"; exit 0; fi

for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || {
        echo "fetch_fashion_mnist: '$tool' not found. Get the four *-ubyte.gz files from" \
             "https://github.com/zalandoresearch/fashion-mnist and put them in $CACHE_DIR" >&2
        exit 1
    }
done

mkdir -p "$CACHE_DIR"
WORK=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "fetch_fashion_mnist: downloading Debian package dataset-fashion-mnist (31 MB) ..." >&2
(cd "$WORK" && apt-get download -q dataset-fashion-mnist >&2) || {
    echo "fetch_fashion_mnist: 'apt-get download dataset-fashion-mnist' failed (no network or" \
         "stale package lists: try 'apt-get update' as root)." >&2
    exit 1
}
dpkg-deb -x "$WORK"/dataset-fashion-mnist_*.deb "$WORK/root"

SRC="$WORK/root$SYSTEM_DIR"
complete "$SRC" || { echo "fetch_fashion_mnist: the package did not contain $FILES" >&2; exit 1; }
cp "$WORK/root/usr/share/doc/dataset-fashion-mnist/copyright" "$CACHE_DIR/COPYRIGHT" 2>/dev/null || true
# Move each file into place last, so an interrupted run never looks complete.
for f in $FILES; do mv "$SRC/$f" "$CACHE_DIR/$f"; done
echo "$CACHE_DIR"
