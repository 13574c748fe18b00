"""A virtual environment on top of this Python's packages, for tools/gpu_check.sh.

    PYTHON tools/overlay_venv.py DIR [--image-only]

DIR/bin/python sees the site-packages that hold this Python's torch, after its own: what the
check installs (the bundle's wheels, MinkowskiEngine, scott_mm) goes into DIR, and the machine's
environment is left as it was. The base folder is added with ``site.addsitedir``, so its own
``.pth`` files still work.

``--image-only`` (the check's CPU rehearsal): DIR sees only the distributions of that folder that
the GPU image has too (tools/gpu_image_packages.txt), linked into DIR/image-site. mmengine,
mmpretrain, MinkowskiEngine and scott_mm then must come from the bundle and the build, as on the
device, so a wheel missing from the bundle fails the rehearsal. Still unlike the image: the
Python (the image's is 3.12.3) and the versions of torch, numpy and the rest.
"""
import argparse
import importlib.metadata
import subprocess
import sys
import sysconfig
from pathlib import Path

from prepare_gpu_bundle import PROVIDED_BY, canonical, image_packages


def link_image_packages(site: Path, farm: Path) -> list:
    """Symlink into ``farm`` the top-level files and folders of every distribution in ``site``
    that the image has; returns their names."""
    image = image_packages()
    linked = []
    for dist in importlib.metadata.distributions(path=[str(site)]):
        name = canonical(dist.metadata['Name'])
        if name not in image and PROVIDED_BY.get(name) not in image:
            continue
        linked.append(name)
        for top in {Path(f).parts[0] for f in dist.files or []}:
            if top != '..' and (site / top).exists() and not (farm / top).exists():
                (farm / top).symlink_to(site / top)
    return sorted(linked)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dir')
    parser.add_argument('--image-only', action='store_true')
    args = parser.parse_args(argv)
    import torch
    site = Path(torch.__file__).resolve().parents[1]
    target = Path(args.dir).resolve()
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(target)], check=True)
    base = site
    if args.image_only:
        base = target / 'image-site'
        base.mkdir()
        linked = link_image_packages(site, base)
        print(f'{base}: {len(linked)} distributions of {site} that the GPU image has')
    purelib = sysconfig.get_path('purelib', vars={'base': str(target), 'platbase': str(target)})
    pth = Path(purelib, 'zz_overlay_base.pth')
    pth.write_text(f'import site; site.addsitedir({str(base)!r})\n')
    print(f'{target}/bin/python: its own packages, then {base}')


if __name__ == '__main__':
    main()
