"""The filter function's threshold: which value an execution uses, and where the local backend keeps it.

On AWS the threshold is the ``THRESHOLD`` variable of the filterInferences
function's configuration, changed with ``UpdateFunctionConfiguration``: the
endpoint and the state machine stay as they are. The local backend keeps the
same variables in a small record beside its endpoint records, so a threshold set
by ``scones workflow set-threshold`` in one process is what the next execution
in any process uses.
"""

from __future__ import annotations

import json

from scones import bucket_layout as layout
from scones.errors import NotStaged
from scones.inferences import DEFAULT_THRESHOLD, check_threshold
from scones.staged_bucket import STAGE_FIRST
from scones.storage import NoSuchObject, Storage
from scones.workflow_functions import FILTER_FUNCTION

THRESHOLD_VARIABLE = "THRESHOLD"


def effective_threshold(explicit: float | None, configured: float | None) -> float:
    """An explicit ``--threshold`` first, then the filter's configured one, then the course's 0.93."""
    for candidate in (explicit, configured):
        if candidate is not None:
            return check_threshold(candidate)
    return DEFAULT_THRESHOLD


def read_local_threshold(storage: Storage, bucket: str) -> float | None:
    """The local filter function's configured threshold; None if it was never deployed or set."""
    try:
        variables = json.loads(storage.get(layout.function_configuration_uri(bucket, FILTER_FUNCTION)))
    except NoSuchObject:
        return None
    return check_threshold(variables[THRESHOLD_VARIABLE])


def write_local_threshold(storage: Storage, bucket: str, threshold: float) -> None:
    """Configure the local filter function with ``threshold`` (one PUT: readers see old or new, never half)."""
    if not storage.bucket_exists(bucket):
        raise NotStaged(f"s3://{bucket}/ does not exist: {STAGE_FIRST}")
    body = json.dumps({THRESHOLD_VARIABLE: repr(check_threshold(threshold))}).encode()
    storage.put(layout.function_configuration_uri(bucket, FILTER_FUNCTION), body, content_type="application/json")
