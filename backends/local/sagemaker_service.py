"""A local SageMaker control plane: training jobs that train, endpoints that serve.

:class:`SageMakerService` holds what SageMaker would hold for one account and
region — training jobs, models, endpoint configs, endpoints, their tags — and
answers the operations the aws backend calls, with SageMaker's response
fields and SageMaker's error codes and texts (raised as :class:`SageMakerError`;
:mod:`.sagemaker_api` puts them on the wire).

The work is real. A training job for the built-in image-classification
algorithm runs :func:`.training.train_on_channels` in a thread of its own on
the job's four S3 channels with its string hyperparameters, and writes
``S3OutputPath/JOB/output/model.tar.gz``; the algorithm's log lines go to
CloudWatch Logs (``/aws/sagemaker/TrainingJobs``, stream ``JOB/algo-1-SECONDS``)
when a Logs client is given. An endpoint is loaded by a loader thread with the
local endpoint machinery (:class:`.endpoints.EndpointResolver`), so it serves
InvokeEndpoint with Data Capture in AWS's key layout. Any other algorithm
image is refused: nothing here can run it.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from scones.backend import DEFAULT_VARIANT
from scones.backends.aws.training_logs import TRAINING_LOG_GROUP
from scones.backends.local.endpoint_records import LOCAL_ACCOUNT_ID, EndpointNotFound, EndpointRecord
from scones.backends.local.endpoints import EndpointResolver, LocalEndpoint
from scones.capture import CaptureConfig
from scones.errors import InputError
from scones.hyperparameters import Hyperparameters
from scones.s3_uri import S3Uri
from scones.storage import Storage, StorageError
from scones.training_log import EpochMetrics

# The built-in algorithm's image in any region's ECR (what sagemaker.image_uris.retrieve gives).
ALGORITHM_IMAGE = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/image-classification(:[\w.-]+)?")
MODEL_FILE_KEY = "{job}/output/model.tar.gz"
ENDPOINT_BUSY = ("Creating", "Updating")


class SageMakerError(Exception):
    """A SageMaker error answer: its code (``ValidationException``…) and SageMaker's message."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def validation(message: str) -> SageMakerError:
    return SageMakerError("ValidationException", message)


class _StopTraining(Exception):
    """Raised between epochs to end a job: its status and reason."""

    def __init__(self, status: str, reason: str | None = None):
        super().__init__(reason)
        self.status, self.reason = status, reason


def now() -> datetime:
    return datetime.now(timezone.utc)


def check_algorithm_image(image: str) -> None:
    """Only the built-in image-classification algorithm runs here."""
    if not ALGORITHM_IMAGE.fullmatch(image or ""):
        raise validation(f"Image {image!r} cannot run on the local SageMaker: it runs only the built-in "
                         "image-classification algorithm (ACCOUNT.dkr.ecr.REGION.amazonaws.com/image-classification:1)")


def model_artifact_uri(output_path: str, job_name: str) -> str:
    """Where the built-in algorithm writes a job's model: ``S3OutputPath/JOB/output/model.tar.gz``."""
    base = S3Uri.parse(output_path)
    prefix = base.key if not base.key or base.key.endswith("/") else base.key + "/"
    return str(S3Uri(base.bucket, prefix + MODEL_FILE_KEY.format(job=job_name)))


def matches(filters: dict, name: str, status: str | None = None) -> bool:
    """List*'s NameContains (case-insensitive) and StatusEquals."""
    contains = filters.get("NameContains")
    if contains and contains.lower() not in name.lower():
        return False
    wanted = filters.get("StatusEquals")
    return wanted is None or wanted == status


class Registry:
    """One kind of resource by case-insensitive name (as SageMaker's names are), with SageMaker's texts
    for a duplicate and for a miss."""

    def __init__(self, arn: Callable[[str], str], label: str):
        self.arn, self.label = arn, label
        self._items: dict[str, dict] = {}

    def add(self, name: str, record: dict) -> None:
        if name.lower() in self._items:
            raise validation(f"Cannot create already existing {self.label} \"{self.arn(name)}\".")
        self._items[name.lower()] = record

    def get(self, name: str) -> dict:
        record = self._items.get(name.lower())
        if record is None:
            raise validation(f"Could not find {self.label} \"{self.arn(name)}\".")
        return record

    def pop(self, name: str) -> dict:
        self.get(name)
        return self._items.pop(name.lower())

    def find(self, name: str) -> dict | None:
        return self._items.get(name.lower())

    def values(self) -> list[dict]:
        return list(self._items.values())


@dataclass
class TrainingJob:
    """One job's description (DescribeTrainingJob's answer) and the means to stop it."""

    description: dict
    stop_requested: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


class SageMakerService:
    """One account's SageMaker in one region, backed by ``storage`` for channels, models and captures."""

    def __init__(self, storage: Storage, *, url: str = "", region: str = "us-east-1", logs=None,
                 resolver: EndpointResolver | None = None, clock: Callable[[], datetime] = now):
        self.storage, self.url, self.region, self.logs, self.clock = storage, url, region, logs, clock
        self.resolver = resolver or EndpointResolver(storage, "")
        self._lock = threading.RLock()
        self._jobs: dict[str, TrainingJob] = {}
        self._models = Registry(lambda name: self.arn("model", name), "model")
        self._configs = Registry(lambda name: self.arn("endpoint-config", name), "endpoint configuration")
        self._endpoints = Registry(lambda name: self.arn("endpoint", name), "endpoint")
        self._tags: dict[str, dict[str, str]] = {}
        self._threads: list[threading.Thread] = []

    def arn(self, kind: str, name: str) -> str:
        """SageMaker's ARNs spell the name in lower case."""
        return f"arn:aws:sagemaker:{self.region}:{LOCAL_ACCOUNT_ID}:{kind}/{name.lower()}"

    def _start(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop running jobs, wait for the worker threads, and close every endpoint (flushing captures)."""
        for job in list(self._jobs.values()):
            job.stop_requested.set()
        for thread in self._threads:
            thread.join(timeout)
        self.resolver.close()

    # ---------------------------------------------------------------- tags

    def _set_tags(self, arn: str, tags: list[dict] | None) -> None:
        self._tags.setdefault(arn, {}).update({tag["Key"]: tag["Value"] for tag in tags or []})

    def _check_arn(self, arn: str) -> None:
        if arn not in self._tags:
            raise validation(f"Could not find resource \"{arn}\".")

    def add_tags(self, request: dict) -> dict:
        with self._lock:
            self._check_arn(request["ResourceArn"])
            self._set_tags(request["ResourceArn"], request["Tags"])
            return {"Tags": request["Tags"]}

    def list_tags(self, request: dict) -> dict:
        with self._lock:
            self._check_arn(request["ResourceArn"])
            return {"Tags": [{"Key": k, "Value": v} for k, v in self._tags[request["ResourceArn"]].items()]}

    def delete_tags(self, request: dict) -> dict:
        with self._lock:
            self._check_arn(request["ResourceArn"])
            for key in request["TagKeys"]:
                self._tags[request["ResourceArn"]].pop(key, None)
            return {}

    # ------------------------------------------------------------ training

    def create_training_job(self, request: dict) -> dict:
        name = request["TrainingJobName"]
        check_algorithm_image(request["AlgorithmSpecification"].get("TrainingImage", ""))
        arn = self.arn("training-job", name)
        with self._lock:
            if name.lower() in self._jobs:
                raise SageMakerError("ResourceInUse", "Training job names must be unique within an AWS account "
                                     f"and region, and a training job with this name already exists ({arn})")
            created = self.clock()
            description = {
                "TrainingJobName": name, "TrainingJobArn": arn, "TrainingJobStatus": "InProgress",
                "SecondaryStatus": "Starting",
                "SecondaryStatusTransitions": [{"Status": "Starting", "StartTime": created,
                                                "StatusMessage": "Launching requested ML instances"}],
                "CreationTime": created, "LastModifiedTime": created,
                **{key: request[key] for key in ("AlgorithmSpecification", "RoleArn", "InputDataConfig",
                                                 "OutputDataConfig", "ResourceConfig", "StoppingCondition")},
                "HyperParameters": request.get("HyperParameters", {}),
                "ModelArtifacts": {"S3ModelArtifacts": model_artifact_uri(
                    request["OutputDataConfig"]["S3OutputPath"], name)},
            }
            job = TrainingJob(description)
            self._jobs[name.lower()] = job
            self._set_tags(arn, request.get("Tags"))
        self._start(lambda: self._run_training(job), f"training-{name}")
        return {"TrainingJobArn": arn}

    def _job(self, name: str) -> TrainingJob:
        job = self._jobs.get(name.lower())
        if job is None:
            raise validation("Requested resource not found.")
        return job

    def describe_training_job(self, request: dict) -> dict:
        with self._lock:
            description = dict(self._job(request["TrainingJobName"]).description)
            description["SecondaryStatusTransitions"] = [dict(t) for t in description["SecondaryStatusTransitions"]]
            if description["TrainingJobStatus"] != "Completed":
                description.pop("ModelArtifacts")
            return description

    def stop_training_job(self, request: dict) -> dict:
        with self._lock:
            job = self._job(request["TrainingJobName"])
            if job.description["TrainingJobStatus"] != "InProgress":
                raise validation(f"The request was rejected because the training job is in status "
                                 f"{job.description['TrainingJobStatus']}.")
            job.description["TrainingJobStatus"] = "Stopping"
            job.stop_requested.set()
            return {}

    def list_training_jobs(self, request: dict) -> dict:
        with self._lock:
            jobs = [job.description for job in self._jobs.values()
                    if matches(request, job.description["TrainingJobName"], job.description["TrainingJobStatus"])]
            return {"TrainingJobSummaries": [
                {key: d[key] for key in ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingJobStatus",
                                         "LastModifiedTime")} for d in jobs]}

    def _transition(self, job: TrainingJob, status: str, message: str) -> None:
        with self._lock:
            moment = self.clock()
            transitions = job.description["SecondaryStatusTransitions"]
            transitions[-1]["EndTime"] = moment
            transitions.append({"Status": status, "StartTime": moment, "StatusMessage": message})
            job.description.update(SecondaryStatus=status, LastModifiedTime=moment)
            if status == "Downloading":
                job.description["TrainingStartTime"] = moment

    def _finish(self, job: TrainingJob, status: str, reason: str | None = None) -> None:
        self._transition(job, status, reason or f"Training job {status.lower()}")
        with self._lock:
            moment = self.clock()
            d = job.description
            d["SecondaryStatusTransitions"][-1]["EndTime"] = moment
            d.update(TrainingJobStatus=status, TrainingEndTime=moment)
            seconds = max(1, int((moment - d.get("TrainingStartTime", d["CreationTime"])).total_seconds()))
            d.update(TrainingTimeInSeconds=seconds, BillableTimeInSeconds=seconds)
            if reason:
                d["FailureReason"] = reason
        job.finished.set()

    def _run_training(self, job: TrainingJob) -> None:
        """The algorithm's container: download, train, upload; every outcome ends in a status."""
        from scones.backends.local.training import Channels, TrainingDataError, train_on_channels

        name = job.description["TrainingJobName"]
        log = TrainingLog(self.logs, name, self.clock)
        limit = job.description["StoppingCondition"].get("MaxRuntimeInSeconds")
        started = time.monotonic()

        def between_epochs(metrics: EpochMetrics) -> None:
            self._record_metrics(job, metrics)
            if job.stop_requested.is_set():
                raise _StopTraining("Stopped")
            if limit is not None and time.monotonic() - started >= limit:
                raise _StopTraining("Stopped", f"Training job reached the MaxRuntimeInSeconds limit ({limit} s): "
                                    "MaxRuntimeExceeded")

        try:
            self._transition(job, "Downloading", "Downloading input data")
            hyperparameters = Hyperparameters.from_mapping(job.description["HyperParameters"], algorithm_only=True)
            channels = Channels.from_input_data_config(job.description["InputDataConfig"])
            trained, tarball = train_on_channels(
                self.storage, channels, hyperparameters, job_name=name, progress=False, log=log.write,
                on_epoch_end=between_epochs,
                on_channels_read=lambda: self._transition(job, "Training", "Training image download completed. "
                                                          "Training in progress."))
            self._transition(job, "Uploading", "Uploading generated training model")
            self.storage.put(model_artifact_uri(job.description["OutputDataConfig"]["S3OutputPath"], name),
                             tarball, content_type="application/x-tar")
            self._finish(job, "Completed")
        except _StopTraining as stop:
            log.write(stop.reason or "Training stopped by StopTrainingJob")
            self._finish(job, stop.status, stop.reason)
        except (InputError, TrainingDataError, StorageError) as error:
            log.write(f"ERROR: {error}")
            self._finish(job, "Failed", f"ClientError: {error}")
        except Exception as error:  # the algorithm's own fault: reported as SageMaker does, never raised
            log.write(f"ERROR: {type(error).__name__}: {error}")
            self._finish(job, "Failed", f"AlgorithmError: {type(error).__name__}: {error}")

    def _record_metrics(self, job: TrainingJob, metrics: EpochMetrics) -> None:
        with self._lock:
            moment = self.clock()
            final = [{"MetricName": "validation:accuracy", "Value": metrics.validation_accuracy, "Timestamp": moment}]
            if metrics.train_accuracy is not None:
                final.append({"MetricName": "train:accuracy", "Value": metrics.train_accuracy, "Timestamp": moment})
            job.description["FinalMetricDataList"] = final

    # -------------------------------------------------------------- models

    def create_model(self, request: dict) -> dict:
        name = request["ModelName"]
        container = request.get("PrimaryContainer") or (request.get("Containers") or [{}])[0]
        check_algorithm_image(container.get("Image", ""))
        arn = self.arn("model", name)
        with self._lock:
            self._models.add(name, {
                "ModelName": name, "ModelArn": arn, "PrimaryContainer": container,
                "ExecutionRoleArn": request.get("ExecutionRoleArn", ""), "CreationTime": self.clock()})
            self._set_tags(arn, request.get("Tags"))
        return {"ModelArn": arn}

    def _delete(self, registry: Registry, name: str, arn_key: str) -> dict:
        with self._lock:
            record = registry.pop(name)
            self._tags.pop(record[arn_key], None)
            return record

    def _summaries(self, registry: Registry, request: dict, keys: tuple[str, ...], status_key: str | None = None):
        """List*'s entries (the first key is the name), filtered by NameContains and StatusEquals."""
        with self._lock:
            return [{key: record[key] for key in keys} for record in registry.values()
                    if matches(request, record[keys[0]], record.get(status_key))]

    def describe_model(self, request: dict) -> dict:
        with self._lock:
            return dict(self._models.get(request["ModelName"]))

    def delete_model(self, request: dict) -> dict:
        self._delete(self._models, request["ModelName"], "ModelArn")
        return {}

    def list_models(self, request: dict) -> dict:
        return {"Models": self._summaries(self._models, request, ("ModelName", "ModelArn", "CreationTime"))}

    # ----------------------------------------------------- endpoint configs

    def create_endpoint_config(self, request: dict) -> dict:
        name = request["EndpointConfigName"]
        arn = self.arn("endpoint-config", name)
        with self._lock:
            for variant in request["ProductionVariants"]:
                self._models.get(variant["ModelName"])
            if request.get("DataCaptureConfig"):
                CaptureConfig.from_api(request["DataCaptureConfig"])
            self._configs.add(name, {
                "EndpointConfigName": name, "EndpointConfigArn": arn,
                "ProductionVariants": request["ProductionVariants"], "CreationTime": self.clock(),
                **({"DataCaptureConfig": request["DataCaptureConfig"]} if request.get("DataCaptureConfig") else {})})
            self._set_tags(arn, request.get("Tags"))
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, request: dict) -> dict:
        with self._lock:
            return dict(self._configs.get(request["EndpointConfigName"]))

    def delete_endpoint_config(self, request: dict) -> dict:
        self._delete(self._configs, request["EndpointConfigName"], "EndpointConfigArn")
        return {}

    def list_endpoint_configs(self, request: dict) -> dict:
        return {"EndpointConfigs": self._summaries(self._configs, request,
                                                   ("EndpointConfigName", "EndpointConfigArn", "CreationTime"))}

    # ------------------------------------------------------------ endpoints

    def create_endpoint(self, request: dict) -> dict:
        name = request["EndpointName"]
        arn = self.arn("endpoint", name)
        with self._lock:
            config = self._configs.get(request["EndpointConfigName"])
            created = self.clock()
            endpoint = {"EndpointName": name, "EndpointArn": arn, "EndpointConfigName": config["EndpointConfigName"],
                        "EndpointStatus": "Creating", "CreationTime": created, "LastModifiedTime": created}
            self._endpoints.add(name, endpoint)
            self._set_tags(arn, request.get("Tags"))
        self._start(lambda: self._load_endpoint(endpoint, config), f"endpoint-{name}")
        return {"EndpointArn": arn}

    def update_endpoint(self, request: dict) -> dict:
        with self._lock:
            endpoint = self._endpoints.get(request["EndpointName"])
            if endpoint["EndpointStatus"] != "InService":
                raise validation(f"Cannot update in-progress endpoint \"{endpoint['EndpointArn']}\".")
            config = self._configs.get(request["EndpointConfigName"])
            endpoint.update(EndpointStatus="Updating", LastModifiedTime=self.clock())
        self._start(lambda: self._load_endpoint(endpoint, config), f"endpoint-{endpoint['EndpointName']}")
        return {"EndpointArn": endpoint["EndpointArn"]}

    def _load_endpoint(self, endpoint: dict, config: dict) -> None:
        """Load the config's model behind the runtime route; InService, or Failed with the reason."""
        variant = config["ProductionVariants"][0]
        capture = config.get("DataCaptureConfig")
        try:
            with self._lock:
                model_uri = self._models.get(variant["ModelName"])["PrimaryContainer"]["ModelDataUrl"]
            record = EndpointRecord(name=endpoint["EndpointName"], model_uri=model_uri, url=self.url,
                                    created=endpoint["CreationTime"], variant=variant.get("VariantName", DEFAULT_VARIANT),
                                    instance_type=variant.get("InstanceType", "local"),
                                    capture=CaptureConfig.from_api(capture) if capture else None)
            self.resolver.load(record)
        except Exception as error:  # a model that cannot load fails the endpoint, as on SageMaker
            with self._lock:
                endpoint.update(EndpointStatus="Failed", LastModifiedTime=self.clock(),
                                FailureReason=f"The primary container for production variant "
                                              f"{variant.get('VariantName')} did not pass the ping health check: "
                                              f"{error}")
            return
        with self._lock:
            endpoint.update(EndpointStatus="InService", LastModifiedTime=self.clock(),
                            EndpointConfigName=config["EndpointConfigName"])

    def describe_endpoint(self, request: dict) -> dict:
        with self._lock:
            endpoint = dict(self._endpoints.get(request["EndpointName"]))
            config = self._configs.find(endpoint["EndpointConfigName"]) or {}
            endpoint["ProductionVariants"] = [
                {"VariantName": v.get("VariantName", DEFAULT_VARIANT), "CurrentWeight": v.get("InitialVariantWeight", 1.0),
                 "DesiredWeight": v.get("InitialVariantWeight", 1.0),
                 "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
                 "DesiredInstanceCount": v.get("InitialInstanceCount", 1)}
                for v in config.get("ProductionVariants", [])]
            capture = config.get("DataCaptureConfig")
            if capture:
                endpoint["DataCaptureConfig"] = {
                    "EnableCapture": capture.get("EnableCapture", True), "CaptureStatus": "Started",
                    "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
                    "DestinationS3Uri": capture["DestinationS3Uri"]}
            return endpoint

    def delete_endpoint(self, request: dict) -> dict:
        """Stop serving at once (captures flushed), as SageMaker's Deleting ends."""
        endpoint = self._delete(self._endpoints, request["EndpointName"], "EndpointArn")
        self.resolver.unload(endpoint["EndpointName"])
        return {}

    def list_endpoints(self, request: dict) -> dict:
        return {"Endpoints": self._summaries(self._endpoints, request, (
            "EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus"), "EndpointStatus")}

    # ------------------------------------------------------- runtime host

    def resolve(self, name: str) -> LocalEndpoint:
        """The InService endpoint ``name`` for InvokeEndpoint; EndpointNotFound otherwise."""
        with self._lock:
            endpoint = self._endpoints.find(name)
            if endpoint is None or endpoint["EndpointStatus"] not in ("InService", "Updating"):
                raise EndpointNotFound(name)
        return self.resolver.resolve(endpoint["EndpointName"])


class TrainingLog:
    """A job's algorithm log: CloudWatch Logs ``/aws/sagemaker/TrainingJobs``, stream ``JOB/algo-1-SECONDS``."""

    def __init__(self, logs, job_name: str, clock: Callable[[], datetime] = now):
        self.logs, self.clock = logs, clock
        self.stream = f"{job_name}/algo-1-{int(clock().timestamp())}"
        if logs is not None:
            try:
                logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
            logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=self.stream)

    def write(self, line: str) -> None:
        if self.logs is not None:
            self.logs.put_log_events(logGroupName=TRAINING_LOG_GROUP, logStreamName=self.stream,
                                     logEvents=[{"timestamp": int(self.clock().timestamp() * 1000), "message": line}])
