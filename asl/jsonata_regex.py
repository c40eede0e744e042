"""The regular expressions of JSONata states, each match bounded in time.

A backtracking pattern such as ``/(a+)+$/`` can take exponential time on a
short string (11.8 s on 26 characters with Python's ``re``), inside one call
that no step budget or ``Execution.stop()`` can interrupt. jsonata-python
takes a pluggable regex engine; this one compiles with the ``regex`` module
(``re``-compatible syntax and backtracking, plus a per-call ``timeout``), so a
match that runs past :data:`MATCH_TIMEOUT_SECONDS` raises
:class:`RegexTimeout` and the state fails with States.QueryEvaluationError.
The bound is wall time, since it is enforced inside the matching engine.
"""

from __future__ import annotations

from typing import Any

import regex
from jsonata.regex_engine import RegexFlags

# Long enough for any sane pattern on a 256 KiB payload, short enough that a runaway one ends promptly.
MATCH_TIMEOUT_SECONDS = 1.0


class RegexTimeout(TimeoutError):
    """A JSONata regular expression ran past its time bound."""


class BoundedPattern:
    """A compiled pattern with the four methods jsonata-python calls, each bounded by the match timeout."""

    __slots__ = ("_pattern",)

    def __init__(self, pattern: "regex.Pattern"):
        self._pattern = pattern

    def _bounded(self, match):
        """Run ``match(timeout)``; a timeout becomes :class:`RegexTimeout` naming the pattern."""
        try:
            return match(MATCH_TIMEOUT_SECONDS)
        except TimeoutError:
            raise RegexTimeout(f"the regular expression /{self._pattern.pattern}/ did not finish matching within "
                               f"{MATCH_TIMEOUT_SECONDS:g} s") from None

    def search(self, string: str):
        return self._bounded(lambda timeout: self._pattern.search(string, timeout=timeout))

    def finditer(self, string: str):
        # Collected here, so the whole scan happens (and is bounded) inside this call.
        return iter(self._bounded(lambda timeout: list(self._pattern.finditer(string, timeout=timeout))))

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        return self._bounded(lambda timeout: self._pattern.sub(repl, string, count, timeout=timeout))

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return self._bounded(lambda timeout: self._pattern.split(string, maxsplit, timeout=timeout))


def bounded_regex_engine(pattern: str, flags: RegexFlags) -> BoundedPattern:
    """jsonata-python's regex engine hook: ``pattern`` compiled by ``regex`` with JSONata's flags."""
    options = (regex.IGNORECASE if flags.case_insensitive else 0) | (regex.MULTILINE if flags.multiline else 0)
    return BoundedPattern(regex.compile(pattern, options))
