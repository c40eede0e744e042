"""Getting the CIFAR-100 archive: the official URL (cached, MD5-checked) or a local file.

A download goes to ``NAME.part`` in the cache and is renamed only after its
checksum matches, so an interrupted or corrupt download is never mistaken for
a good archive on the next run.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from scones.errors import SconesError

CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
# Published on the dataset page (and used by every major loader).
CIFAR100_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 30


class SourceError(SconesError, RuntimeError):
    """The archive could not be found, downloaded or verified; the message says what to do."""


# (bytes done, bytes total or None) -> None
ProgressCallback = Callable[[int, "int | None"], None]


def cache_dir(environ=os.environ) -> Path:
    """``$SCONES_CACHE_DIR``, else ``$XDG_CACHE_HOME/scones``, else ``~/.cache/scones``."""
    if environ.get("SCONES_CACHE_DIR"):
        return Path(environ["SCONES_CACHE_DIR"])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scones"


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def download(url: str, destination: Path, *, md5: str | None, progress: ProgressCallback | None = None) -> Path:
    """Download ``url`` to ``destination`` through a ``.part`` file, checking ``md5`` when given."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, open(partial, "wb") as out:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            done = 0
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise SourceError(
            f"could not download {url} ({reason}). If this machine is offline, fetch "
            f"cifar-100-python.tar.gz elsewhere and pass it with --source PATH "
            f"(make run SOURCE=PATH for the whole workflow)"
        ) from error
    if total is not None and done != total:
        partial.unlink(missing_ok=True)
        raise SourceError(
            f"{url} ended after {done:,} of its {total:,} bytes: the download was cut short; try again, or "
            "pass a verified copy with --source PATH"
        )
    if md5 and digest.hexdigest() != md5:
        partial.unlink(missing_ok=True)
        raise SourceError(
            f"{url} downloaded with MD5 {digest.hexdigest()}, expected {md5}: the file is corrupt "
            "or not the CIFAR-100 python archive; try again, or pass a verified copy with --source PATH"
        )
    partial.replace(destination)
    return destination


def resolve_source(
    source: str | None,
    *,
    cache: Path | None = None,
    md5: str | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """A local path to the archive: ``source`` itself, or a cached download of it.

    ``None`` means the official URL. A cached file is reused only if its MD5
    matches (when one is known), so a damaged cache heals itself.
    """
    source = source or CIFAR100_URL
    if not is_url(source):
        path = Path(source).expanduser()
        if not path.is_file():
            raise SourceError(
                f"--source {source}: no such file. Pass the path of cifar-100-python.tar.gz "
                f"(from {CIFAR100_URL}) or a URL"
            )
        return path
    expected = md5 or (CIFAR100_MD5 if source == CIFAR100_URL else None)
    cache = cache or cache_dir()
    name = Path(urlparse(source).path).name or "cifar-100-python.tar.gz"
    # Other URLs get a folder of their own, so two archives of one name never collide.
    folder = cache if source == CIFAR100_URL else cache / hashlib.sha256(source.encode()).hexdigest()[:16]
    cached = folder / name
    if cached.is_file() and (expected is None or file_md5(cached) == expected):
        return cached
    return download(source, cached, md5=expected, progress=progress)
