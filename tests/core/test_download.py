"""Getting the archive: a real HTTP download on loopback, checksums, cache, clear errors."""

import hashlib
import http.server
import threading
from functools import partial

import pytest

from scones.download import SourceError, cache_dir, resolve_source


@pytest.fixture
def http_root(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_verifies_and_caches(http_root, tmp_path):
    root, base = http_root
    payload = b"archive bytes" * 1000
    (root / "cifar.tar.gz").write_bytes(payload)
    seen = []
    path = resolve_source(f"{base}/cifar.tar.gz", cache=tmp_path / "cache",
                          md5=hashlib.md5(payload).hexdigest(), progress=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    (root / "cifar.tar.gz").unlink()  # the cache answers now
    assert resolve_source(f"{base}/cifar.tar.gz", cache=tmp_path / "cache",
                          md5=hashlib.md5(payload).hexdigest()) == path


def test_checksum_mismatch_leaves_nothing(http_root, tmp_path):
    root, base = http_root
    (root / "cifar.tar.gz").write_bytes(b"corrupt")
    with pytest.raises(SourceError, match=r"downloaded with MD5 .*expected 0{32}: the file is corrupt"):
        resolve_source(f"{base}/cifar.tar.gz", cache=tmp_path / "cache", md5="0" * 32)
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


class _CutShort(http.server.BaseHTTPRequestHandler):
    """Promises 10,000 bytes, sends 100 and hangs up: a download interrupted midway."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"x" * 100)

    def log_message(self, *args):
        pass


def test_download_cut_short_fails_its_check_and_leaves_nothing(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutShort)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cifar.tar.gz"
    try:
        with pytest.raises(SourceError) as caught:
            resolve_source(url, cache=tmp_path / "cache")
    finally:
        server.shutdown()
        server.server_close()
    assert str(caught.value) == (f"{url} ended after 100 of its 10,000 bytes: the download was cut short; "
                                 "try again, or pass a verified copy with --source PATH")
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_unreachable_url_says_how_to_pass_source(tmp_path):
    import socket

    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceError, match=r"If this machine is offline.*pass it with --source PATH \(make run SOURCE=PATH for the whole workflow\)"):
        resolve_source(f"http://127.0.0.1:{port}/cifar.tar.gz", cache=tmp_path)


def test_missing_local_file(tmp_path):
    with pytest.raises(SourceError, match=r"--source .*nope\.tar\.gz: no such file"):
        resolve_source(str(tmp_path / "nope.tar.gz"))


def test_local_file_used_as_is(tmp_path):
    path = tmp_path / "mine.tar.gz"
    path.write_bytes(b"x")
    assert resolve_source(str(path)) == path


def test_cache_dir_precedence(tmp_path):
    assert cache_dir({"SCONES_CACHE_DIR": "/a"}).as_posix() == "/a"
    assert cache_dir({"XDG_CACHE_HOME": "/b"}).as_posix() == "/b/scones"
