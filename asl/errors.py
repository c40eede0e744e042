"""Error names of the States Language and the rules that match them.

A state "fails" by raising :class:`StatesError` carrying an *error name* and a
*cause*, exactly the pair a Step Functions history shows. ``Retry`` and
``Catch`` pick their retrier/catcher with :func:`matches`, which follows the
rules AWS documents rather than plain string equality: ``States.ALL`` and
``States.TaskFailed`` are wildcards, and two names are terminal.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

from typing import Iterable

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
PERMISSIONS = "States.Permissions"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"

PREDEFINED = frozenset(
    {
        ALL,
        TASK_FAILED,
        TIMEOUT,
        HEARTBEAT_TIMEOUT,
        RUNTIME,
        PERMISSIONS,
        DATA_LIMIT_EXCEEDED,
        RESULT_PATH_MATCH_FAILURE,
        PARAMETER_PATH_FAILURE,
        INTRINSIC_FAILURE,
        BRANCH_FAILED,
        NO_CHOICE_MATCHED,
        EXCEED_TOLERATED_FAILURE_THRESHOLD,
        QUERY_EVALUATION_ERROR,
        ITEM_READER_FAILED,
        RESULT_WRITER_FAILED,
        # Errors of the HTTP task, valid in ErrorEquals even though no local resource raises them.
        "States.Http.Socket",
        "States.Http.StatusCodeFailure",
    }
)

# AWS: "A States.Runtime error isn't retriable, and will always cause the
# execution to fail"; "DataLimitExceeded is a terminal error".  Neither can be
# caught or retried, whatever a retrier or catcher names.
TERMINAL = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class StatesError(Exception):
    """A state failed with ``error`` (an error name) and ``cause`` (free text).

    This is the one exception the interpreter routes through Retry and Catch.
    ``terminal`` (default: the name is in :data:`TERMINAL`) says Retry and Catch
    may not handle it: a task whose result is too large fails with a
    ``States.DataLimitExceeded`` that AWS lets a catcher handle, unlike a
    state's own output that is too large.
    """

    def __init__(self, error: str | None, cause: str | None = None, *, terminal: bool | None = None):
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause
        self.terminal = is_terminal(error) if terminal is None else terminal

    @property
    def error_output(self) -> dict:
        """The JSON a catcher passes on: ``{"Error": ..., "Cause": ...}`` (missing parts are "")."""
        return {"Error": self.error or "", "Cause": self.cause or ""}


class Interrupt(Exception):
    """Control flow, not a failure: the execution was stopped or timed out, or a sibling branch failed."""


def internal_failure(error: Exception) -> StatesError:
    """A Python exception from inside the interpreter, reported as the States.Runtime AWS would end with.

    Nothing but StatesError may leave a state: an execution always ends with a status, never a traceback.
    """
    return StatesError(RUNTIME, f"{type(error).__name__}: {error}")


def is_terminal(error: str) -> bool:
    """True for errors that neither Retry nor Catch may handle."""
    return error in TERMINAL


def matches(error_equals: Iterable[str], error: str, terminal: bool | None = None) -> bool:
    """Does a retrier's or catcher's ``ErrorEquals`` list match ``error``?

    - terminal errors (States.Runtime, States.DataLimitExceeded, unless ``terminal`` says otherwise) match nothing;
    - ``States.ALL`` matches every other error;
    - ``States.TaskFailed`` matches every other error except ``States.Timeout``;
    - any other name matches itself only (names are case-sensitive).
    """
    if is_terminal(error) if terminal is None else terminal:
        return False
    for name in error_equals:
        if name in (error, ALL):
            return True
        if name == TASK_FAILED and error != TIMEOUT:
            return True
    return False
