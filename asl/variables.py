"""Workflow variables (``Assign``) and their scopes.

The top-level states share one scope. Each Parallel branch and each Map
iteration gets a child scope: it reads the variables of the scopes around it
but its own assignments stay inside it (results leave a branch through its
output only). A state's assignments take effect when the state finishes, so
every expression in a state sees the values from before it.

https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
"""

from __future__ import annotations

from typing import Any, Mapping


class Variables:
    """One variable scope, chained to the scope around it."""

    __slots__ = ("_values", "_parent")

    def __init__(self, parent: "Variables | None" = None):
        self._values: dict[str, Any] = {}
        self._parent = parent

    def lookup(self, name: str) -> Any:
        """The value of ``$name`` here or in an enclosing scope; ``KeyError`` if undefined."""
        scope: Variables | None = self
        while scope is not None:
            if name in scope._values:
                return scope._values[name]
            scope = scope._parent
        raise KeyError(name)

    def visible(self) -> dict[str, Any]:
        """Every variable this scope can read (inner names shadow outer ones)."""
        merged = self._parent.visible() if self._parent is not None else {}
        merged.update(self._values)
        return merged

    def child(self) -> "Variables":
        return Variables(self)

    def assign(self, values: Mapping[str, Any]) -> None:
        self._values.update(values)
