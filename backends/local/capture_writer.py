"""Data Capture files: records buffered in memory, written to S3 as SageMaker lays them out.

An endpoint captures hundreds of invocations a second; one S3 object per
record would cost a PUT each and bury monitoring in tiny files. So records are
buffered and each *flush* writes them as new JSON Lines objects under
``PREFIX/yyyy/mm/dd/hh/mm-ss-mmm-UUID.jsonl`` (:func:`scones.bucket_layout.capture_key`),
the hour being the flush's: S3 objects are immutable, so every flush writes new
files and never appends.

When a flush happens (pure functions below):

- by size: as soon as ``max_records`` records or ``max_bytes`` bytes wait;
- by time: when the oldest waiting record is ``max_age_seconds`` old;
- on :meth:`CaptureWriter.flush` and :meth:`CaptureWriter.close`.

A background thread does the size and time flushes, waiting through the
injected :class:`Clock`, so a test with a fake clock triggers a time flush by
advancing it instead of sleeping. A failed write is retried a bounded number of
times, backing off through the same clock; a file that still fails is kept,
with its key, and retried on the next flush (same key, so a write that failed
only in appearance is not duplicated). Failures are logged, counted in
:attr:`CaptureWriter.failures`, and raised as :class:`CaptureWriteError` by
:meth:`CaptureWriter.close` if records are still unwritten: never dropped silently.

With a :class:`~.capture_spool.CaptureSpool` (the endpoint always gives one),
every record is also on local disk from the moment it is buffered until S3
has it; records S3 would not take by :meth:`CaptureWriter.close` stay there,
named in the error, and the next writer of the prefix writes them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

from scones.backends.local.capture_spool import CaptureSpool, Journal
from scones.bucket_layout import capture_key
from scones.capture import CaptureRecord
from scones.s3_uri import S3Uri
from scones.storage import Storage

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Wall time plus the two ways a writer lets time pass."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (retry backoff)."""

    def wait_until(self, event: threading.Event, deadline: datetime | None) -> bool:
        """Block until ``event`` is set or ``deadline`` passes (None: no deadline); True if set."""


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait_until(self, event: threading.Event, deadline: datetime | None) -> bool:
        if deadline is None:
            return event.wait()
        return event.wait(max(0.0, (deadline - self.now()).total_seconds()))


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class FlushPolicy:
    """When buffered records become a file."""

    max_records: int = 1000
    max_bytes: int = 8 << 20
    max_age_seconds: float = 5.0

    def __post_init__(self):
        if self.max_records < 1 or self.max_bytes < 1 or self.max_age_seconds <= 0:
            raise ValueError(f"flush limits must be positive, got {self}")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a file write is tried within one flush, and the waits between tries."""

    attempts: int = 3
    first_backoff_seconds: float = 0.2
    multiplier: float = 2.0

    def __post_init__(self):
        if self.attempts < 1 or self.first_backoff_seconds < 0 or self.multiplier < 1:
            raise ValueError(f"need attempts >= 1, backoff >= 0, multiplier >= 1, got {self}")


def backoff_seconds(failed_attempts: int, policy: RetryPolicy) -> float:
    """The wait after the ``failed_attempts``-th failed try: exponential from the first backoff."""
    return policy.first_backoff_seconds * policy.multiplier ** (failed_attempts - 1)


def size_flush_due(records: int, size: int, policy: FlushPolicy) -> bool:
    return records >= policy.max_records or size >= policy.max_bytes


def flush_due_at(records: int, size: int, waiting_since: datetime | None,
                 policy: FlushPolicy) -> datetime | None:
    """When the next flush is due; None when nothing waits.

    ``records``/``size`` are the buffered records; ``waiting_since`` is when the
    longest wait began: the oldest buffered record's arrival, or the last flush
    that left files unwritten (so those are retried ``max_age_seconds`` later).
    Reaching the size limit makes the flush due at once.
    """
    if waiting_since is None:
        return None
    if size_flush_due(records, size, policy):
        return waiting_since
    return waiting_since + timedelta(seconds=policy.max_age_seconds)


def split_into_files(lines: list[str], policy: FlushPolicy) -> list[list[str]]:
    """Consecutive runs of lines, each within the record and byte limits (a huge line goes alone)."""
    files: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode("utf-8"))
        if current and (len(current) >= policy.max_records or size + length > policy.max_bytes):
            files.append(current)
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        files.append(current)
    return files


class CaptureWriteError(RuntimeError):
    """Capture records could not be written; the message says how many, where, and why."""


@dataclass(frozen=True)
class CaptureStats:
    records_added: int
    records_written: int
    files_written: int
    failures: int  # failed write attempts, retried or not
    records_unwritten: int  # cut into files that are waiting for a retry
    last_error: str | None


@dataclass(frozen=True)
class _CaptureFile:
    uri: str
    lines: tuple[str, ...]
    journal: Journal | None = None  # the spool file holding these lines until S3 has them


class CaptureWriter:
    """Buffers one endpoint variant's capture records and writes them under ``prefix``."""

    def __init__(self, storage: Storage, prefix: S3Uri, *, policy: FlushPolicy = FlushPolicy(),
                 retry: RetryPolicy = RetryPolicy(), clock: Clock = SYSTEM_CLOCK,
                 new_file_id: Callable[[], str] = lambda: str(uuid.uuid4()), spool: CaptureSpool | None = None):
        self.prefix = prefix
        self.policy = policy
        self.retry = retry
        self._storage = storage
        self._clock = clock
        self._new_file_id = new_file_id
        self._lock = threading.Lock()  # the buffer and the counters
        self._flush_lock = threading.Lock()  # one flush at a time; guards _unwritten
        self._buffer: list[str] = []
        self._buffered_bytes = 0
        self._oldest: datetime | None = None  # when the oldest buffered record arrived
        self._unwritten: list[_CaptureFile] = []
        self._retry_since: datetime | None = None  # when a flush last left files unwritten
        self._added = self._written = self._files = self._failures = 0
        self._last_error: str | None = None
        self._closed = False
        self._spool = spool
        self._journal: Journal | None = None  # where added records go on disk until the next flush
        if spool is not None:
            for journal in spool.leftovers():
                self._queue_files(journal.lines(), journal)
            if self._unwritten:
                log.info("writing %d capture record(s) a previous run left in %s",
                         sum(len(f.lines) for f in self._unwritten), spool.folder)
                self._retry_since = clock.now() - timedelta(seconds=policy.max_age_seconds)  # due at once
        self._wake = threading.Event()
        self._flusher = threading.Thread(target=self._flush_when_due, name=f"capture-writer {prefix}",
                                         daemon=True)
        self._flusher.start()

    # ------------------------------------------------------------------ public

    def add(self, record: CaptureRecord) -> None:
        """Buffer one record; the background thread writes it when a flush is due."""
        line = record.to_line()
        with self._lock:
            if self._closed:
                raise CaptureWriteError(f"the capture writer for {self.prefix} is closed; record "
                                        f"{record.event_id} was not captured")
            first = not self._buffer
            journal = self._journal_locked()
            self._buffer.append(line)
            self._buffered_bytes += len(line.encode("utf-8"))
            self._added += 1
            if first:
                self._oldest = self._clock.now()
            wake = first or size_flush_due(len(self._buffer), self._buffered_bytes, self.policy)
        if journal is not None:
            self._append(journal, line)
        if wake:
            self._wake.set()

    def flush(self) -> int:
        """Write everything buffered (and every file a previous flush could not); returns records written."""
        with self._flush_lock:
            with self._lock:
                lines, self._buffer = self._buffer, []
                journal, self._journal = self._journal, None
                self._buffered_bytes, self._oldest = 0, None
            self._queue_files(lines, journal)
            written = 0
            while self._unwritten and self._write(self._unwritten[0]):
                done = self._unwritten.pop(0)
                written += len(done.lines)
                if done.journal is not None:
                    done.journal.pending_files -= 1
                    if done.journal.pending_files == 0:
                        done.journal.discard()
            with self._lock:
                self._retry_since = self._clock.now() if self._unwritten else None
            return written

    @property
    def failures(self) -> int:
        """Failed write attempts so far (each was logged)."""
        with self._lock:
            return self._failures

    def stats(self) -> CaptureStats:
        with self._flush_lock, self._lock:
            unwritten = sum(len(file.lines) for file in self._unwritten)
            return CaptureStats(self._added, self._written, self._files, self._failures, unwritten,
                                self._last_error)

    def close(self) -> None:
        """Stop the background thread, write what is left; raise if any record stays unwritten."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._flusher.join()
        self.flush()
        with self._flush_lock:
            if self._unwritten:
                records = sum(len(file.lines) for file in self._unwritten)
                journals = list(dict.fromkeys(f.journal for f in self._unwritten if f.journal is not None))
                for journal in journals:
                    journal.release()
                raise CaptureWriteError(
                    f"{records} capture record(s) in {len(self._unwritten)} file(s) could not be written "
                    f"under {self.prefix} ({self._failures} failed attempts; last: {self._last_error}); "
                    f"first file: {self._unwritten[0].uri}. Check that the bucket exists and S3 answers"
                    + (self._kept_message(journals) if journals else "")
                )

    # ---------------------------------------------------------------- internal

    def _journal_locked(self) -> Journal | None:
        """The journal the record being added goes to, told an append is coming (call with ``_lock`` held)."""
        if self._spool is None:
            return None
        try:
            if self._journal is None:
                self._journal = self._spool.new_journal()
        except OSError as error:
            self._spool_failed(error)
            return None
        self._journal.will_append()
        return self._journal

    def _append(self, journal: Journal, line: str) -> None:
        try:
            journal.append(line)
        except OSError as error:  # a full or read-only disk: the record is still buffered for S3
            with self._lock:
                self._spool_failed(error)

    def _spool_failed(self, error: OSError) -> None:
        self._last_error = f"spool {self._spool.folder}: {type(error).__name__}: {error}"
        log.warning("could not spool a capture record under %s: %s", self._spool.folder, error)

    def _queue_files(self, lines: list[str], journal: Journal | None) -> None:
        """Cut ``lines`` into capture files keyed by now, to be written in order (call with ``_flush_lock`` held)."""
        if not lines:
            if journal is not None:
                journal.discard()
            return
        opened_at = self._clock.now()
        files = [_CaptureFile(str(capture_key(self.prefix, opened_at, self._new_file_id())), tuple(chunk), journal)
                 for chunk in split_into_files(lines, self.policy)]
        if journal is not None:
            journal.pending_files = len(files)
        self._unwritten.extend(files)

    def _kept_message(self, journals: list[Journal]) -> str:
        paths = ", ".join(str(journal.path) for journal in journals)
        return (f". They are kept on disk in {paths}: the endpoint's next start writes them to S3, and "
                f"`scones monitor --from-dir {self._spool.folder}` reads them now")

    def _flush_when_due(self) -> None:
        """The background thread: wait until a flush is due (or a wake-up), flush, repeat."""
        while True:
            with self._lock:
                if self._closed:
                    return
                waiting_since = min((t for t in (self._oldest, self._retry_since) if t is not None),
                                    default=None)
                due_at = flush_due_at(len(self._buffer), self._buffered_bytes, waiting_since, self.policy)
            if due_at is not None and due_at <= self._clock.now():
                try:
                    self.flush()
                except Exception:  # keep flushing later; the records stay queued
                    log.exception("capture flush under %s failed unexpectedly", self.prefix)
                continue
            self._clock.wait_until(self._wake, due_at)
            self._wake.clear()

    def _write(self, file: _CaptureFile) -> bool:
        """Put one file, retrying with backoff; False (error kept for the report) if every try fails."""
        body = "".join(file.lines).encode("utf-8")
        for attempt in range(1, self.retry.attempts + 1):
            try:
                self._storage.put(file.uri, body)
            except Exception as error:  # StorageError, connection errors: whatever the storage raises
                with self._lock:
                    self._failures += 1
                    self._last_error = f"{type(error).__name__}: {error}"
                log.warning("could not write capture file %s (attempt %d of %d): %s",
                            file.uri, attempt, self.retry.attempts, error)
                if attempt < self.retry.attempts:
                    self._clock.sleep(backoff_seconds(attempt, self.retry))
                continue
            with self._lock:
                self._written += len(file.lines)
                self._files += 1
            return True
        return False
