"""Streaming Data Capture records out of S3 or a local folder, one line at a time.

SageMaker writes captures to ``DESTINATION/ENDPOINT/VARIANT/yyyy/mm/dd/hh/NAME.jsonl``
(see :func:`scones.bucket_layout.capture_key`). The variant and the hour are read
from that layout, so a ``--variant`` or a time window skips whole files before
anything is downloaded; records are then filtered exactly by ``inferenceTime``.
A folder downloaded with ``aws s3 cp --recursive`` keeps the same layout, so
both sources share this logic.

A line that is not a capture record is never fatal: it comes out of
:func:`read_records` as a :class:`MalformedLine` naming its file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

from scones import json_depth
from scones.bucket_layout import CAPTURE_SUFFIX
from scones.capture import CaptureFormatError, CaptureRecord, parse_record
from scones.errors import InputError, NotFound
from scones.s3_uri import S3Uri

if TYPE_CHECKING:  # the storage is given; reading decides nothing about how it is reached
    from scones.storage import Storage

# ``…/VARIANT/yyyy/mm/dd/hh/NAME.jsonl`` at the end of a key or a path.
_CAPTURE_LAYOUT = re.compile(
    r"(?:^|/)(?P<variant>[^/]+)/(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?P<hour>\d{2})/[^/]+\.jsonl$"
)
# The hour folder is the hour a file was *opened*; SageMaker keeps a file open
# for a while, so its records may run past that hour. A file is read when its
# hour, widened by this much on both sides, overlaps the window.
FILE_HOUR_SLACK = timedelta(hours=1)
ONE_HOUR = timedelta(hours=1)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# How far an endpoint's clock may run ahead of the reader's before its times are called impossible.
CLOCK_SKEW = timedelta(days=1)


class NoCapturesFound(NotFound):
    """No capture file where captures were expected; the message says where and why."""


@dataclass(frozen=True)
class TimeWindow:
    """``since`` (inclusive) to ``until`` (exclusive), both aware; None leaves that side open."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self):
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise InputError(f"--{name} {moment.isoformat()} has no time zone; append Z for UTC")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InputError(
                f"the time window is empty: --since {self.since.isoformat()} is not before "
                f"--until {self.until.isoformat()}"
            )

    def contains(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)

    def may_hold_file_of_hour(self, hour: datetime) -> bool:
        """Whether a capture file opened in ``hour`` can hold records inside the window."""
        earliest, latest = hour - FILE_HOUR_SLACK, hour + ONE_HOUR + FILE_HOUR_SLACK
        return (self.since is None or latest > self.since) and (self.until is None or earliest < self.until)

    def to_json(self) -> dict:
        return {"since": _iso(self.since), "until": _iso(self.until)}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class CaptureFile:
    """One ``.jsonl`` capture file: where it is, and the variant and hour its location says."""

    location: str  # an s3:// URI or a filesystem path
    variant: str | None = None
    hour: datetime | None = None  # aware UTC, None when the location does not follow the layout

    @classmethod
    def at(cls, location: str) -> "CaptureFile":
        match = _CAPTURE_LAYOUT.search(location.replace("\\", "/"))
        if match is None:
            return cls(location)
        try:
            hour = datetime(int(match["year"]), int(match["month"]), int(match["day"]), int(match["hour"]),
                            tzinfo=timezone.utc)
        except ValueError:  # digits that are no date, e.g. month 13: not the layout after all
            return cls(location)
        return cls(location, match["variant"], hour)


class CaptureSource(Protocol):
    """Somewhere capture files are listed and read from."""

    description: str

    def files(self) -> Iterator[CaptureFile]:
        """Every capture file, in a stable order."""

    def open_lines(self, files: Iterable[CaptureFile]) -> Iterator[tuple[CaptureFile, Iterable[bytes]]]:
        """Each file with its lines; a file's lines must be consumed before the next file is asked for."""


class StorageCaptures:
    """Capture files under an ``s3://`` prefix, downloaded a batch at a time in parallel."""

    def __init__(self, storage: Storage, prefix_uri: str):
        location = S3Uri.parse(prefix_uri)
        self.storage = storage
        self.prefix = S3Uri(location.bucket, location.key.rstrip("/") + "/" if location.key else "")
        self.description = str(self.prefix)

    def files(self) -> Iterator[CaptureFile]:
        for stored in self.storage.list(str(self.prefix)):
            if stored.uri.endswith(CAPTURE_SUFFIX):
                yield CaptureFile.at(stored.uri)

    def open_lines(self, files: Iterable[CaptureFile]) -> Iterator[tuple[CaptureFile, Iterable[bytes]]]:
        batch: list[CaptureFile] = []
        for capture_file in files:
            batch.append(capture_file)
            if len(batch) == self.storage.concurrency:
                yield from self._download(batch)
                batch = []
        yield from self._download(batch)

    def _download(self, batch: list[CaptureFile]) -> Iterator[tuple[CaptureFile, Iterable[bytes]]]:
        bodies = self.storage.get_many(f.location for f in batch)
        for capture_file, body in zip(batch, bodies):
            yield capture_file, body.split(b"\n")


class DirectoryCaptures:
    """Capture files anywhere below a local folder, e.g. one filled by ``aws s3 cp --recursive``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is not a folder; pass the folder the .jsonl captures were "
                                     "downloaded into")
        self.description = str(self.root)

    def files(self) -> Iterator[CaptureFile]:
        for path in sorted(self.root.rglob(f"*{CAPTURE_SUFFIX}")):
            if path.is_file():
                yield CaptureFile.at(str(path))

    def open_lines(self, files: Iterable[CaptureFile]) -> Iterator[tuple[CaptureFile, Iterable[bytes]]]:
        for capture_file in files:
            with open(capture_file.location, "rb") as lines:
                yield capture_file, lines


@dataclass(frozen=True)
class LocatedRecord:
    """A parsed capture record and the file and line it came from."""

    location: str
    line_number: int
    record: CaptureRecord


@dataclass(frozen=True)
class MalformedLine:
    location: str
    line_number: int
    reason: str

    def to_json(self) -> dict:
        return {"location": self.location, "line": self.line_number, "reason": self.reason}


@dataclass
class ReadStats:
    """What reading saw besides records: files listed, read and skipped, records outside the window."""

    files_listed: int = 0
    files_read: int = 0
    files_skipped: int = 0  # another variant, or an hour outside the window
    records_outside_window: int = 0
    variants_seen: set[str] = field(default_factory=set)

    def to_json(self) -> dict:
        return {"listed": self.files_listed, "read": self.files_read, "skipped": self.files_skipped}


def select_files(files: Iterable[CaptureFile], window: TimeWindow, variant: str | None,
                 stats: ReadStats) -> Iterator[CaptureFile]:
    """The files that can hold records of ``variant`` inside ``window``, counted into ``stats``."""
    for capture_file in files:
        stats.files_listed += 1
        if capture_file.variant is not None:
            stats.variants_seen.add(capture_file.variant)
        wrong_variant = variant is not None and capture_file.variant not in (None, variant)
        outside = capture_file.hour is not None and not window.may_hold_file_of_hour(capture_file.hour)
        if wrong_variant or outside:
            stats.files_skipped += 1
            continue
        stats.files_read += 1
        yield capture_file


def parse_line(location: str, line_number: int, raw: bytes, *, now: datetime) -> LocatedRecord | MalformedLine | None:
    """One physical line: a record, a malformed line saying why, or None for a blank line.

    A line nesting deeper than any record does is refused before it is parsed
    (a recursive parse of it would crash), and a record must have been
    captured in the :func:`capture_era` of ``now``.
    """
    text = raw.strip()
    if not text:
        return None
    try:
        line = text.decode("utf-8")
        if json_depth.nests_too_deep(line):
            raise CaptureFormatError(f"nests deeper than {json_depth.MAX_DEPTH} levels; no capture record does")
        record = parse_record(line)
    except UnicodeDecodeError as error:
        return MalformedLine(location, line_number, f"not UTF-8 text (byte {error.start})")
    except CaptureFormatError as error:
        return MalformedLine(location, line_number, str(error))
    earliest, latest = capture_era(now)
    if not earliest <= record.inference_time <= latest:
        return MalformedLine(location, line_number, f"inferenceTime {_iso(record.inference_time)} is outside "
                                                    f"{_iso(earliest)} to {_iso(latest)}: no capture was made then")
    return LocatedRecord(location, line_number, record)


def capture_era(now: datetime) -> tuple[datetime, datetime]:
    """When a capture can have been made: from the Unix epoch to ``now`` plus a day of clock skew.

    Anything outside is a corrupt time, and one such time would stretch the
    report's time axis over millennia (past the years a date or a chart holds).
    """
    return UNIX_EPOCH, now + CLOCK_SKEW


def read_records(source: CaptureSource, *, now: datetime, window: TimeWindow = TimeWindow(),
                 variant: str | None = None, stats: ReadStats | None = None) -> Iterator[LocatedRecord | MalformedLine]:
    """Every record inside ``window`` (and every malformed line) of the selected files, streamed.

    ``now`` (the caller reads the clock: this module decides, it does not
    look at the time) ends the era a record's time must fall in.
    Raises :class:`NoCapturesFound` when the source holds no capture file, or
    none of ``variant``, since that is almost always a wrong name, not an
    empty result.
    """
    stats = stats if stats is not None else ReadStats()
    selected = select_files(source.files(), window, variant, stats)
    for capture_file, lines in source.open_lines(selected):
        for line_number, raw in enumerate(lines, start=1):
            item = parse_line(capture_file.location, line_number, raw, now=now)
            if isinstance(item, LocatedRecord) and not window.contains(item.record.inference_time):
                stats.records_outside_window += 1
            elif item is not None:
                yield item
    _check_found(source, variant, stats)


def _check_found(source: CaptureSource, variant: str | None, stats: ReadStats) -> None:
    if stats.files_listed == 0:
        raise NoCapturesFound(
            f"no capture files (*{CAPTURE_SUFFIX}) under {source.description}; check the endpoint name "
            "(--endpoint) and the bucket, that the endpoint config has Data Capture enabled with its "
            "DestinationS3Uri there, and that the endpoint has been invoked since"
        )
    if variant is not None and variant not in stats.variants_seen and stats.files_read == 0:
        seen = ", ".join(sorted(stats.variants_seen)) or "none"
        raise NoCapturesFound(
            f"no capture files of variant {variant!r} under {source.description}; variants there: {seen}"
        )
