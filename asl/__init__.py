"""scones.asl: an Amazon States Language interpreter that behaves like AWS Step Functions.

Load, validate and run a state machine definition on this machine, with
Python functions standing in for Lambda functions and service integrations::

    from scones.asl import execute, FakeClock

    execution = execute("workflow.asl.json", {"s3_key": "test/bicycle_s_000513.png"},
                        resources={"serializeImageData": serialize_handler},
                        clock=FakeClock())
    execution.status, execution.output, execution.event_types

Nothing here imports numpy or boto3: the package stays light.
"""

from .clock import Clock, FakeClock, RealClock
from .definition import DefinitionLoadError, SubstitutionError, load, substitute
from .errors import StatesError
from .execution import ABORTED, FAILED, RUNNING, SUCCEEDED, TIMED_OUT, Execution, StateMachine, execute
from .lambda_invoke import LambdaContext
from .resources import Resources, TaskContext
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
    "LambdaContext",
    "RUNNING",
    "RealClock",
    "Resources",
    "SUCCEEDED",
    "StateMachine",
    "StatesError",
    "SubstitutionError",
    "TIMED_OUT",
    "TaskContext",
    "execute",
    "load",
    "substitute",
    "validate",
]
