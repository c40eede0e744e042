"""A Lambda function's environment variables, where the handlers read their configuration.

On AWS each function runs in its own process, so this is the process
environment. The local backend runs the three handlers in one process, so it
gives each call its own function's variables (the endpoint name, the
threshold, the local services' URLs) through a context variable instead of
writing ``os.environ``: two workflows, or two threads, never share one
configuration.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager
from typing import Iterator, Mapping

_CONFIGURED: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "scones_function_environment", default=None)


def environment() -> Mapping[str, str]:
    """The running function's variables: those it was configured with, else the process environment."""
    configured = _CONFIGURED.get()
    return os.environ if configured is None else configured


@contextmanager
def configured(variables: Mapping[str, str]) -> Iterator[None]:
    """Run the body as a function configured with ``variables`` (over the process environment)."""
    token = _CONFIGURED.set({**os.environ, **variables})
    try:
        yield
    finally:
        _CONFIGURED.reset(token)
