"""Waiting for AWS: polling with an injectable sleep and clock, so tests never sleep.

boto3's waiters sleep for real and give up with a generic WaiterError; these
take ``sleep``/``clock`` from the backend (tests pass fakes that advance a
counter), report each change of status through ``on_change``, and time out
with advice. Against emulators, where a function is ready in half a second,
``SCONES_AWS_MAX_POLL_SECONDS`` caps every interval (AWS-scale waits of 15 s
would dominate a run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, TypeVar

import botocore.exceptions

from scones.backends.aws.errors import SconesAwsError, error_code, error_message
from scones.errors import InputError

T = TypeVar("T")

MAX_POLL_VARIABLE = "SCONES_AWS_MAX_POLL_SECONDS"

# IAM is eventually consistent: a role is assumable by a service some seconds after CreateRole.
ROLE_PROPAGATION_MESSAGES = (
    "cannot be assumed by Lambda",
    "Could not assume role",
    "could not assume role",
    "is not authorized to assume the provided role",
    "Neither the global service principal",
)


def max_poll_seconds(environ: Mapping[str, str]) -> float | None:
    """``SCONES_AWS_MAX_POLL_SECONDS`` as a positive number of seconds, None when unset."""
    text = environ.get(MAX_POLL_VARIABLE, "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise InputError(f"{MAX_POLL_VARIABLE}={text!r} is not a number of seconds: set it to e.g. 0.2, or unset it")
    return seconds


@dataclass
class Poller:
    """Repeats a probe until a condition holds, sleeping ``interval`` seconds (at most ``max_interval``) between tries."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    max_interval: float | None = None

    def pause(self, interval: float) -> None:
        """Sleep ``interval`` seconds, or ``max_interval`` if that is shorter."""
        self.sleep(interval if self.max_interval is None else min(interval, self.max_interval))

    def until(self, probe: Callable[[], T], done: Callable[[T], bool], *, what: str, interval: float,
              timeout: float, status: Callable[[T], str] = str,
              on_change: Callable[[str], None] | None = None) -> T:
        """The first probe result for which ``done`` is true; raises after ``timeout`` seconds."""
        deadline = self.clock() + timeout
        last = None
        while True:
            result = probe()
            current = status(result)
            if on_change is not None and current != last:
                on_change(current)
            last = current
            if done(result):
                return result
            if self.clock() >= deadline:
                raise SconesAwsError(
                    f"gave up waiting for {what} after {timeout:.0f} s (last status: {current})",
                    "it may still finish: check the AWS console, then run the step again or `scones cleanup`",
                    code="WaitTimeout",
                )
            self.pause(interval)

    def retry_while_role_propagates(self, call: Callable[[], T], *, interval: float = 5.0,
                                    timeout: float = 90.0) -> T:
        """``call()``, retried while AWS says a just-created role cannot be assumed yet."""
        deadline = self.clock() + timeout
        while True:
            try:
                return call()
            except botocore.exceptions.ClientError as error:
                propagating = (error_code(error) in ("InvalidParameterValueException", "ValidationException",
                                                     "AccessDeniedException", "InvalidArn")
                               and any(text in error_message(error) for text in ROLE_PROPAGATION_MESSAGES))
                if not propagating or self.clock() >= deadline:
                    raise
            self.pause(interval)
