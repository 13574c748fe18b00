"""Put a dataset on disk in the layout scott_mm's configs read, then summarise it.

    python tools/prepare_data.py flowers102 --root data   # -> data/flowers-102
    python tools/prepare_data.py pets --root data         # -> data/oxford-iiit-pet
    python tools/prepare_data.py imagenette --root data   # -> data/imagenette2-320
    python tools/prepare_data.py in100 --root data --imagenet /path/to/imagenet
                                                          # -> data/imagenet100 (links)
"""
import argparse
import sys

from scott_mm.datasets import DatasetLayoutError
from scott_mm.datasets.prepare import (DownloadError, PrepareError, flowers102, imagenette, pets,
                                       prepare_downloaded, prepare_imagenet100)

HELP = """\
flowers102, pets: downloaded from the addresses torchvision uses, md5-checked against
  torchvision's values, into torchvision's layout (ROOT/flowers-102, ROOT/oxford-iiit-pet),
  which configs/*_flowers.py and *_pets.py read (their default data_root with --root data).
imagenette: fast.ai's 10-class ImageNet subset (torchvision's address and md5; --size picks
  the archive) as an ImageFolder tree ROOT/imagenette2-320/{train,val}/<wnid>/; the own-data
  configs (configs/*_folder.py) read it, with val/ as the test split.
in100: ImageNet-100 (CMC's class list) selected from a local ImageNet copy given by
  --imagenet (train/<wnid>/, val/<wnid>/): symbolic links by default, --copy for copies.

Archives go to ROOT/downloads as NAME.part, are resumed after a broken connection (here, and
by the next run after a killed one), and get their name only when their md5 is right. A
dataset folder is unpacked under a hidden temporary name and renamed when complete and
checked. Without internet, the error names each file to download by hand and where to put it;
a file put there is checked and used. The run ends with image counts per split, the archives'
md5s and a fingerprint of the folder.
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Prepare a dataset for scott_mm.', epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dataset', choices=['flowers102', 'pets', 'imagenette', 'in100'])
    parser.add_argument('--root', default='data',
                        help='folder that receives the dataset folder and downloads/ '
                        '(default: data, where the configs look)')
    parser.add_argument('--imagenet', help='in100: the local ImageNet-1k folder '
                        '(with train/ and val/ sorted into wnid folders)')
    parser.add_argument('--copy', action='store_true',
                        help='in100: copy the class folders instead of linking them')
    parser.add_argument('--size', default='320px', choices=['full', '320px', '160px'],
                        help='imagenette: which archive (default 320px: shorter side 320 '
                        'px, enough for 224 px crops; full is the original size and the largest '
                        'download; 160px is smaller than the crops)')
    parser.add_argument('--retries', type=int, default=3,
                        help='resumptions after a broken connection (default 3)')
    args = parser.parse_args(argv)
    if args.dataset == 'in100' and not args.imagenet:
        parser.error('in100 needs --imagenet /path/to/imagenet (ImageNet cannot be '
                     'downloaded without an account: https://image-net.org/download)')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.dataset == 'in100':
            summary = prepare_imagenet100(args.root, args.imagenet, copy=args.copy)
        else:
            recipe = dict(flowers102=flowers102, pets=pets,
                          imagenette=lambda: imagenette(args.size))[args.dataset]()
            summary = prepare_downloaded(recipe, args.root, retries=args.retries)
    except (DownloadError, PrepareError, DatasetLayoutError) as e:
        print(f'prepare_data.py {args.dataset}: {e}', file=sys.stderr)
        raise SystemExit(1) from e
    print(summary.format())
    return summary


if __name__ == '__main__':
    main()
