"""The pytest plugin ``pip install scones`` brings (entry point ``pytest11``: ``scones``).

Fixtures:

- ``asl``: runs state machines on a fake clock (no real waiting) and returns
  :class:`scones.asl.execution_record.RecordedExecution`\\ s, with ``path``,
  ``state(name)`` and ``retries(name)``::

      def test_retries_then_succeeds(asl):
          execution = asl.run("workflow.asl.json", {"s3_key": "k"},
                              mock_config="MockConfigFile.json", test_case="RetryPath")
          assert execution.status == "SUCCEEDED"
          assert [retry.wait_seconds for retry in execution.retries("LambdaState")] == [2, 4, 8]

  ``asl.test_state(...)`` is :func:`scones.asl.test_state` on the same clock.
- ``scones_local_backend``: the local backend on an embedded S3 server of the
  test session (its own bucket per test), for tests of the whole workflow.

A failing ``assert execution.status == ...`` prints the path taken and the
failing state's input, attempts and error, not the history.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from scones.asl import FakeClock, StateMachine, execute, test_state
from scones.asl.execution_record import ExecutionStatus, RecordedExecution


class AslRunner:
    """What the ``asl`` fixture gives a test: ``run`` and ``test_state`` on one fake clock."""

    def __init__(self, seed: int = 0):
        self.clock = FakeClock()
        self.seed = seed

    def run(self, definition: Any, input: Any = None, **execute_options) -> RecordedExecution:
        """Execute ``definition`` like :func:`scones.asl.execute` (mock_config, test_case, resources…)."""
        execute_options.setdefault("clock", self.clock)
        execute_options.setdefault("random", random.Random(self.seed))
        substitutions = execute_options.pop("substitutions", None)
        machine = definition if isinstance(definition, StateMachine) else StateMachine(definition, substitutions=substitutions)
        return RecordedExecution(execute(machine, input, **execute_options), machine.definition)

    def test_state(self, definition: Any, state_name: str | None = None, input: Any = None, **options) -> dict:
        """:func:`scones.asl.test_state` on this runner's clock."""
        options.setdefault("clock", self.clock)
        options.setdefault("random", random.Random(self.seed))
        return test_state(definition, state_name, input, **options)


@pytest.fixture
def asl() -> AslRunner:
    """Run state machines in-process on a fake clock; see :class:`AslRunner`."""
    return AslRunner()


@pytest.fixture(scope="session")
def scones_embedded_s3_url():
    """The URL of an S3 server started for the test session on 127.0.0.1."""
    from scones.backends.local.s3_choice import EmbeddedS3

    with EmbeddedS3() as server:
        yield server.url


@pytest.fixture
def scones_local_backend(scones_embedded_s3_url):
    """A local backend on the session's embedded S3, with a bucket of its own; closed after the test."""
    from scones import get_backend

    backend = get_backend("local", endpoint_url=scones_embedded_s3_url, bucket=f"scones-test-{uuid.uuid4().hex[:12]}")
    backend.storage.ensure_bucket(backend.bucket)
    try:
        yield backend
    finally:
        backend.close()


def pytest_assertrepr_compare(config, op: str, left: Any, right: Any) -> list[str] | None:
    """Explain a failed comparison of an execution's status with the path and the failing state."""
    status = left if isinstance(left, ExecutionStatus) else right if isinstance(right, ExecutionStatus) else None
    if status is None:
        return None
    return [f"{str(left)!r} {op} {str(right)!r}", *status.execution.summary().splitlines()]
