"""A checked, resumable download that never leaves a damaged file under the final name.

torchvision's ``download_url`` writes straight to the final name and starts again from zero
after a broken connection; the archives here are up to 1.5 GB. This one writes ``NAME.part``,
continues it with an HTTP Range request (after a dropped connection, and in the next run after
a killed one), checks the md5 and only then renames it to ``NAME``. A ``NAME`` already present
(an earlier run, or a copy put there by hand) is checked and used without any network.
"""
import hashlib
import http.client
import os
import os.path as osp
import urllib.error
import urllib.request

from torchvision.datasets.utils import USER_AGENT

CHUNK = 1 << 20
TIMEOUT = 60  # seconds without a byte before a connection counts as lost


class DownloadError(RuntimeError):
    """A download failed, or a file does not have the published md5."""


def md5sum(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, 'rb') as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _size(path: str) -> int:
    return osp.getsize(path) if osp.exists(path) else 0


def _receive(url: str, part: str, log) -> None:
    """Append the rest of ``url`` to ``part`` (all of it if the server ignores the range).

    Raises ``ConnectionError`` when the connection ends before the announced length.
    """
    have = _size(part)
    headers = {'User-Agent': USER_AGENT, **({'Range': f'bytes={have}-'} if have else {})}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=TIMEOUT)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the md5 decides
            return
        raise
    with response:
        if have and response.status != 206:
            log(f'  {url}: the server does not resume downloads; starting again')
            have = 0
        elif have:
            log(f'  resuming {osp.basename(part)} at byte {have:,}')
        total = None if response.length is None else have + response.length
        step, shown = max(total // 10, CHUNK) if total else 50 * CHUNK, have
        with open(part, 'ab' if have else 'wb') as f:
            while chunk := response.read(CHUNK):
                f.write(chunk)
                have += len(chunk)
                if have - shown >= step:
                    shown = have
                    log(f'  {osp.basename(part)[:-5]}: {have:,}' +
                        (f' of {total:,} bytes' if total else ' bytes'))
    if total is not None and have < total:
        raise ConnectionError(f'connection closed after {have:,} of {total:,} bytes')


def fetch(url: str, dest: str, md5: str, retries: int = 3, log=print) -> str:
    """``dest`` holding ``url``'s file with the given md5, downloaded if it is not there yet.

    A connection lost after some bytes arrived is resumed up to ``retries`` times; a failure
    without progress (offline, HTTP error) stops at once.
    """
    if osp.isfile(dest):
        got = md5sum(dest)
        if got != md5:
            raise DownloadError(f'{dest} has md5 {got}, not the published {md5}: it is '
                                'damaged or a different file. Delete it and run again.')
        return dest
    os.makedirs(osp.dirname(dest), exist_ok=True)
    part = dest + '.part'
    attempt = 0
    log(f'downloading {url}')
    while True:
        before = _size(part)
        try:
            _receive(url, part, log)
            break
        except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets
            attempt += 1
            if _size(part) <= before or attempt > retries:
                kept = (f'\nThe {_size(part):,} bytes received so far are kept in {part} and '
                        'continued by the next run.') if _size(part) else ''
                raise DownloadError(f'cannot download {url}: {e}.{kept}') from e
            log(f'  {e}; resuming ({attempt} of {retries} retries)')
    got = md5sum(part)
    if got != md5:
        os.remove(part)
        raise DownloadError(f'{url} arrived with md5 {got}, not the published {md5}, and was '
                            'deleted. Run again to download it afresh; if that fails the same '
                            'way, the file at that address has changed.')
    os.replace(part, dest)
    log(f'  {osp.basename(dest)}: {_size(dest):,} bytes, md5 {md5} ok')
    return dest
