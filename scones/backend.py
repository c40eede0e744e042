"""The Backend interface, the results its steps return, and the registry that picks one by name.

Like fsspec's protocols, a backend is chosen by a short name (``"local"``,
``"aws"``) and imported only when asked for, so ``import scones`` stays light
(the Lambda handlers import ``scones`` modules and must not pull in MXNet).
Both backends return the same result types, so the CLI and ``scones run``
print and save them the same way.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    from scones.capture import CaptureConfig
    from scones.staging import StageReport
    from scones.storage import Storage
    from scones.training_log import EpochMetrics

# name -> "module:attribute", imported on first use.
BACKENDS = {
    "local": "scones.backends.local:LocalBackend",
    "aws": "scones.backends.aws:AwsBackend",
}

DEFAULT_BUCKET = "scones-unlimited"
DEFAULT_ENDPOINT = "scones-endpoint"
DEFAULT_VARIANT = "AllTraffic"


@dataclass(frozen=True)
class TrainingOutcome:
    """A finished training job: where its ``model.tar.gz`` is and how it did."""

    job_name: str
    model_uri: str
    class_names: tuple[str, ...]
    best_epoch: int
    validation_accuracy: float
    epochs: tuple["EpochMetrics", ...] = ()  # as the algorithm's log lines report them


@dataclass(frozen=True)
class EndpointInfo:
    """A deployed real-time endpoint."""

    name: str
    variant: str
    model_uri: str
    location: str  # local: the runtime URL; aws: the endpoint ARN
    capture: "CaptureConfig | None" = None


@dataclass(frozen=True)
class WorkflowInfo:
    """The deployed state machine and the functions it calls."""

    state_machine: str  # local: a name; aws: the state machine ARN
    functions: dict  # logical name (serializeImageData, …) -> function ARN
    definition: dict  # the definition after placeholder substitution


@dataclass(frozen=True)
class ExecutionOutcome:
    """One state machine execution, as DescribeExecution and GetExecutionHistory report it."""

    name: str
    input: dict
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    output: object = None
    error: str | None = None
    cause: str | None = None
    history: tuple = ()


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)  # what was (or, in a dry run, would be) deleted
    dry_run: bool = False
    hourly_cost_usd: float = 0.0  # what the deleted resources would have cost per hour


@runtime_checkable
class Backend(Protocol):
    """What every backend offers: one storage, and one method per workflow step."""

    name: str
    bucket: str  # where staged data, models and captures live unless a step is told otherwise

    @property
    def storage(self) -> "Storage": ...

    def describe(self) -> list[str]:
        """Human-readable lines saying which services this backend talks to."""

    def stage(self, archive_path: str, *, bucket: str | None = None,
              classes: Sequence[str] = ...) -> "StageReport":
        """Stage the chosen classes of a CIFAR-100 archive into ``bucket``."""

    def close(self) -> None:
        """Stop whatever the backend started (servers, threads)."""

    def __enter__(self) -> "Backend": ...

    def __exit__(self, *exc) -> None: ...


def get_backend(name: str = "local", **settings) -> Backend:
    """Create the backend registered as ``name`` with its ``settings``."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}") from None
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)(**settings)
