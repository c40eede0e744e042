"""Every state of a definition, nested ones included, with the Map/Parallel states around it.

State names are unique across a whole state machine (CreateStateMachine
refuses duplicates), so a name found here identifies one state.
"""

from __future__ import annotations

from typing import Iterator


def child_graphs(spec: dict) -> list[dict]:
    """The graphs inside a state: a Parallel's Branches, a Map's ItemProcessor (or legacy Iterator)."""
    processor = spec.get("ItemProcessor") or spec.get("Iterator")
    return [*spec.get("Branches", ()), *([processor] if processor else [])]


def walk_states(graph: dict, outer: tuple[str, ...] = ()) -> Iterator[tuple[str, dict, tuple[str, ...]]]:
    """(name, spec, enclosing state names) of every state, depth first, in definition order."""
    for name, spec in graph.get("States", {}).items():
        yield name, spec, outer
        for child in child_graphs(spec):
            yield from walk_states(child, (*outer, name))
