"""The local backend: everything on this machine, nothing billed.

- Storage is a real S3 API over HTTP: LocalStack when it runs, else an S3
  server started here on 127.0.0.1 (:mod:`.s3_service`).
- Training is MXNet on the CPU (:mod:`.training`), writing the built-in
  algorithm's ``model.tar.gz``.
- Endpoints are served by a SageMaker-runtime HTTP server in this process
  (:mod:`.endpoints`), with Data Capture to S3, and recorded in S3 so other
  processes find them.
- The workflow runs in the ASL interpreter, its three functions being the
  handlers in ``scones.lambdas``, called in-process and pointed at these local
  services through the standard ``AWS_ENDPOINT_URL_*`` variables.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import MutableMapping, Sequence

from scones.backend import (
    DEFAULT_BUCKET,
    DEFAULT_ENDPOINT,
    CleanupReport,
    EndpointInfo,
    ExecutionOutcome,
    TrainingOutcome,
    WorkflowInfo,
)
from scones.backends.local.s3_service import (
    EmbeddedS3,
    S3Endpoint,
    choose_s3_endpoint,
    localstack_is_healthy,
    scones_up_is_running,
)
from scones.capture import CaptureConfig
from scones.inferences import DEFAULT_THRESHOLD, check_threshold
from scones.staging import DEFAULT_CLASSES, StageReport, stage_archive
from scones.storage import Storage, s3_client
from scones.workflow import FUNCTIONS, WORKFLOW_NAME, bind_by_order, fill_definition, handler, workflow_definition

DEFAULT_REGION = "us-east-1"
# The account id LocalStack and moto use; local ARNs carry it.
LOCAL_ACCOUNT = "000000000000"
# Lambda's limit is 900 s; the console's default of 3 s is too short for a first endpoint call here.
FUNCTION_TIMEOUT_SECONDS = 30
# Data the workflow writes, removed by `cleanup --delete-data`.
DATA_PREFIXES = ("train/", "test/", "train.lst", "test.lst", "classes.json", "models/", "data_capture/",
                 "scones/")


class LocalBackend:
    name = "local"

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str = DEFAULT_REGION,
        bucket: str = DEFAULT_BUCKET,
        environ: MutableMapping[str, str] = os.environ,
    ):
        self.region = region
        self.bucket = bucket
        self._environ = environ
        self._embedded: EmbeddedS3 | None = None
        chosen = choose_s3_endpoint(endpoint_url, environ, localstack_is_healthy, scones_up_is_running)
        if chosen is None:
            self._embedded = EmbeddedS3()
            chosen = S3Endpoint(self._embedded.start(), "embedded")
        self.s3_endpoint = chosen
        self._storage = Storage(s3_client(chosen.url, region=region))
        self._services = contextlib.ExitStack()
        self._server = None  # the endpoint server, started on first deploy
        self._machine = None  # the compiled state machine, once deployed
        self._resources = None

    @property
    def storage(self) -> Storage:
        return self._storage

    def describe(self) -> list[str]:
        return [self.s3_endpoint.describe()]

    # ------------------------------------------------------------------ stage

    def stage(self, archive_path: str, *, bucket: str | None = None,
              classes: Sequence[str] = DEFAULT_CLASSES, on_progress=None) -> StageReport:
        return stage_archive(archive_path, self.storage, bucket or self.bucket, classes, on_progress=on_progress)

    # ------------------------------------------------------------------ train

    def train(self, *, bucket: str | None = None, hyperparameters=None, job_name: str | None = None,
              seed: int = 0, log=print, progress: bool = True) -> TrainingOutcome:
        """Train MXNet on this machine's CPU from the staged channels; the model lands where SageMaker puts it."""
        from scones.backends.local.training import train_from_storage
        from scones.hyperparameters import Hyperparameters
        from scones.staging import count_training_images

        bucket = bucket or self.bucket
        if hyperparameters is None:
            hyperparameters = Hyperparameters.local_default(num_training_samples=count_training_images(self.storage, bucket))
        result = train_from_storage(self.storage, bucket, hyperparameters, job_name=job_name or training_job_name(),
                                    seed=seed, progress=progress, log=log)
        return TrainingOutcome(job_name=result.job_name, model_uri=result.model_uri, class_names=result.class_names,
                               best_epoch=result.best_epoch, validation_accuracy=result.best_validation_accuracy,
                               epochs=result.metrics)

    # ------------------------------------------------------------- endpoints

    def _endpoint_server(self):
        """The SageMaker-runtime server of this process, started on first use."""
        if self._server is None:
            from scones.backends.local.endpoints import serve

            self._server = self._services.enter_context(serve(self.storage, self.bucket, region=self.region))
        return self._server

    def deploy(self, *, model_uri: str, endpoint_name: str = DEFAULT_ENDPOINT, bucket: str | None = None,
               capture: CaptureConfig | None = None, instance_type: str | None = None,
               class_names: Sequence[str] | None = None) -> EndpointInfo:
        """Serve ``model_uri`` as ``endpoint_name`` from this process, with Data Capture if given.

        The endpoint lives as long as this backend; its record in S3 lets
        ``scones invoke`` and ``scones execute`` in other processes find it.
        """
        from scones.backends.local.endpoints import deploy_local_endpoint

        if bucket not in (None, self.bucket):
            raise ValueError(f"the local endpoint server records endpoints in s3://{self.bucket}/; "
                             f"open the backend with bucket={bucket!r} to deploy there")
        record = deploy_local_endpoint(self._endpoint_server(), endpoint_name, model_uri, capture=capture)
        return record.to_info()

    def endpoint_url(self, endpoint_name: str) -> str:
        """Where ``endpoint_name`` is served: this process's server, or the one its record names."""
        from scones.backends.local.endpoint_records import lookup_endpoint

        return lookup_endpoint(self.storage, self.bucket, endpoint_name).url

    def invoke_endpoint(self, endpoint_name: str, body: bytes, content_type: str = "image/png") -> list[float]:
        from scones.inferences import parse_inferences

        runtime = runtime_client(self.endpoint_url(endpoint_name), self.region)
        response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType=content_type, Body=body)
        return parse_inferences(response["Body"].read())

    def delete_endpoint(self, endpoint_name: str = DEFAULT_ENDPOINT) -> bool:
        """Stop serving ``endpoint_name`` (flushing its captures) and delete its record."""
        from scones.backends.local.endpoint_records import delete_endpoint_record

        stopped = self._server is not None and self._server.resolver.unload(endpoint_name)
        return delete_endpoint_record(self.storage, self.bucket, endpoint_name) or stopped

    # --------------------------------------------------------------- workflow

    def function_arn(self, logical: str) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{logical}"

    def function_environment(self, endpoint_name: str, threshold: float) -> dict[str, str]:
        """What the functions' configuration holds on AWS, plus the local services' URLs."""
        return {
            "ENDPOINT_NAME": endpoint_name,
            "THRESHOLD": str(check_threshold(threshold)),
            "AWS_ENDPOINT_URL_S3": self.storage.endpoint_url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.endpoint_url(endpoint_name),
            "AWS_DEFAULT_REGION": self.region,
        }

    def deploy_workflow(self, *, endpoint_name: str = DEFAULT_ENDPOINT, threshold: float = DEFAULT_THRESHOLD,
                        bucket: str | None = None, definition: dict | None = None) -> WorkflowInfo:
        """Compile the workflow and configure its in-process functions.

        Without ``definition`` it is Scones's own, filled with local function
        ARNs. A user's exported definition runs as it is: the functions it
        calls are bound to Scones's handlers in call order
        (:func:`~scones.workflow.bind_by_order`). Lambda configuration is per
        function on AWS; here the three handlers share this process, so their
        environment is this process's.
        """
        from scones.asl import Resources, StateMachine

        self._environ.update(self.function_environment(endpoint_name, threshold))
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            self._environ.setdefault(variable, "test")
        if definition is None:
            functions = {logical: self.function_arn(logical) for logical in FUNCTIONS}
            definition = fill_definition(workflow_definition(), functions)
        else:
            functions = {logical: called for called, logical in bind_by_order(definition).items()}
        resources = Resources(region=self.region, account=LOCAL_ACCOUNT)
        for logical, function in functions.items():
            resources.add_lambda(function, handler(logical), timeout=FUNCTION_TIMEOUT_SECONDS)
        self._machine = StateMachine(definition, name=WORKFLOW_NAME)
        self._resources = resources
        return WorkflowInfo(state_machine=WORKFLOW_NAME, functions=functions, definition=definition)

    def start_execution(self, workflow: WorkflowInfo, execution_input: dict, *,
                        name: str | None = None) -> ExecutionOutcome:
        """Run one execution to its end in this thread (Standard workflows' semantics, minus the wait)."""
        if self._machine is None:
            self.deploy_workflow()
        execution = self._machine.execute(execution_input, resources=self._resources,
                                          name=name or str(uuid.uuid4()))
        return ExecutionOutcome(name=execution.name, input=execution_input, status=execution.status,
                                output=execution.output_value, error=execution.error, cause=execution.cause,
                                history=tuple(execution.history))

    # ---------------------------------------------------------------- cleanup

    def cleanup(self, *, dry_run: bool = False, delete_data: bool = False,
                bucket: str | None = None) -> CleanupReport:
        """Stop and forget every recorded endpoint; with ``delete_data``, remove the workflow's data too."""
        from scones.backends.local.endpoint_records import list_endpoints

        bucket = bucket or self.bucket
        report = CleanupReport(dry_run=dry_run)
        if not self.storage.bucket_exists(bucket):
            return report
        for record in list_endpoints(self.storage, bucket):
            report.deleted.append(f"endpoint {record.name}")
            if not dry_run:
                self.delete_endpoint(record.name)
        if delete_data:
            uris = [stored.uri for prefix in DATA_PREFIXES for stored in self.storage.list(f"s3://{bucket}/{prefix}")]
            report.deleted += uris
            if not dry_run:
                self.storage.delete(uris)
        return report

    # -------------------------------------------------------------- lifetime

    def close(self) -> None:
        """Stop the endpoint server (flushing captures), then the embedded S3."""
        try:
            self._services.close()
        finally:
            self._server = None
            if self._embedded is not None:
                self._embedded.stop()
                self._embedded = None

    def __enter__(self) -> "LocalBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def training_job_name() -> str:
    """A SageMaker-style job name: ``image-classification-YYYY-MM-DD-HH-MM-SS-mmm``."""
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    return f"image-classification-{now:%Y-%m-%d-%H-%M-%S}-{now.microsecond // 1000:03d}"


def runtime_client(endpoint_url: str, region: str):
    """A boto3 sagemaker-runtime client for a local endpoint server."""
    import boto3

    session = boto3.session.Session()
    credentials = {} if session.get_credentials() else {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    return session.client("sagemaker-runtime", endpoint_url=endpoint_url, region_name=region, **credentials)
