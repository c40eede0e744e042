"""Reading a (compressed) tar stream to its very end, so a truncated download is never taken as whole.

tarfile's own stream stops at the tar's end-of-archive blocks and never
reads the gzip trailer (CRC and length): an archive cut inside its trailer
passes as whole. The CIFAR-100 archive and the model.tar.gz are both read
through :func:`decompressed` and then :func:`trailing_bytes`, whose reading
makes the decompressor check the stream's end.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import IO

# The compressions tarfile reads, by magic bytes, each with the reader that checks its stream's end.
_COMPRESSIONS = (
    (b"\x1f\x8b", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    (b"BZh", bz2.BZ2File),
    (b"\xfd7zXZ\x00", lzma.LZMAFile),
)
# tar pads an archive to 10 KiB records after its end; anything far beyond is not the archive it claims to be.
MAX_TRAILING_BYTES = 1 << 20


def decompressed(raw: IO[bytes]) -> IO[bytes]:
    """``raw`` read through the decompressor its magic bytes call for (as is when uncompressed)."""
    if hasattr(raw, "peek"):
        head = raw.peek(6)[:6]
    elif raw.seekable():
        head = raw.read(6)
        raw.seek(-len(head), io.SEEK_CUR)
    else:  # a one-shot stream: buffering it is the only way to look ahead
        raw = io.BufferedReader(raw)
        head = raw.peek(6)[:6]
    return next((reader(raw) for magic, reader in _COMPRESSIONS if head.startswith(magic)), raw)


def trailing_bytes(stream: IO[bytes]) -> int:
    """Read what follows the tar's end (at most one byte past :data:`MAX_TRAILING_BYTES`); how many there were.

    The read makes the decompressor verify the stream's checksum and length
    (EOFError or OSError when it is cut short).
    """
    return len(stream.read(MAX_TRAILING_BYTES + 1))
