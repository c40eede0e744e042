"""The Backend contract, the results its steps return, and the registry that picks one by name.

Like fsspec's filesystems, a backend is chosen by a short name (``"local"``,
``"aws"``) from a small registry and imported only when asked for, so
``import scones`` stays light (the Lambda handlers import ``scones`` modules
and must not pull in MXNet or the aws backend). Like httpx's transports, every
backend implements the same :class:`Backend` methods with one signature and
one meaning, so the pipeline and the CLI never ask which backend they have;
:class:`scones.memory_backend.MemoryBackend` is the in-memory one tests use.

Defaults are decided inside the backend: the hyperparameters for the staged
data, the Data Capture configuration, the seed.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Mapping, Sequence

from scones import bucket_layout as layout
from scones.errors import InputError
from scones.inferences import DEFAULT_THRESHOLD
from scones.class_names import DEFAULT_CLASSES

if TYPE_CHECKING:
    from scones.batch import BatchReport
    from scones.capture import CaptureConfig
    from scones.hyperparameters import Hyperparameters
    from scones.staged_bucket import StageReport
    from scones.staging import StagePlan
    from scones.storage import Storage
    from scones.training_log import EpochMetrics

# name -> "module:attribute", imported on first use.
BACKENDS = {
    "local": "scones.backends.local:LocalBackend",
    "aws": "scones.backends.aws:AwsBackend",
    "memory": "scones.backends.memory:MemoryBackend",  # in this process, for tests (like httpx.MockTransport)
}

DEFAULT_BUCKET = "scones-unlimited"
DEFAULT_ENDPOINT = "scones-endpoint"
DEFAULT_VARIANT = "AllTraffic"

Log = Callable[[str], None]


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
    # True when this process serves the endpoint, so it stops when the backend closes (local);
    # False when it runs elsewhere and bills until deleted (aws).
    served_by_this_process: bool = False




@dataclass(frozen=True)
class WorkflowInfo:
    """A deployed state machine: the handle :meth:`Backend.start_execution` runs, with its settings.

    ``threshold`` is the filter's threshold as deployed. The functions'
    configuration belongs to the deployed functions, as on AWS, not to this
    handle: a later deploy or :meth:`Backend.set_threshold` changes it for
    every handle's next execution.
    """

    state_machine: str  # local: a name; aws: the state machine ARN
    functions: dict  # logical name (serializeImageData, …) -> function ARN
    definition: dict  # the definition after placeholder substitution
    endpoint_name: str = DEFAULT_ENDPOINT
    threshold: float = DEFAULT_THRESHOLD


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

    @classmethod
    def of(cls, execution, execution_input: dict) -> "ExecutionOutcome":
        """The outcome of an execution the ASL interpreter ran (:class:`scones.asl.Execution`)."""
        return cls(name=execution.name, input=execution_input, status=execution.status, output=execution.output_value,
                   error=execution.error, cause=execution.cause, history=tuple(execution.history))


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)  # what was (or, in a dry run, would be) deleted
    dry_run: bool = False
    hourly_cost_usd: float = 0.0  # what the deleted resources would have cost per hour


class Backend(abc.ABC):
    """Where the workflow runs: one storage, and one method per workflow step.

    Every step works in :attr:`bucket`, the backend's one bucket (chosen when
    it is opened), with the keys of :mod:`scones.bucket_layout`.
    """

    name: ClassVar[str]
    bucket: str
    # Data Capture's InitialSamplingPercentage for deploy(capture=None).
    capture_sampling_percentage: int = 100

    # ------------------------------------------------------------ storage

    @property
    @abc.abstractmethod
    def storage(self) -> "Storage":
        """put/get/list/delete of ``s3://`` URIs in the backend's S3."""

    @property
    def storage_is_ephemeral(self) -> bool:
        """True when the storage lives only as long as this process (the local embedded S3)."""
        return False

    @abc.abstractmethod
    def describe(self) -> list[str]:
        """Human-readable lines saying which services this backend talks to."""

    # -------------------------------------------------------------- steps

    @abc.abstractmethod
    def stage(self, archive_path: str, *, classes: Sequence[str] = DEFAULT_CLASSES,
              on_plan: "Callable[[StagePlan], None] | None" = None,
              on_progress: Callable[[int], None] | None = None) -> "StageReport":
        """Stage the chosen classes of a CIFAR-100 archive into :attr:`bucket` (tagging a bucket it creates)."""

    @abc.abstractmethod
    def check_hyperparameters(self, overrides: Mapping[str, str] | None = None) -> None:
        """Refuse bad ``overrides`` (NAME -> value) before any work: a typo fails in the first second, not after staging."""

    @abc.abstractmethod
    def default_hyperparameters(self, overrides: Mapping[str, str] | None = None) -> "Hyperparameters":
        """The hyperparameters :meth:`train` uses for the staged data, with ``overrides`` (NAME -> value) applied."""

    @abc.abstractmethod
    def train(self, *, hyperparameters: "Hyperparameters | None" = None, job_name: str | None = None,
              seed: int | None = None, log: Log | None = None) -> TrainingOutcome:
        """Train on the staged data; ``None`` means the backend's own choice (hyperparameters, job name, seed)."""

    @abc.abstractmethod
    def deploy(self, *, model_uri: str, endpoint_name: str = DEFAULT_ENDPOINT,
               capture: "CaptureConfig | None" = None, instance_type: str | None = None) -> EndpointInfo:
        """Serve ``model_uri`` as ``endpoint_name``.

        ``capture`` None is :meth:`default_capture`; ``instance_type`` None is
        the backend's (locally it only labels the endpoint).
        """

    @abc.abstractmethod
    def invoke_endpoint(self, endpoint_name: str, body: bytes, content_type: str = "image/png") -> list[float]:
        """The class probabilities the endpoint answers for ``body``."""

    @abc.abstractmethod
    def delete_endpoint(self, endpoint_name: str = DEFAULT_ENDPOINT) -> bool:
        """Stop ``endpoint_name`` (flushing its captures); False if there was none."""

    @abc.abstractmethod
    def deploy_workflow(self, *, endpoint_name: str = DEFAULT_ENDPOINT, threshold: float | None = None,
                        definition: dict | None = None) -> WorkflowInfo:
        """Deploy the state machine and its three functions; ``definition`` None is Scones's own.

        ``threshold`` None keeps the filter's configured threshold (else 0.93): see
        :func:`~scones.filter_configuration.effective_threshold`.
        """

    @abc.abstractmethod
    def set_threshold(self, threshold: float) -> None:
        """Change the deployed filter function's threshold, and nothing else: not the endpoint, not the state machine.

        The next execution uses it, in any process, as after ``UpdateFunctionConfiguration`` on AWS.
        """

    @abc.abstractmethod
    def filter_threshold(self) -> float | None:
        """The threshold the filter function is configured with; None before it was deployed or set."""

    @abc.abstractmethod
    def publish_low_confidence_share(self, endpoint_name: str, share: float, *, fail_above: float | None = None) -> str:
        """Publish the captured low-confidence share as a metric with an alarm above ``fail_above``; the alarm's name.

        AWS only (CloudWatch); locally ``scones monitor --fail-above`` (exit 3) is the alarm.
        """

    @abc.abstractmethod
    def start_execution(self, workflow: WorkflowInfo, execution_input: dict, *,
                        name: str | None = None) -> ExecutionOutcome:
        """Run one execution of ``workflow`` to its end: status, output, error, cause and the history."""

    # -------------------------------------------------------------- batch

    @abc.abstractmethod
    def batch(self, source_uri: str, *, out_uri: str | None = None, threshold: float | None = None,
              endpoint_name: str = DEFAULT_ENDPOINT) -> "BatchReport":
        """Classify every image under ``source_uri`` (an ``s3://BUCKET/PREFIX/``) with the batch Distributed Map.

        Results go under ``out_uri`` (None: ``s3://BUCKET/batch-results/``):
        the Map Run's ResultWriter files, ``records.json`` and ``summary.json``.
        """

    @abc.abstractmethod
    def cleanup(self, *, dry_run: bool = False, delete_data: bool = False) -> CleanupReport:
        """Delete what the workflow left running (endpoints first); the bucket's data only with ``delete_data``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop whatever the backend started (servers, threads)."""

    # ------------------------------------------------- decided in one place

    def default_capture(self) -> "CaptureConfig":
        """Data Capture as the course configures it: everything, to ``s3://BUCKET/data_capture``."""
        from scones.capture import CaptureConfig

        return CaptureConfig(layout.capture_destination(self.bucket),
                             sampling_percentage=self.capture_sampling_percentage)

    def captures_uri(self, endpoint_name: str = DEFAULT_ENDPOINT) -> str:
        """Where the default capture of ``endpoint_name`` lands (what monitoring reads through ``storage``)."""
        return layout.endpoint_captures_uri(self.bucket, endpoint_name)

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def get_backend(name: str = "local", **settings) -> Backend:
    """Create the backend registered as ``name`` with its ``settings``."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise InputError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}") from None
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)(**settings)

