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


@lru_cache(maxsize=None)
def details_key(event_type: str) -> str:
    """The name of the details field of an event type."""
    for suffix in ("StateEntered", "StateExited"):
        if event_type.endswith(suffix):
            return f"state{suffix[5:]}EventDetails"
    return f"{event_type[0].lower()}{event_type[1:]}EventDetails"


class History:
    """An append-only, thread-safe list of history events with consecutive ids."""

    def __init__(self, clock: Clock):
        self._clock = clock
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def add(self, event_type: str, details: dict | None, previous_event_id: int) -> int:
        """Append an event and return its id."""
        with self._lock:
            event_id = len(self.events) + 1
            event = {
                "timestamp": self._clock.now(),
                "type": event_type,
                "id": event_id,
                "previousEventId": previous_event_id,
            }
            if details is not None:
                event[details_key(event_type)] = details
            self.events.append(event)
            return event_id
