"""The execution history: the events ``GetExecutionHistory`` would return.

Each event is a dict shaped like the API's ``HistoryEvent``: ``timestamp``,
``type``, ``id``, ``previousEventId`` and one ``…EventDetails`` dict whose key
is derived from the type (``TaskStateEntered`` → ``stateEnteredEventDetails``,
``LambdaFunctionFailed`` → ``lambdaFunctionFailedEventDetails``). Payloads in
details are JSON strings, as in the API.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from .clock import Clock
from .errors import RUNTIME, StatesError

# AWS's hard quota: an execution's history holds at most 25,000 events, the failure that ends it included.
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
MAX_HISTORY_EVENTS = 25_000

# The events that end an execution: they alone may take the last place in a full history.
_CLOSING_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


class HistoryLimitReached(StatesError):
    """The history is full: the execution fails with the States.Runtime AWS reports, which no Catch or Retry handles."""

    def __init__(self, limit: int):
        super().__init__(RUNTIME, f"The execution reached the maximum number of history events ({limit}).")


@lru_cache(maxsize=None)
def details_key(event_type: str) -> str:
    """The name of the details field of an event type."""
    for suffix in ("StateEntered", "StateExited"):
        if event_type.endswith(suffix):
            return f"state{suffix[5:]}EventDetails"
    return f"{event_type[0].lower()}{event_type[1:]}EventDetails"


class History:
    """An append-only, thread-safe history with consecutive ids.

    Recording an event keeps only its parts (type, details, previous id,
    time); the ``HistoryEvent`` dicts are built when :attr:`events` is read,
    once each, so a run that nobody inspects never pays for them.
    """

    def __init__(self, clock: Clock, limit: int = MAX_HISTORY_EVENTS):
        self._clock = clock
        self._limit = limit
        self._lock = threading.Lock()
        self._parts: list[tuple[str, dict | None, int, Any]] = []
        self._events: list[dict[str, Any]] = []

    def add(self, event_type: str, details, previous_event_id: int) -> int:
        """Record an event and return its id; ``details`` is a dict, None, or a function that builds the dict.

        When only one place is left, only an event that ends the execution may
        take it; any other raises :class:`HistoryLimitReached`, so the
        ``ExecutionFailed`` that follows is event number ``limit``, as on AWS.
        """
        with self._lock:
            if len(self._parts) >= self._limit - 1 and event_type not in _CLOSING_EVENTS:
                raise HistoryLimitReached(self._limit)
            self._parts.append((event_type, details, previous_event_id, self._clock.now()))
            return len(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def timestamp(self, event_id: int):
        """When event ``event_id`` was recorded."""
        return self._parts[event_id - 1][3]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events so far, as ``GetExecutionHistory`` returns them (the same list on every read)."""
        with self._lock:
            events = self._events
            for event_id in range(len(events) + 1, len(self._parts) + 1):
                event_type, details, previous_event_id, moment = self._parts[event_id - 1]
                if callable(details):  # details whose JSON text was deferred until read
                    details = details()
                event = {"timestamp": moment, "type": event_type, "id": event_id, "previousEventId": previous_event_id}
                if details is not None:
                    event[details_key(event_type)] = details
                events.append(event)
            return events
