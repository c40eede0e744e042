"""scones.asl: an Amazon States Language interpreter that behaves like AWS Step Functions.

Load, validate and run a state machine definition on this machine, with
Python functions standing in for Lambda functions and service integrations::

    from scones.asl import execute, FakeClock

    execution = execute("workflow.asl.json", {"s3_key": "test/bicycle_s_000513.png"},
                        resources={"serializeImageData": serialize_handler},
                        clock=FakeClock())
    execution.status, execution.output_value, execution.event_types

Testing one's own workflows: ``execute(..., mock_config=..., test_case=...)``
answers Task states from Step Functions Local's mock files, ``test_state``
runs one state like AWS's TestState API, and the ``scones.pytest_plugin``
gives pytest an ``asl`` fixture.

Nothing here imports numpy or boto3: the package stays light.
"""

from .clock import Clock, FakeClock, RealClock
from .definition import DefinitionLoadError, SubstitutionError, load, substitute
from .errors import StatesError
from .execution_input import InvalidExecutionInput
from .execution import ABORTED, FAILED, RUNNING, SUCCEEDED, TIMED_OUT, Execution, StateMachine, execute
from .lambda_invoke import LambdaContext
from .mock_config import MockConfig, MockConfigError
from .resources import Resources, TaskContext
from .single_state import TestStateError, test_state
from .validation import DefinitionError, Diagnostic, validate

__all__ = [
    "ABORTED",
    "Clock",
    "DefinitionError",
    "DefinitionLoadError",
    "Diagnostic",
    "Execution",
    "FAILED",
    "FakeClock",
    "InvalidExecutionInput",
    "LambdaContext",
    "MockConfig",
    "MockConfigError",
    "RUNNING",
    "RealClock",
    "Resources",
    "SUCCEEDED",
    "StateMachine",
    "StatesError",
    "SubstitutionError",
    "TIMED_OUT",
    "TaskContext",
    "TestStateError",
    "execute",
    "load",
    "substitute",
    "test_state",
    "validate",
]
