"""The errors a user of Scones is meant to read: one base, a few kinds.

The CLI shows a :class:`SconesError` as its one-line message (the message
names the input and the fix); any other exception is a bug and shows its
traceback. The kinds that are also built-in exceptions (``ValueError``,
``LookupError``) stay catchable as those by library callers.
"""

from __future__ import annotations


class SconesError(Exception):
    """An error whose message is the whole story for the user: what went wrong and what to do."""


class InputError(SconesError, ValueError):
    """A value the user gave (an option, a file, a name) that cannot be used as it is."""


class NotStaged(SconesError, LookupError):
    """The bucket lacks what `scones stage` writes (listings, class names): stage first."""


class NotFound(SconesError, LookupError):
    """Something the user named (an endpoint, a model) does not exist."""
