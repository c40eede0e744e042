"""A Lambda function's environment variables, where the handlers read their configuration.

On AWS each function runs in its own process, so this is the process
environment. The local backend runs the three handlers in one process, so it
gives each call its own function's variables (the endpoint name, the
threshold, the local services' URLs) through a context variable instead of
writing ``os.environ``: two workflows, or two threads, never share one
configuration. A backend that has no HTTP services (the in-memory one) also
hands the functions their service clients here, as httpx takes a transport.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

@dataclass(frozen=True)
class FunctionConfiguration:
    variables: Mapping[str, str]
    clients: Mapping[str, object] = field(default_factory=dict)  # service name -> a client to use as it is


_CONFIGURED: contextvars.ContextVar[FunctionConfiguration | None] = contextvars.ContextVar(
    "scones_function_environment", default=None)


def environment() -> Mapping[str, str]:
    """The running function's variables: those it was configured with, else the process environment."""
    configured = _CONFIGURED.get()
    return os.environ if configured is None else configured.variables


def configured_client(service: str) -> object | None:
    """The client the running function was given for ``service``, if any."""
    configured = _CONFIGURED.get()
    return None if configured is None else configured.clients.get(service)


@contextmanager
def configured(variables: Mapping[str, str], *, clients: Mapping[str, object] | None = None) -> Iterator[None]:
    """Run the body as a function configured with ``variables`` (over the process environment) and ``clients``."""
    token = _CONFIGURED.set(FunctionConfiguration({**os.environ, **variables}, dict(clients or {})))
    try:
        yield
    finally:
        _CONFIGURED.reset(token)


def configured_handler(handler: Callable, variables: Mapping[str, str], *,
                       clients: Mapping[str, object] | None = None) -> Callable:
    """``handler(event, context)`` run as its function configured with ``variables`` and ``clients``."""

    def run(event, context):
        with configured(variables, clients=clients):
            return handler(event, context)

    return run
