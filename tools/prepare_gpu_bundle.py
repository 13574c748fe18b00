"""Fill gpu_bundle/ (git-ignored) with what tools/gpu_check.sh needs on the GPU machine, which
has no network. Run it here, where PyPI is reachable:

    python tools/prepare_gpu_bundle.py [--authors PATH] [--flowers PATH] [--out gpu_bundle]

- ``wheels/``: mmengine, mmcv-lite and mmpretrain at requirements.txt's pins, plus every
  dependency of theirs that the GPU image lacks (tools/gpu_image_packages.txt), for the image's
  Python 3.12; dependencies are read from each wheel's ``Requires-Dist``, not guessed. Also
  scipy-openblas32: OpenBLAS headers and library for the MinkowskiEngine build (the image has no
  libopenblas-dev, and no network for apt).
- ``build/``: setuptools 80, the version the MinkowskiEngine build was tested with; only the
  build uses it.
- ``MinkowskiEngine-0.5.4.tar.gz``: the sdist (tools/install_minkowski.sh checks its sha256 and
  applies tools/minkowski_py310.patch, which travels with the working tree).
- ``authors-scott/`` (``--authors``: a checkout or bare git mirror of inescopresearch/scott,
  BSD-2): their ``src/`` and LICENSE, for ``benchmarks.pretrain_step --authors``.
- ``flowers-102-mini/`` (``--flowers``: a Flowers-102 copy in the official layout): the first
  ``--classes`` classes, their train and val photos and two test photos each, with the official
  file names and a ``setid.mat`` restricted to them; the pretraining data of the check.
- ``MANIFEST.json``: what is there, with sizes and the requirements left to the image.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON_VERSION = '3.12'  # the GPU image's: Python 3.12.3
PLATFORMS = ['manylinux_2_28_x86_64', 'manylinux_2_27_x86_64', 'manylinux_2_17_x86_64',
             'manylinux2014_x86_64', 'manylinux1_x86_64']
ROOTS = ('mmengine', 'mmcv-lite', 'mmpretrain')
#: distributions that provide what another name asks for (the same import)
PROVIDED_BY = {'opencv-python': 'opencv-python-headless'}
BUILD = ['setuptools==80.10.2']
BLAS = ['scipy-openblas32==0.3.34.481.3']
MINKOWSKI = 'MinkowskiEngine==0.5.4'
LIMIT_MIB = 60


def canonical(name: str) -> str:
    from packaging.utils import canonicalize_name
    return canonicalize_name(name)


def image_packages() -> set:
    lines = (REPO / 'tools' / 'gpu_image_packages.txt').read_text().splitlines()
    return {canonical(line) for line in lines if line.strip() and not line.startswith('#')}


def pinned(name: str) -> str:
    """``name==version`` from requirements.txt."""
    for line in (REPO / 'requirements.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line and canonical(line.split('==')[0]) == canonical(name):
            return line
    raise SystemExit(f'{name} is not pinned in requirements.txt')


def pip(command, env=None):
    """Run a pip command; its stderr without the noise of this machine's missing local indexes."""
    done = subprocess.run(command, env=env, stderr=subprocess.PIPE, text=True)
    sys.stderr.write(''.join(line for line in done.stderr.splitlines(keepends=True)
                             if 'is ignored: it is neither' not in line))
    if done.returncode:
        raise SystemExit(f'failed ({done.returncode}): {" ".join(command)}')


def download(spec: str, dest: Path) -> Path:
    """One wheel for the image's Python and platform, without dependencies."""
    before = set(dest.glob('*.whl'))
    pip([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:',
         '--python-version', PYTHON_VERSION, '--implementation', 'cp',
         *[f'--platform={p}' for p in PLATFORMS], '-d', str(dest), spec])
    new = set(dest.glob('*.whl')) - before
    if not new:  # already there from an earlier run
        from packaging.requirements import Requirement
        name = canonical(Requirement(spec).name)
        new = {w for w in dest.glob('*.whl') if canonical(w.name.split('-')[0]) == name}
    return new.pop()


def requirements_of(wheel: Path):
    """The wheel's Requires-Dist that apply on the image (Python 3.12, Linux, no extras)."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    env = dict(default_environment(), python_version=PYTHON_VERSION,
               python_full_version=f'{PYTHON_VERSION}.3', extra='')
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        lines = z.read(meta).decode().splitlines()
    for line in lines:
        if line.startswith('Requires-Dist:'):
            req = Requirement(line.split(':', 1)[1].strip())
            if req.marker is None or req.marker.evaluate(env):
                yield req


def bundle_wheels(out: Path, image: set) -> dict:
    """Download the roots and, transitively, each requirement the image does not have."""
    wheels = out / 'wheels'
    wheels.mkdir(parents=True, exist_ok=True)
    queue = [pinned(name) for name in ROOTS] + BLAS
    bundled, left_to_image = {}, {}
    while queue:
        spec = queue.pop(0)
        from packaging.requirements import Requirement
        name = canonical(Requirement(spec).name)
        if name in bundled:
            continue
        wheel = download(spec, wheels)
        bundled[name] = wheel.name
        for req in requirements_of(wheel):
            dep = canonical(req.name)
            if dep in image or PROVIDED_BY.get(dep) in image:
                left_to_image.setdefault(dep, set()).add(f'{name}: {req}')
            elif dep not in bundled:
                queue.append(str(req).split(';')[0])
    stray = {w.name for w in wheels.glob('*.whl')} - set(bundled.values())
    for name in stray:  # from an earlier run with other versions: one version of each
        (wheels / name).unlink()
    return dict(wheels=sorted(bundled.values()),
                left_to_image={k: sorted(v) for k, v in sorted(left_to_image.items())})


def bundle_build_tools(out: Path) -> list:
    build = out / 'build'
    build.mkdir(exist_ok=True)
    return [download(spec, build).name for spec in BUILD]


def bundle_minkowski_sdist(out: Path) -> str:
    """The sdist as tools/install_minkowski.sh fetches it. pip runs its setup.py for metadata,
    and that runs `pip uninstall MinkowskiEngine`: a pip on PATH that ignores it."""
    with tempfile.TemporaryDirectory() as tmp:
        shim = Path(tmp) / 'pip'
        shim.write_text(f'#!/bin/sh\n[ "$1" = uninstall ] && exit 0\nexec "{sys.executable}" '
                        '-m pip "$@"\n')
        shim.chmod(0o755)
        env = dict(os.environ, SETUPTOOLS_USE_DISTUTILS='stdlib',
                   PATH=f"{tmp}{os.pathsep}{os.environ['PATH']}")
        pip([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--no-binary', ':all:',
             '-d', str(out), MINKOWSKI], env=env)
    return next(out.glob('MinkowskiEngine-*.tar.gz')).name


def bundle_authors(source: Path, out: Path) -> str:
    """Their src/ and LICENSE from a checkout, or from a bare git mirror via git archive."""
    dest = out / 'authors-scott'
    shutil.rmtree(dest, ignore_errors=True)
    if (source / 'src' / 'mimjepa.py').is_file():
        shutil.copytree(source / 'src', dest / 'src',
                        ignore=shutil.ignore_patterns('__pycache__'))
        shutil.copy(source / 'LICENSE', dest / 'LICENSE')
    else:
        dest.mkdir()
        archive = subprocess.run(['git', '--git-dir', str(source), 'archive', 'HEAD', 'src',
                                  'LICENSE'], check=True, capture_output=True).stdout
        subprocess.run(['tar', '-x', '-C', str(dest)], input=archive, check=True)
    if not (dest / 'src' / 'mimjepa.py').is_file():
        raise SystemExit(f'--authors {source}: no src/mimjepa.py there')
    return dest.name


def bundle_flowers(source: Path, out: Path, classes: int, test_per_class: int = 2) -> dict:
    """Classes 1..``classes`` of Flowers-102: all their train and val photos, a few test ones."""
    import numpy as np
    from scipy.io import loadmat, savemat
    dest = out / 'flowers-102-mini'
    shutil.rmtree(dest, ignore_errors=True)
    (dest / 'jpg').mkdir(parents=True)
    labels = loadmat(source / 'imagelabels.mat')['labels'].ravel()
    setid = loadmat(source / 'setid.mat')
    kept = {}
    for key in ('trnid', 'valid', 'tstid'):
        ids = [int(i) for i in setid[key].ravel() if labels[int(i) - 1] <= classes]
        if key == 'tstid':
            ids = [i for c in range(1, classes + 1)
                   for i in [j for j in ids if labels[j - 1] == c][:test_per_class]]
        kept[key] = ids
        for i in ids:
            shutil.copy(source / 'jpg' / f'image_{i:05d}.jpg', dest / 'jpg')
    shutil.copy(source / 'imagelabels.mat', dest / 'imagelabels.mat')
    savemat(dest / 'setid.mat', {k: np.array([v], dtype=np.uint16) for k, v in kept.items()})
    (dest / 'README.txt').write_text(
        f'Oxford Flowers-102 (Nilsback & Zisserman, 2008), classes 1-{classes} of the copy in '
        f'{source}: train and val photos, {test_per_class} test photos per class; official file '
        'names, imagelabels.mat unchanged, setid.mat restricted to these photos. For the GPU '
        'check only (research measurements), never for the repository.\n')
    return {k: len(v) for k, v in kept.items()}


def size_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file()) / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=str(REPO / 'gpu_bundle'))
    parser.add_argument('--authors', help='checkout or bare git mirror of inescopresearch/scott')
    parser.add_argument('--flowers', help='a Flowers-102 copy (e.g. ../shared/data/flowers-102)')
    parser.add_argument('--classes', type=int, default=30)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(exist_ok=True)

    manifest = dict(python=PYTHON_VERSION, platforms=PLATFORMS)
    manifest.update(bundle_wheels(out, image_packages()))
    manifest['build'] = bundle_build_tools(out)
    manifest['minkowski_sdist'] = bundle_minkowski_sdist(out)
    manifest['authors'] = bundle_authors(Path(args.authors), out) if args.authors else None
    manifest['flowers'] = (bundle_flowers(Path(args.flowers), out, args.classes)
                           if args.flowers else None)
    manifest['sha256'] = {str(f.relative_to(out)): hashlib.sha256(f.read_bytes()).hexdigest()
                          for f in sorted(out.glob('*/*.whl')) + sorted(out.glob('*.tar.gz'))}
    manifest['mib'] = {p.name: round(size_mib(p), 2) for p in sorted(out.iterdir()) if p.is_dir()}
    manifest['total_mib'] = round(size_mib(out), 2)
    (out / 'MANIFEST.json').write_text(json.dumps(manifest, indent=2) + '\n')
    print(json.dumps({k: manifest[k] for k in ('wheels', 'build', 'minkowski_sdist', 'authors',
                                               'flowers', 'mib', 'total_mib')}, indent=2))
    if manifest['total_mib'] > LIMIT_MIB:
        raise SystemExit(f'{out} is {manifest["total_mib"]} MiB, over {LIMIT_MIB} MiB')


if __name__ == '__main__':
    main()
