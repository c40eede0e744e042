"""Training with SageMaker's built-in image-classification algorithm, as the course does.

:func:`training_job_request` builds the whole ``CreateTrainingJob`` request
from the staged bucket and the same :class:`~scones.hyperparameters.Hyperparameters`
the local backend trains with (``to_sagemaker()``, unchanged). The four
image-format channels are the course's: ``train`` and ``validation`` hold the
PNGs (``train/``, ``test/``), ``train_lst`` and ``validation_lst`` the
listings, all ``application/x-image`` (the developer guide: "Set the content
type for all four channels to application/x-image").

:func:`run_training_job` creates the job and polls it, streaming status
changes and the algorithm's metric lines from CloudWatch Logs; the metrics are
parsed by :mod:`scones.training_log`, the very code that reads local logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from scones.errors import InputError
from scones import bucket_layout as layout
from scones.backend import TrainingOutcome
from scones.backends.aws.errors import SconesAwsError
from scones.backends.aws.prices import hourly_price
from scones.backends.aws.training_logs import TRAINING_LOG_GROUP, LogFollower
from scones.backends.aws.waiters import Poller
from scones.training_log import EpochMetrics, collect_epochs, parse_metric

CONTENT_TYPE = "application/x-image"
TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
# Lines worth showing as they arrive; everything is kept for parsing and for the failure tail.
SHOWN_MARKERS = ("Storing the best model", "ERROR", "Error")
FAILURE_TAIL_LINES = 20


@dataclass(frozen=True)
class TrainingSettings:
    """The instance and the limits of a training job (what it may cost is bounded here)."""

    instance_type: str = "ml.p3.2xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    # A cost guard: the course's job takes minutes; SageMaker stops it after this long.
    max_runtime_seconds: int = 2 * 3600
    spot: bool = False
    # Spot only: how long to wait for capacity plus the run itself (at least max_runtime_seconds).
    max_wait_seconds: int | None = None
    poll_seconds: float = 30.0

    def __post_init__(self):
        if self.spot and self.max_wait_seconds is not None and self.max_wait_seconds < self.max_runtime_seconds:
            raise InputError(f"max_wait_seconds ({self.max_wait_seconds}) must be at least "
                             f"max_runtime_seconds ({self.max_runtime_seconds}) for spot training")

    @property
    def stopping_condition(self) -> dict:
        condition = {"MaxRuntimeInSeconds": self.max_runtime_seconds}
        if self.spot:
            condition["MaxWaitTimeInSeconds"] = self.max_wait_seconds or 2 * self.max_runtime_seconds
        return condition

    @property
    def wait_timeout_seconds(self) -> float:
        """How long to poll before giving up: the job's own limit plus an hour for starting and uploading."""
        return self.stopping_condition.get("MaxWaitTimeInSeconds", self.max_runtime_seconds) + 3600


def channel(name: str, s3_uri: str) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": s3_uri,
                                        "S3DataDistributionType": "FullyReplicated"}},
        "ContentType": CONTENT_TYPE,
    }


def input_channels(bucket: str) -> list[dict]:
    return [channel(name, layout.uri(bucket, key)) for name, key in layout.TRAINING_CHANNELS]


def training_job_request(*, job_name: str, bucket: str, image_uri: str, role_arn: str,
                         hyperparameters: dict[str, str], settings: TrainingSettings, tags: list[dict]) -> dict:
    """The complete ``CreateTrainingJob`` request."""
    request = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {"TrainingImage": image_uri, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "HyperParameters": dict(hyperparameters),
        "InputDataConfig": input_channels(bucket),
        "OutputDataConfig": {"S3OutputPath": layout.training_output_uri(bucket)},
        "ResourceConfig": {"InstanceType": settings.instance_type, "InstanceCount": settings.instance_count,
                           "VolumeSizeInGB": settings.volume_size_gb},
        "StoppingCondition": settings.stopping_condition,
        "Tags": tags,
    }
    if settings.spot:
        request["EnableManagedSpotTraining"] = True
        request["CheckpointConfig"] = {"S3Uri": layout.checkpoints_uri(bucket, job_name)}
    return request


# ------------------------------------------------------------------- outcome

def best_epoch(epochs: Sequence[EpochMetrics]) -> EpochMetrics | None:
    """The first epoch with the highest validation accuracy (the one the algorithm stores)."""
    scored = [epoch for epoch in epochs if epoch.validation_accuracy is not None]
    return max(scored, key=lambda epoch: epoch.validation_accuracy) if scored else None


def final_metric(description: dict, name: str) -> float | None:
    for metric in description.get("FinalMetricDataList", []):
        if metric.get("MetricName") == name:
            return float(metric["Value"])
    return None


def training_outcome(description: dict, log_lines: Sequence[str], class_names: tuple[str, ...]) -> TrainingOutcome:
    """The job's result from DescribeTrainingJob and its log (pure)."""
    epochs = collect_epochs(log_lines)
    best = best_epoch(epochs)
    accuracy = best.validation_accuracy if best else final_metric(description, "validation:accuracy")
    return TrainingOutcome(
        job_name=description["TrainingJobName"],
        model_uri=description["ModelArtifacts"]["S3ModelArtifacts"],
        class_names=class_names,
        best_epoch=best.epoch if best else -1,
        validation_accuracy=float("nan") if accuracy is None else accuracy,
        epochs=tuple(epochs),
    )


def billing_line(description: dict, instance_type: str) -> str:
    seconds = description.get("BillableTimeInSeconds")
    if seconds is None:
        return "billable time not reported yet"
    price = hourly_price(instance_type)
    cost = f" ≈ ${seconds / 3600 * price * description['ResourceConfig']['InstanceCount']:.2f}" if price else ""
    return f"billable time {seconds} s on {instance_type}{cost}"


def is_shown(line: str) -> bool:
    return parse_metric(line) is not None or any(marker in line for marker in SHOWN_MARKERS)


# ---------------------------------------------------------------------- run

def run_training_job(sagemaker, logs, request: dict, *, poller: Poller, settings: TrainingSettings,
                     log: Callable[[str], None]) -> tuple[dict, list[str]]:
    """Create the job and follow it to the end; returns DescribeTrainingJob's answer and every log line."""
    job_name = request["TrainingJobName"]
    poller.retry_while_role_propagates(lambda: sagemaker.create_training_job(**request))
    log(f"training job {job_name} created ({settings.instance_type}"
        f"{', spot' if settings.spot else ''}); logs: {TRAINING_LOG_GROUP} {job_name}/…")
    follower = LogFollower(logs, job_name)
    lines: list[str] = []

    def drain() -> None:
        for line in follower.poll():
            lines.append(line)
            if is_shown(line):
                log(line)

    def probe() -> dict:
        description = sagemaker.describe_training_job(TrainingJobName=job_name)
        drain()
        return description

    description = poller.until(
        probe, lambda d: d["TrainingJobStatus"] in TERMINAL_STATUSES, what=f"training job {job_name}",
        interval=settings.poll_seconds, timeout=settings.wait_timeout_seconds,
        status=lambda d: f"{d['TrainingJobStatus']} – {d.get('SecondaryStatus', '')}",
        on_change=lambda status: log(f"{job_name}: {status}"))
    drain()  # the last lines can land after the status changes
    if description["TrainingJobStatus"] != "Completed":
        for line in lines[-FAILURE_TAIL_LINES:]:
            log(f"  | {line}")
        raise SconesAwsError(
            f"training job {job_name} {description['TrainingJobStatus'].lower()}: "
            f"{description.get('FailureReason', 'no reason given')}",
            f"read the log above (or {TRAINING_LOG_GROUP}, streams {job_name}/…), fix the cause and run "
            "`scones train --backend aws` again", code=f"Training{description['TrainingJobStatus']}")
    log(f"{job_name}: {billing_line(description, settings.instance_type)}")
    return description, lines
