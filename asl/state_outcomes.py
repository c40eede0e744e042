"""What happened to each state in one execution, read from its history events.

The console colours its graph from the execution history; this does the same
from the events ``GetExecutionHistory`` returns (or that ``scones.asl`` writes,
which are the same). Events name no state except the ``…StateEntered`` and
``…StateExited`` ones, so each event is traced to the state visit it belongs to
through ``previousEventId``, the way the console links them:

- an Entered event opens a visit whose parent is the visit its previous event
  belongs to (a Map's iteration, a Parallel's branch, or none);
- an Exited event closes its visit and belongs to the parent again;
- ``Map…``/``Parallel…`` events (``MapIterationFailed``, ``ParallelStateFailed``)
  belong to the nearest enclosing Map or Parallel visit;
- every other event belongs to the visit of its previous event.

A visit that exits right after a failure was **caught**; one that never exits
after a failure **failed**; one left open when the execution ended was
**cancelled** (an aborted execution, a Parallel branch stopped by a sibling's
failure). A state visited several times (a loop, Map iterations) shows its
worst visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

SUCCEEDED, CAUGHT, FAILED, CANCELLED, IN_PROGRESS = "succeeded", "caught", "failed", "cancelled", "in progress"
NOT_REACHED = "not reached"

# Worst first: the visit a state is shown by.
SEVERITY = (FAILED, CAUGHT, CANCELLED, IN_PROGRESS, SUCCEEDED)

EXECUTION_ENDS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")


@dataclass(frozen=True)
class StateOutcome:
    status: str  # one of SEVERITY
    error: str | None = None
    cause: str | None = None


@dataclass
class _Visit:
    name: str
    state_type: str
    parent: int | None  # the entered-event id of the enclosing visit
    exited: bool = False
    failure: tuple[str | None, str | None] | None = None  # (error, cause) of its last failure
    caught: bool = False


def events_of(export: object) -> list[dict]:
    """The events of a history file: GetExecutionHistory's ``{"events": [...]}``, a bare list,
    or what ``scones run`` writes under ``histories/``."""
    events = export.get("events") if isinstance(export, dict) else export
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise ValueError('a history is a list of events, or an object with an "events" list '
                         "(GetExecutionHistory's output or a file from scones-output/histories/)")
    return sorted(events, key=lambda event: event.get("id", 0))


def state_outcomes(events: Iterable[dict]) -> dict[str, StateOutcome]:
    """Each visited state's outcome, by state name (names are unique in a state machine)."""
    visits: dict[int, _Visit] = {}
    owner: dict[int, int | None] = {}  # event id -> entered-event id of its visit
    failures: set[int] = set()
    ended = False
    for event in events:
        event_id, event_type = event.get("id"), str(event.get("type", ""))
        previous = owner.get(event.get("previousEventId"))
        if event_type.endswith("StateEntered"):
            name = (event.get("stateEnteredEventDetails") or {}).get("name", "?")
            visits[event_id] = _Visit(name, event_type[: -len("StateEntered")], previous)
            owner[event_id] = event_id
        elif event_type.endswith("StateExited"):
            name = (event.get("stateExitedEventDetails") or {}).get("name")
            visit_id = _enclosing(visits, previous, lambda visit: visit.name == name)
            if visit_id is not None:
                visit = visits[visit_id]
                visit.exited = True
                visit.caught = event.get("previousEventId") in failures
                owner[event_id] = visit.parent
            else:
                owner[event_id] = previous
        else:
            origin = previous
            family = next((prefix for prefix in ("Map", "Parallel") if event_type.startswith(prefix)), None)
            if family is not None:
                previous = _enclosing(visits, previous, lambda visit: visit.state_type == family)
            owner[event_id] = previous
            if _is_failure(event_type) and previous is not None:
                failures.add(event_id)
                for visit_id in {previous, origin} - {None}:  # origin: a Fail state inside a branch
                    _fail(visits[visit_id], _error_and_cause(event))
        ended = ended or event_type in EXECUTION_ENDS
    outcomes: dict[str, StateOutcome] = {}
    for visit in visits.values():
        outcome = _visit_outcome(visit, ended)
        shown = outcomes.get(visit.name)
        if shown is None or SEVERITY.index(outcome.status) < SEVERITY.index(shown.status):
            outcomes[visit.name] = outcome
    return outcomes


def error_notes(outcomes: dict[str, StateOutcome]) -> dict[str, str]:
    """The error each failed or caught state shows under its name in the graph."""
    return {name: outcome.error for name, outcome in outcomes.items()
            if outcome.status in (FAILED, CAUGHT) and outcome.error}


def _enclosing(visits: dict[int, _Visit], visit_id: int | None, wanted) -> int | None:
    while visit_id is not None and not wanted(visits[visit_id]):
        visit_id = visits[visit_id].parent
    return visit_id


def _fail(visit: _Visit, error_and_cause: tuple[str | None, str | None]) -> None:
    """Record a failure on an open visit, keeping an error name already known over none."""
    if visit.exited:
        return
    if visit.failure is None or error_and_cause[0] is not None:
        visit.failure = error_and_cause


def _is_failure(event_type: str) -> bool:
    """A failure of the state itself; a Map iteration's failure is its inner state's, not the Map's."""
    return event_type.endswith(("Failed", "TimedOut")) and "Iteration" not in event_type


def _error_and_cause(event: dict) -> tuple[str | None, str | None]:
    for key, details in event.items():
        if key.endswith("EventDetails") and isinstance(details, dict):
            return details.get("error"), details.get("cause")
    return None, None


def _visit_outcome(visit: _Visit, ended: bool) -> StateOutcome:
    error, cause = visit.failure or (None, None)
    if visit.exited:
        return StateOutcome(CAUGHT, error, cause) if visit.caught else StateOutcome(SUCCEEDED)
    if visit.failure is not None:
        return StateOutcome(FAILED, error, cause)
    return StateOutcome(CANCELLED if ended else IN_PROGRESS)
