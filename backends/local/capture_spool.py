"""Data Capture records on local disk until S3 has them, so none lives only in memory.

The capture writer buffers records between flushes; a process that exits
while S3 is down (or is killed before a flush) would lose that buffer. So
each record is also appended to a *journal* file as it is buffered, and a
journal is deleted only once every file cut from its records is in S3::

    SPOOL/BUCKET/data_capture/ENDPOINT/VARIANT/<uuid>.jsonl

Every line is a whole SageMaker capture record, so ``scones monitor
--from-dir SPOOL`` reads the journals as it reads downloaded captures; and
the next writer of the same prefix (the endpoint's next start) adopts the
journals left behind and writes their records to S3.

A live writer holds an exclusive ``flock`` on each of its journals, and a
writer adopts only journals nobody holds: a second process serving the same
endpoint never takes records that are still being written.

``SPOOL`` is ``$SCONES_CAPTURE_SPOOL``, else ``$XDG_CACHE_HOME/scones/capture-spool``
(``~/.cache/scones/capture-spool``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from pathlib import Path
from typing import Callable, Mapping

from scones.s3_uri import S3Uri

SPOOL_VARIABLE = "SCONES_CAPTURE_SPOOL"
JOURNAL_SUFFIX = ".jsonl"


def default_spool_root(environ: Mapping[str, str]) -> Path:
    """``$SCONES_CAPTURE_SPOOL``, else the user's cache folder's ``scones/capture-spool``."""
    if environ.get(SPOOL_VARIABLE):
        return Path(environ[SPOOL_VARIABLE])
    cache = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "scones" / "capture-spool"


def spool_folder(root: Path, prefix: S3Uri) -> Path:
    """Where the journals of one capture prefix live: the bucket and key under ``root``."""
    parts = [part for part in (prefix.bucket, *prefix.key.split("/")) if part]
    if any(part in (".", "..") for part in parts):
        raise ValueError(f"the capture prefix {prefix} has '.' or '..' in its key; choose another destination")
    return root.joinpath(*parts)


def complete_lines(text: str) -> list[str]:
    """The newline-terminated lines of a journal; a torn last line (the process died mid-write) is left out."""
    lines = text.splitlines(keepends=True)
    return [line for line in lines if line.endswith("\n")]


class Journal:
    """One spool file, open for appending and locked while this process owns it."""

    def __init__(self, path: Path, descriptor: int):
        self.path = path
        self._descriptor = descriptor
        self.pending_files = 0  # capture files cut from these records and not yet in S3
        self._appending = 0  # appends under way: the file is not closed while one is
        self._quiet = threading.Condition()

    @classmethod
    def create(cls, path: Path) -> "Journal":
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        return cls(path, descriptor)

    @classmethod
    def adopt(cls, path: Path) -> "Journal | None":
        """The journal at ``path``, locked for this process; None while another process holds it."""
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        return cls(path, descriptor)

    def will_append(self) -> None:
        """Say an append is coming (under the caller's lock, so a journal taken off duty waits for it)."""
        with self._quiet:
            self._appending += 1

    def append(self, line: str) -> None:
        """Hand the line to the operating system: it survives this process from here on.

        Called without the writer's lock: the write releases the interpreter
        lock, and a lock held across it makes every other request thread wait
        for this one to get the interpreter back (a convoy: it halved the
        endpoint's throughput). ``O_APPEND`` keeps concurrent lines whole.
        """
        try:
            os.write(self._descriptor, line.encode("utf-8"))
        finally:
            with self._quiet:
                self._appending -= 1
                self._quiet.notify_all()

    def lines(self) -> list[str]:
        return complete_lines(self.path.read_text(encoding="utf-8", errors="replace"))

    def release(self) -> None:
        """Close (and unlock) the journal once no append is under way, keeping the file for a later writer."""
        with self._quiet:
            self._quiet.wait_for(lambda: self._appending == 0)
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1

    def discard(self) -> None:
        """Delete the journal: its records are all in S3."""
        self.release()
        self.path.unlink(missing_ok=True)


class CaptureSpool:
    """The journals of one capture prefix under a spool root."""

    def __init__(self, root: Path, prefix: S3Uri, *, new_id: Callable[[], str] = lambda: str(uuid.uuid4())):
        self.folder = spool_folder(Path(root), prefix)
        self._new_id = new_id

    def new_journal(self) -> Journal:
        return Journal.create(self.folder / f"{self._new_id()}{JOURNAL_SUFFIX}")

    def leftovers(self) -> list[Journal]:
        """The journals earlier processes left here, each now locked for this one (oldest name first)."""
        if not self.folder.is_dir():
            return []
        adopted = []
        for path in sorted(self.folder.glob(f"*{JOURNAL_SUFFIX}")):
            journal = Journal.adopt(path)
            if journal is not None:
                adopted.append(journal)
        return adopted
