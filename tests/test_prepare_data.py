"""tools/prepare_data.py without internet: a real HTTP server on 127.0.0.1 serves archives of
real JPEGs built here, and torchvision's download addresses (and their md5s, which belong to
the same table) are pointed at it: the only stand-in. Full runs for every dataset, checksum
mismatch, a connection dropped half-way (resumed with an HTTP Range request, in the same run
and in the next), offline with files put in place by hand, and ImageNet-100 from a local copy.
"""
import hashlib
import io
import os
import os.path as osp
import shutil
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torchvision.datasets as tvd

from scott_mm.datasets import (ImageNet100, SCOTTFlowers102, SCOTTImageFolder,
                               SCOTTOxfordIIITPet)
from scott_mm.datasets.imagenet100 import imagenet100_wnids
from tests.data_utils import make_flowers, make_image_folder, make_pets
from tools import prepare_data


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range: bytes=N-`` unless ``server.ignore_range``;
    for a path in ``server.drop_once`` it sends half the body once and closes the connection."""

    def do_GET(self):  # noqa: N802
        server = self.server
        server.requests.append((self.path, self.headers.get('Range')))
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start, ranged = 0, self.headers.get('Range') and not server.ignore_range
        if ranged:
            start = int(self.headers['Range'].split('=')[1].split('-')[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(body) - 1}/{len(body)}')
        else:
            self.send_response(200)
        data = body[start:]
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.path in server.drop_once:
            server.drop_once.discard(self.path)
            data = data[:len(data) // 2]
            self.close_connection = True
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    httpd.files, httpd.requests, httpd.drop_once, httpd.ignore_range = {}, [], set(), False
    httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def tar_gz(folder: str, members) -> bytes:
    """A .tar.gz of ``folder/member`` for each member, stored under the member's name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w:gz') as tar:
        for member in members:
            tar.add(osp.join(folder, member), arcname=member)
    return buffer.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def flowers_online(server, tmp_path, monkeypatch):
    """Flowers-102's three files on the server; torchvision's table points there."""
    src = str(tmp_path / 'src')
    ids = make_flowers(src, per_part=(2, 1, 3), num_classes=3)
    files = {'102flowers.tgz': tar_gz(src, ['jpg']),
             'imagelabels.mat': open(osp.join(src, 'imagelabels.mat'), 'rb').read(),
             'setid.mat': open(osp.join(src, 'setid.mat'), 'rb').read()}
    server.files.update({f'/flowers/{name}': data for name, data in files.items()})
    monkeypatch.setattr(tvd.Flowers102, '_download_url_prefix', f'{server.url}/flowers/')
    monkeypatch.setattr(tvd.Flowers102, '_file_dict', {
        'image': ('102flowers.tgz', md5(files['102flowers.tgz'])),
        'label': ('imagelabels.mat', md5(files['imagelabels.mat'])),
        'setid': ('setid.mat', md5(files['setid.mat']))})
    return dict(server=server, ids=ids, files=files, root=tmp_path / 'data')


def run(*argv):
    return prepare_data.main([*map(str, argv)])


def leftovers(root):
    """Anything that could pass for a finished download or dataset but is not one."""
    return sorted(p for p in os.listdir(root) if p.startswith('.')) + sorted(
        p for p in os.listdir(osp.join(root, 'downloads')) if p.endswith('.part'))


def test_flowers_full_run_then_nothing_to_do(flowers_online, capsys):
    root, server = flowers_online['root'], flowers_online['server']
    summary = run('flowers102', '--root', root)
    out = capsys.readouterr().out
    folder = root / 'flowers-102'
    assert summary.folder == str(folder) and summary.num_classes == 3
    assert summary.counts == {'train': 6, 'val': 3, 'test': 9}
    # our dataset class and torchvision's (which checks the .mat md5s) read the result
    ours = SCOTTFlowers102(data_root=str(root), split='test')
    assert sorted(osp.basename(ours.get_data_info(i)['img_path']) for i in range(len(ours))) == \
        [f'image_{i:05d}.jpg' for i in sorted(flowers_online['ids']['tstid'])]
    assert len(tvd.Flowers102(str(root), split='val')) == 3
    assert sorted(os.listdir(root / 'downloads')) == sorted(flowers_online['files'])
    assert leftovers(root) == []
    for name, data in flowers_online['files'].items():
        assert f'{name}: {len(data):,} bytes, md5 {md5(data)} ok' in out
    assert 'images: train 6 | val 3 | test 9 (3 classes)' in out and 'fingerprint' in out
    assert f'data_root={folder}' in out  # the training command to run next
    # a second run finds everything in place: no request, same summary
    requests = len(server.requests)
    again = run('flowers102', '--root', root)
    assert len(server.requests) == requests and again.counts == summary.counts
    assert 'already prepared' in capsys.readouterr().out


def test_checksum_mismatch_leaves_nothing_that_looks_complete(flowers_online, monkeypatch,
                                                               capsys):
    root = flowers_online['root']
    table = dict(tvd.Flowers102._file_dict, setid=('setid.mat', '0' * 32))
    monkeypatch.setattr(tvd.Flowers102, '_file_dict', table)
    with pytest.raises(SystemExit):
        run('flowers102', '--root', root)
    err = capsys.readouterr().err
    assert f'{flowers_online["server"].url}/flowers/setid.mat arrived with md5 ' \
           f'{md5(flowers_online["files"]["setid.mat"])}, not the published {"0" * 32}' in err
    assert 'was deleted' in err and f'put these files in {root}/downloads/' in err
    assert not (root / 'flowers-102').exists()
    assert sorted(os.listdir(root / 'downloads')) == ['102flowers.tgz', 'imagelabels.mat']
    assert leftovers(root) == []  # checked files only, no .part, no half-made dataset folder


def test_a_wrong_file_in_downloads_is_named_not_used(flowers_online, capsys):
    root = flowers_online['root']
    (root / 'downloads').mkdir(parents=True)
    (root / 'downloads' / '102flowers.tgz').write_bytes(b'not the flowers archive')
    with pytest.raises(SystemExit):
        run('flowers102', '--root', root)
    err = capsys.readouterr().err
    assert f'{root}/downloads/102flowers.tgz has md5 {md5(b"not the flowers archive")}' in err
    assert 'Delete it and run again' in err and not (root / 'flowers-102').exists()
    assert flowers_online['server'].requests == []


def test_an_archive_that_does_not_unpack_leaves_no_dataset_folder(flowers_online,
                                                                  monkeypatch, capsys):
    """A truncated archive whose md5 is the published one (a broken upload): extraction fails
    half-way inside the hidden staging folder, which goes; nothing named flowers-102 appears."""
    server, root = flowers_online['server'], flowers_online['root']
    broken = flowers_online['files']['102flowers.tgz'][:-400]
    server.files['/flowers/102flowers.tgz'] = broken
    monkeypatch.setattr(tvd.Flowers102, '_file_dict', dict(
        tvd.Flowers102._file_dict, image=('102flowers.tgz', md5(broken))))
    with pytest.raises(SystemExit):
        run('flowers102', '--root', root)
    assert 'the checked archives of Flowers-102 did not unpack' in capsys.readouterr().err
    assert sorted(os.listdir(root)) == ['downloads']


@pytest.mark.parametrize('ignore_range', [False, True], ids=['range', 'server_without_range'])
def test_dropped_connection_is_resumed_in_the_same_run(flowers_online, ignore_range, capsys):
    server, root = flowers_online['server'], flowers_online['root']
    server.drop_once.add('/flowers/102flowers.tgz')
    server.ignore_range = ignore_range
    run('flowers102', '--root', root)
    archive = flowers_online['files']['102flowers.tgz']
    gets = [r for p, r in server.requests if p == '/flowers/102flowers.tgz']
    assert gets == [None, f'bytes={len(archive) // 2}-']  # the second asks for the rest
    assert (root / 'downloads' / '102flowers.tgz').read_bytes() == archive
    out = capsys.readouterr().out
    assert ('does not resume downloads' in out) == ignore_range
    assert len(SCOTTFlowers102(data_root=str(root), split='train')) == 6


def test_a_killed_download_is_continued_by_the_next_run(flowers_online, capsys):
    server, root = flowers_online['server'], flowers_online['root']
    archive = flowers_online['files']['102flowers.tgz']
    server.drop_once.add('/flowers/102flowers.tgz')
    with pytest.raises(SystemExit):  # no retries: the run stops, as if killed
        run('flowers102', '--root', root, '--retries', 0)
    err = capsys.readouterr().err
    part = root / 'downloads' / '102flowers.tgz.part'
    assert f'The {len(archive) // 2:,} bytes received so far are kept in {part}' in err
    assert part.read_bytes() == archive[:len(archive) // 2]
    assert not (root / 'flowers-102').exists()
    assert not (root / 'downloads' / '102flowers.tgz').exists()
    run('flowers102', '--root', root)
    assert server.requests[-3][1] == f'bytes={len(archive) // 2}-'
    assert (root / 'downloads' / '102flowers.tgz').read_bytes() == archive and not part.exists()


def test_offline_says_what_to_download_and_where_then_uses_it(flowers_online, monkeypatch,
                                                              capsys):
    root = flowers_online['root']
    with socket.socket() as s:  # a port nobody listens on: connection refused, like offline
        s.bind(('127.0.0.1', 0))
        dead = f'http://127.0.0.1:{s.getsockname()[1]}/flowers/'
    monkeypatch.setattr(tvd.Flowers102, '_download_url_prefix', dead)
    with pytest.raises(SystemExit):
        run('flowers102', '--root', root)
    err = capsys.readouterr().err
    assert f'cannot download {dead}102flowers.tgz' in err and 'refused' in err
    downloads = root / 'downloads'
    for name, (_, digest) in (('102flowers.tgz', tvd.Flowers102._file_dict['image']),
                              ('imagelabels.mat', tvd.Flowers102._file_dict['label'])):
        assert f'{dead}{name}  (md5 {digest})' in err
    assert f'put these files in {downloads}/ and run the same command again' in err
    assert leftovers(root) == [] and not (root / 'flowers-102').exists()
    for name, data in flowers_online['files'].items():  # the user follows the message
        (downloads / name).write_bytes(data)
    assert run('flowers102', '--root', root).counts == {'train': 6, 'val': 3, 'test': 9}


def test_pets_full_run(server, tmp_path, monkeypatch, capsys):
    src = str(tmp_path / 'src')
    names = make_pets(src, n_trainval=3, n_test=2)
    archives = {'images.tar.gz': tar_gz(src, ['images']),
                'annotations.tar.gz': tar_gz(src, ['annotations'])}
    server.files.update({f'/pets/{n}': data for n, data in archives.items()})
    monkeypatch.setattr(tvd.OxfordIIITPet, '_RESOURCES', tuple(
        (f'{server.url}/pets/{n}', md5(data)) for n, data in archives.items()))
    root = tmp_path / 'data'
    summary = run('pets', '--root', root)
    assert summary.counts == {'trainval': 9, 'test': 6} and summary.num_classes == 3
    for split, index in (('trainval', 'trainval.txt'), ('test', 'test.txt')):
        ours = SCOTTOxfordIIITPet(data_root=str(root), split=split)
        assert sorted(osp.basename(ours.get_data_info(i)['img_path'])[:-4]
                      for i in range(len(ours))) == sorted(names[index])
        assert len(tvd.OxfordIIITPet(str(root), split=split)) == len(names[index])
    assert leftovers(root) == []
    assert 'images: trainval 9 | test 6 (3 classes)' in capsys.readouterr().out


def test_imagenette_is_an_image_folder_the_own_data_configs_read(server, tmp_path, monkeypatch):
    wnids = sorted(tvd.Imagenette._WNID_TO_CLASS)[:3]
    src = str(tmp_path / 'src' / 'imagenette2-320')
    make_image_folder(src, {'train': {w: 2 for w in wnids}, 'val': {w: 1 for w in wnids}})
    archive = tar_gz(str(tmp_path / 'src'), ['imagenette2-320'])
    server.files['/imagenette2-320.tgz'] = archive
    monkeypatch.setattr(tvd.Imagenette, '_ARCHIVES', dict(
        tvd.Imagenette._ARCHIVES, **{'320px': (f'{server.url}/imagenette2-320.tgz', md5(archive))}))
    root = tmp_path / 'data'
    summary = run('imagenette', '--root', root)
    folder = root / 'imagenette2-320'
    assert summary.counts == {'trainval': 6, 'test': 3} and summary.num_classes == 3
    assert sorted(os.listdir(folder)) == ['train', 'val']
    assert len(tvd.Imagenette(str(root), split='val', size='320px')) == 3
    # what configs/*_folder.py read: val/ is the test split, val carved from train/
    dirs = dict(train='train', val='val', test=('test', 'val'))
    test = SCOTTImageFolder(data_root=str(folder), split='test', split_dirs=dirs)
    assert len(test) == 3 and test.metainfo['classes'] == tuple(wnids)
    assert leftovers(root) == []


@pytest.fixture(scope='module')
def imagenet(tmp_path_factory):
    """ImageNet-1k's layout: the 100 listed classes and two others; 2 train, 1 val each."""
    root = str(tmp_path_factory.mktemp('imagenet'))
    wnids = imagenet100_wnids() + ['n00000001', 'n00000002']
    make_image_folder(root, {'train': {w: 2 for w in wnids}, 'val': {w: 1 for w in wnids}},
                      size=8)
    return root


@pytest.mark.parametrize('copy', [False, True], ids=['links', 'copies'])
def test_imagenet100_from_a_local_copy(imagenet, tmp_path, copy, capsys):
    root = tmp_path / 'data'
    summary = run('in100', '--root', root, '--imagenet', imagenet, *(['--copy'] if copy else []))
    folder = root / 'imagenet100'
    assert summary.counts == {'trainval': 200, 'test': 100} and summary.num_classes == 100
    for part in ('train', 'val'):
        assert sorted(os.listdir(folder / part)) == sorted(imagenet100_wnids())
        entry = folder / part / imagenet100_wnids()[0]
        assert entry.is_symlink() != copy
        assert os.path.realpath(entry) == (osp.join(imagenet, part, imagenet100_wnids()[0])
                                           if not copy else str(entry))
    assert len(ImageNet100(data_root=str(folder), split='test')) == 100
    out = capsys.readouterr().out
    # a partial ImageNet copy (2 and 1 images per class) is run, but said to be one
    assert 'warning: 100 classes of train/ do not have the 732-1300 images' in out
    assert 'warning: 100 classes of val/ do not have the 50-50 images' in out
    assert 'images: trainval 200 | test 100 (100 classes)' in out
    assert [p for p in os.listdir(root) if p.startswith('.')] == []
    assert run('in100', '--root', root, '--imagenet', imagenet).counts == summary.counts
    assert 'already prepared' in capsys.readouterr().out


def test_imagenet100_missing_class_or_unsorted_val(imagenet, tmp_path, capsys):
    broken = tmp_path / 'imagenet'
    shutil.copytree(imagenet, broken, ignore=shutil.ignore_patterns(imagenet100_wnids()[3]))
    with pytest.raises(SystemExit):
        run('in100', '--root', tmp_path / 'data', '--imagenet', broken)
    err = capsys.readouterr().err
    assert f"1 of the 100 ImageNet-100 classes are missing from {broken}/train: " \
           f"['{imagenet100_wnids()[3]}']" in err
    assert not (tmp_path / 'data' / 'imagenet100').exists()
    shutil.rmtree(broken)
    shutil.copytree(imagenet, broken)
    shutil.rmtree(broken / 'val')
    (broken / 'val').mkdir()
    (broken / 'val' / 'ILSVRC2012_val_00000001.JPEG').write_bytes(b'')
    with pytest.raises(SystemExit):
        run('in100', '--root', tmp_path / 'data', '--imagenet', broken)
    assert 'holds the images directly: sort them into wnid folders' in capsys.readouterr().err
    assert not (tmp_path / 'data' / 'imagenet100').exists()
