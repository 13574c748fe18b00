"""What a preparation run ends with: where the data is, image counts per split, checksums.

Besides the archives' md5s, the finished folder gets a fingerprint: the sha256 of its sorted
(relative path, size) list. It is quick even for ImageNet-100's 130k files, and two copies
with the same fingerprint hold the same files, so a copy can be compared with a colleague's.
"""
import hashlib
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Tuple


def tree_fingerprint(folder: str) -> Tuple[int, int, str]:
    """(number of files, total bytes, sha256 of the sorted 'path<TAB>size' lines), following
    symbolic links as the datasets do."""
    lines, total = [], 0
    for parent, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in files:
            path = osp.join(parent, name)
            size = osp.getsize(path)
            total += size
            lines.append(f'{osp.relpath(path, folder)}\t{size}\n')
    digest = hashlib.sha256(''.join(sorted(lines)).encode())
    return len(lines), total, digest.hexdigest()


@dataclass
class Summary:
    """The result of preparing one dataset, printed at the end."""
    name: str
    folder: str
    counts: Dict[str, int]                  # images per split
    num_classes: int
    archives: List[Tuple[str, str]] = field(default_factory=list)  # (path, md5 checked)
    notes: List[str] = field(default_factory=list)  # warnings and the next command

    def format(self) -> str:
        files, size, digest = tree_fingerprint(self.folder)
        lines = [f'{self.name} is ready: {self.folder}']
        lines += [f'  {osp.basename(p)}: {osp.getsize(p):,} bytes, md5 {md5} ok'
                  for p, md5 in self.archives]
        splits = ' | '.join(f'{split} {n:,}' for split, n in self.counts.items())
        lines.append(f'  images: {splits} ({self.num_classes} classes)')
        lines.append(f'  folder: {files:,} files, {size:,} bytes; fingerprint (sha256 of the '
                     f'sorted path/size list) {digest}')
        return '\n'.join(lines + [f'  {note}' for note in self.notes])
