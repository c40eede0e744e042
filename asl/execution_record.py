"""An execution read back from its history: the path taken, each state's visits, attempts and retries.

Tests want to say "it went A → B → C, B was retried twice with 2 s then 4 s
between, C got this input" without walking history events. The history
already says all of it; :class:`RecordedExecution` reads it once:

- ``path``: the states entered, in order, a nested state as ``Map/Inner``;
- ``state(name)``: the last visit of a state (``visits(name)`` gives all):
  its input, output, task attempts and the error it ended with;
- ``retries(name)``: each failed attempt that was tried again, with the
  error and the seconds waited before the next attempt;
- ``summary()``: the few lines a failing test should print (the path and the
  failing state's input and output), not the whole history.

Attempts are found by following ``previousEventId`` back to the state's
Entered event, so this holds for Map and Parallel states run on many threads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .definition_walk import walk_states
from .execution import Execution

_TASK_PREFIXES = ("LambdaFunction", "Task", "Activity")
_ATTEMPT_ENDS = ("Failed", "TimedOut", "StartFailed")
SHOWN_CHARACTERS = 160  # how much of a payload or cause a summary shows


@dataclass(frozen=True)
class Attempt:
    """One call of a Task: its output, or the error and cause it failed with."""

    output: Any = None
    error: str | None = None
    cause: str | None = None
    scheduled_at: Any = None
    ended_at: Any = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class Retry:
    """A failed attempt that was tried again after ``wait_seconds``."""

    error: str
    cause: str | None
    wait_seconds: float


@dataclass
class StateVisit:
    """One entry into one state."""

    name: str
    path: str
    input: Any
    output: Any = None
    exited: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None

    def retries(self) -> list[Retry]:
        return [
            Retry(attempt.error, attempt.cause, (following.scheduled_at - attempt.ended_at).total_seconds())
            for attempt, following in zip(self.attempts, self.attempts[1:])
            if attempt.failed
        ]


class ExecutionStatus(str):
    """An execution's status that remembers its execution, so a failed ``assert status == ...`` can explain it."""

    execution: "RecordedExecution"

    def __new__(cls, value: str, execution: "RecordedExecution"):
        status = super().__new__(cls, value)
        status.execution = execution
        return status


class RecordedExecution:
    """An :class:`Execution` with its path and state visits; every Execution attribute reads through."""

    def __init__(self, execution: Execution, definition: dict):
        self.execution = execution
        self._ancestors = {name: outer for name, _, outer in walk_states(definition)}
        self._visits = self._read_visits(execution)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.execution, name)

    @property
    def status(self) -> ExecutionStatus:
        return ExecutionStatus(self.execution.status, self)

    @property
    def path(self) -> list[str]:
        return [visit.path for visit in self._visits]

    def visits(self, name: str) -> list[StateVisit]:
        """Every visit of the state ``name`` (plain, or as ``Map/Inner``), in order."""
        found = [visit for visit in self._visits if name in (visit.name, visit.path)]
        if not found:
            raise KeyError(f"the state '{name}' was never entered; the path was: {' -> '.join(self.path) or '(none)'}")
        return found

    def state(self, name: str) -> StateVisit:
        """The last visit of the state ``name``."""
        return self.visits(name)[-1]

    def retries(self, name: str) -> list[Retry]:
        """The retries of the state's last visit."""
        return self.state(name).retries()

    @property
    def failing_state(self) -> StateVisit | None:
        """The last state that was entered and never left (where a failure happened), if any."""
        unfinished = [visit for visit in self._visits if not visit.exited]
        return unfinished[-1] if unfinished else None

    def summary(self) -> str:
        """A few lines (pytest shows eight): the outcome, the path, the failing state's input and attempts."""
        execution = self.execution
        outcome = f"execution {execution.status}"
        if execution.error:
            outcome += f": {execution.error}" + (f": {_shown(execution.cause)}" if execution.cause else "")
        lines = [outcome, f"path: {' -> '.join(self.path) or '(no state entered)'}"]
        failing = self.failing_state
        if failing is not None:
            lines.append(f"failing state '{failing.path}': input {_shown(json.dumps(failing.input))}")
            if failing.attempts:
                errors = [attempt.error or "succeeded" for attempt in failing.attempts]
                lines.append(f"  {len(errors)} attempt(s): {', '.join(errors)}")
            if failing.error and (failing.error, failing.cause) != (execution.error, execution.cause):
                lines.append(f"  error: {failing.error}" + (f": {_shown(failing.cause)}" if failing.cause else ""))
        elif execution.output is not None:
            lines.append(f"output: {_shown(json.dumps(execution.output_value))}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<RecordedExecution {self.execution.name}\n{self.summary()}>"

    # --- reading the history -----------------------------------------------------------

    def _read_visits(self, execution: Execution) -> list[StateVisit]:
        events = execution.history
        visits: list[StateVisit] = []
        by_entered_id: dict[int, StateVisit] = {}
        for event in events:
            kind, details = event["type"], _details(event)
            if kind.endswith("StateEntered"):
                name = details["name"]
                visit = StateVisit(name, "/".join([*self._ancestors.get(name, ()), name]), json.loads(details["input"]))
                visits.append(visit)
                by_entered_id[event["id"]] = visit
            elif kind.endswith("StateExited"):
                visit = _owner(events, event, by_entered_id, details["name"])
                if visit is not None:
                    visit.output, visit.exited = json.loads(details["output"]), True
            elif kind.startswith(_TASK_PREFIXES):
                visit = _owner(events, event, by_entered_id)
                if visit is not None:
                    _record_attempt(visit, kind, details, event["timestamp"])
        failing = [visit for visit in visits if not visit.exited]
        if failing and not failing[-1].error and execution.error:
            failing[-1].error, failing[-1].cause = execution.error, execution.cause
        return visits


def _record_attempt(visit: StateVisit, kind: str, details: dict, moment) -> None:
    stage = next(kind[len(prefix):] for prefix in _TASK_PREFIXES if kind.startswith(prefix))
    if stage == "Scheduled":
        visit.attempts.append(Attempt(scheduled_at=moment))
        return
    if stage not in ("Succeeded", *_ATTEMPT_ENDS) or not visit.attempts:
        return
    started = visit.attempts.pop()
    if stage == "Succeeded":
        visit.attempts.append(Attempt(output=json.loads(details["output"]), scheduled_at=started.scheduled_at, ended_at=moment))
        visit.error = visit.cause = None
    else:
        error, cause = details.get("error"), details.get("cause")
        visit.attempts.append(Attempt(error=error, cause=cause, scheduled_at=started.scheduled_at, ended_at=moment))
        visit.error, visit.cause = error, cause


def _owner(events: list[dict], event: dict, by_entered_id: dict[int, StateVisit], name: str | None = None) -> StateVisit | None:
    """The visit an event belongs to: the nearest Entered event up its ``previousEventId`` chain (of ``name``, if given)."""
    previous = event["previousEventId"]
    while previous:
        visit = by_entered_id.get(previous)
        if visit is not None and (name is None or visit.name == name):
            return visit
        previous = events[previous - 1]["previousEventId"]
    return None


def _details(event: dict) -> dict:
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + f"… ({len(text)} characters)"
