"""The time source of an execution: an object with ``now()`` and ``sleep(seconds)``.

Every wait the interpreter makes (Wait states, Retry intervals) and every
timestamp it writes (history events, ``$$.Execution.StartTime``) goes through
one clock, so a test can swap in :class:`FakeClock` and run a workflow that
"waits" for a day in microseconds, with timestamps that show the waits.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Let ``seconds`` pass, or return early once ``wake`` is set (the execution was stopped)."""


class RealClock:
    """Wall-clock time; ``sleep`` really sleeps, and wakes as soon as ``wake`` is set."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        if seconds <= 0:
            return
        if wake is None:
            time.sleep(seconds)
        else:
            wake.wait(seconds)


class FakeClock:
    """A clock that only moves when slept on; ``sleep`` returns at once.

    ``sleeps`` records every requested sleep, so tests can assert the exact
    retry back-off or wait a workflow asked for. Safe to share between threads.
    """

    DEFAULT_START = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def __init__(self, start: datetime | None = None):
        self._now = start or self.DEFAULT_START
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Time passes at once, so there is nothing to wake from: ``wake`` is ignored."""
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (e.g. inside a handler)."""
        with self._lock:
            self._now += timedelta(seconds=seconds)


def iso_timestamp(moment: datetime) -> str:
    """The ISO-8601 form AWS uses in the context object: millisecond precision, ``Z``."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})")


def parse_timestamp(text: object) -> datetime | None:
    """An RFC 3339 timestamp (``2016-03-14T01:59:00Z``) as an aware datetime, else None.

    Step Functions requires the ``T`` separator and an explicit zone (``Z`` or
    an offset); fractional seconds are optional.
    """
    if not isinstance(text, str):
        return None
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        return None
    whole, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    try:
        return datetime.fromisoformat(f"{whole}.{micros}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return None
