"""The local backend: everything on this machine, nothing billed.

- Storage is a real S3 API over HTTP: LocalStack when it runs, else an S3
  server started here on 127.0.0.1 (:mod:`.s3_choice`).
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
import dataclasses
import json
import os
import uuid
from typing import Mapping, Sequence

from scones.backend import (
    DEFAULT_BUCKET,
    DEFAULT_ENDPOINT,
    Backend,
    CleanupReport,
    EndpointInfo,
    ExecutionOutcome,
    Log,
    TrainingOutcome,
    WorkflowInfo,
)
from scones.backends.local.s3_choice import (
    EmbeddedS3,
    S3Endpoint,
    choose_s3_endpoint,
    localstack_is_healthy,
    scones_up_is_running,
)
from scones.capture import CaptureConfig
from scones.class_names import DEFAULT_CLASSES
from scones.clients import make_client
from scones.function_environment import configured_handler
from scones.filter_configuration import effective_threshold, write_local_threshold
from scones.in_process_workflow import InProcessWorkflow
from scones.inferences import check_threshold
from scones.staged_bucket import StageReport, count_training_images, delete_scones_data, stage_archive
from scones.storage import Storage, s3_client
from scones.workflow import bound_workflow, handler
from scones.workflow_functions import WORKFLOW_NAME

DEFAULT_REGION = "us-east-1"
# The account id LocalStack and moto use; local ARNs carry it.
LOCAL_ACCOUNT = "000000000000"
# Lambda's limit is 900 s; the console's default of 3 s is too short for a first endpoint call here.
FUNCTION_TIMEOUT_SECONDS = 30
# Local training is seeded, so a run can be repeated; this is the seed when none is given.
DEFAULT_SEED = 0


class LocalBackend(InProcessWorkflow, Backend):
    name = "local"

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str = DEFAULT_REGION,
        bucket: str = DEFAULT_BUCKET,
        capture_sampling_percentage: int = 100,
        training_progress: bool = True,
        environ: Mapping[str, str] = os.environ,
    ):
        self.region = region
        self.bucket = bucket
        self.capture_sampling_percentage = capture_sampling_percentage
        self.training_progress = training_progress
        self._embedded: EmbeddedS3 | None = None
        chosen = choose_s3_endpoint(endpoint_url, environ, localstack_is_healthy, scones_up_is_running)
        if chosen is None:
            self._embedded = EmbeddedS3()
            chosen = S3Endpoint(self._embedded.start(), "embedded")
        self.s3_endpoint = chosen
        self._storage = Storage(s3_client(chosen.url, region=region))
        self._services = contextlib.ExitStack()
        self._server = None  # the endpoint server, started on first deploy
        self._compiled: dict[str, tuple] = {}  # workflow key -> (StateMachine, Resources)

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def storage_is_ephemeral(self) -> bool:
        return self._embedded is not None

    def describe(self) -> list[str]:
        return [self.s3_endpoint.describe()]

    # ------------------------------------------------------------------ stage

    def stage(self, archive_path: str, *, classes: Sequence[str] = DEFAULT_CLASSES, on_plan=None,
              on_progress=None) -> StageReport:
        return stage_archive(archive_path, self.storage, self.bucket, classes, on_plan=on_plan,
                             on_progress=on_progress)

    # ------------------------------------------------------------------ train

    def check_hyperparameters(self, overrides: Mapping[str, str] | None = None) -> None:
        """The values must be the algorithm's and trainable on this CPU (no pretrained weights, no float16)."""
        from scones.hyperparameters import Hyperparameters

        Hyperparameters.local_default().with_overrides(overrides).check_local_support()

    def default_hyperparameters(self, overrides: Mapping[str, str] | None = None):
        """:meth:`Hyperparameters.local_default` (tuned for a CPU) for the staged ``train.lst``, with ``overrides``."""
        from scones.hyperparameters import Hyperparameters

        base = Hyperparameters.local_default(num_training_samples=count_training_images(self.storage, self.bucket))
        return base.with_overrides(overrides)

    def train(self, *, hyperparameters=None, job_name: str | None = None, seed: int | None = None,
              log: Log | None = None) -> TrainingOutcome:
        """Train MXNet on this machine's CPU from the staged channels; the model lands where SageMaker puts it."""
        from scones.backends.local.training import train_from_storage

        hyperparameters = hyperparameters or self.default_hyperparameters()
        result = train_from_storage(self.storage, self.bucket, hyperparameters, job_name=job_name or training_job_name(),
                                    seed=DEFAULT_SEED if seed is None else seed, progress=self.training_progress,
                                    log=log or print)
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

    def deploy(self, *, model_uri: str, endpoint_name: str = DEFAULT_ENDPOINT, capture: CaptureConfig | None = None,
               instance_type: str | None = None) -> EndpointInfo:
        """Serve ``model_uri`` as ``endpoint_name`` from this process, with Data Capture.

        The endpoint lives as long as this backend; its record in S3 lets
        ``scones invoke`` and ``scones execute`` in other processes find it.
        ``instance_type`` only labels the record: everything runs on this machine.
        """
        from scones.backends.local.endpoint_records import LOCAL_INSTANCE_TYPE
        from scones.backends.local.endpoints import deploy_local_endpoint

        record = deploy_local_endpoint(self._endpoint_server(), endpoint_name, model_uri,
                                       capture=capture or self.default_capture(),
                                       instance_type=instance_type or LOCAL_INSTANCE_TYPE)
        return dataclasses.replace(record.to_info(), served_by_this_process=True)

    def endpoint_url(self, endpoint_name: str) -> str:
        """Where ``endpoint_name`` is served: this process's server, or the one its record names."""
        from scones.backends.local.endpoint_records import lookup_endpoint

        return lookup_endpoint(self.storage, self.bucket, endpoint_name).url

    def invoke_endpoint(self, endpoint_name: str, body: bytes, content_type: str = "image/png") -> list[float]:
        from scones.endpoint_invocation import invoke_probabilities

        runtime = make_client("sagemaker-runtime", endpoint_url=self.endpoint_url(endpoint_name), region=self.region)
        return invoke_probabilities(runtime, endpoint_name, body, content_type)

    def delete_endpoint(self, endpoint_name: str = DEFAULT_ENDPOINT) -> bool:
        """Stop serving ``endpoint_name`` (flushing its captures) and delete its record."""
        from scones.backends.local.endpoint_records import delete_endpoint_record

        stopped = self._server is not None and self._server.resolver.unload(endpoint_name)
        return delete_endpoint_record(self.storage, self.bucket, endpoint_name) or stopped

    # --------------------------------------------------------------- workflow

    def function_arn(self, logical: str) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{logical}"

    def function_environment(self, workflow: WorkflowInfo) -> dict[str, str]:
        """What the functions' configuration holds on AWS, plus the local services' URLs."""
        return {
            "ENDPOINT_NAME": workflow.endpoint_name,
            "THRESHOLD": str(check_threshold(workflow.threshold)),
            "AWS_ENDPOINT_URL_S3": self.storage.endpoint_url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.endpoint_url(workflow.endpoint_name),
            "AWS_DEFAULT_REGION": self.region,
        }

    def deploy_workflow(self, *, endpoint_name: str = DEFAULT_ENDPOINT, threshold: float | None = None,
                        definition: dict | None = None) -> WorkflowInfo:
        """Scones's workflow with local function ARNs, or a user's exported one with its functions bound.

        A user's definition runs as it is: the functions it calls are bound to
        Scones's handlers in call order (:func:`~scones.workflow.bind_by_order`).
        :meth:`start_execution` runs whichever workflow it is given. The endpoint
        must be served already (EndpointNotFound otherwise): the in-process
        classifier is pointed at its URL.
        """
        threshold = effective_threshold(threshold, self.filter_threshold())
        self.endpoint_url(endpoint_name)
        functions, definition = bound_workflow(definition, self.function_arn)
        write_local_threshold(self.storage, self.bucket, threshold)  # the filter function's configuration
        return WorkflowInfo(state_machine=WORKFLOW_NAME, functions=functions, definition=definition,
                            endpoint_name=endpoint_name, threshold=threshold)

    def _compile(self, workflow: WorkflowInfo):
        """The state machine and the configured in-process functions of ``workflow``, compiled once."""
        from scones.asl import Resources, StateMachine

        key = json.dumps([workflow.definition, workflow.functions, workflow.endpoint_name, workflow.threshold],
                         sort_keys=True)
        if key not in self._compiled:
            variables = self.function_environment(workflow)
            resources = Resources(region=self.region, account=LOCAL_ACCOUNT)
            for logical, function in workflow.functions.items():
                resources.add_lambda(function, configured_handler(handler(logical), variables),
                                     timeout=FUNCTION_TIMEOUT_SECONDS)
            self._compiled[key] = (StateMachine(workflow.definition, name=workflow.state_machine), resources)
        return self._compiled[key]

    def start_execution(self, workflow: WorkflowInfo, execution_input: dict, *,
                        name: str | None = None) -> ExecutionOutcome:
        """Run one execution of ``workflow`` to its end in this thread (Standard workflows' semantics, minus the wait).

        The filter runs with its configuration as it is now (``set_threshold`` since the deploy included).
        """
        configured = self.filter_threshold()
        if configured is not None and configured != workflow.threshold:
            workflow = dataclasses.replace(workflow, threshold=configured)
        machine, resources = self._compile(workflow)
        execution = machine.execute(execution_input, resources=resources, name=name or str(uuid.uuid4()))
        return ExecutionOutcome.of(execution, execution_input)

    # ------------------------------------------------------------------ batch

    def batch(self, source_uri: str, *, out_uri: str | None = None, threshold: float | None = None,
              endpoint_name: str = DEFAULT_ENDPOINT):
        """The batch Distributed Map in the ASL interpreter; each batch goes to the endpoint's model in one pass.

        The endpoint is loaded into this process from its record (as ``scones
        invoke`` finds it), and a child reads its objects with signed GETs
        (:mod:`.signed_reads`) and hands its whole batch to the model's
        container: one decode per image, one forward pass per batch. Batch
        classifications are not captured (Data Capture records real-time traffic).
        """
        threshold = effective_threshold(threshold, self.filter_threshold())
        from scones.backends.local.signed_reads import SignedReader
        from scones.batch import execution_input, locations, run_batch_machine
        from scones.batch_child import ConcurrentReads
        from scones.staged_bucket import read_class_names
        from scones.workflow_functions import BATCH_FUNCTION

        source, out = locations(source_uri, out_uri)
        endpoint = self._endpoint_server().resolver.resolve(endpoint_name)
        with ConcurrentReads(SignedReader(self.storage.client).get, self.storage.concurrency) as read:
            return run_batch_machine(
                execution_input(source, out, threshold, read_class_names(self.storage, self.bucket)),
                read=read, classify=model_errors(endpoint.classify_many),
                function_arn=self.function_arn(BATCH_FUNCTION), s3_client=self.storage.client,
                storage=self.storage, region=self.region, account=LOCAL_ACCOUNT)

    # ---------------------------------------------------------------- cleanup

    def cleanup(self, *, dry_run: bool = False, delete_data: bool = False) -> CleanupReport:
        """Stop and forget every recorded endpoint; with ``delete_data``, remove the workflow's data too."""
        from scones.backends.local.endpoint_records import STOP_WAIT_SECONDS, list_endpoints, stops_serving

        report = CleanupReport(dry_run=dry_run)
        if not self.storage.bucket_exists(self.bucket):
            return report
        for record in list_endpoints(self.storage, self.bucket):
            served_here = self._server is not None and self._server.url == record.url
            if dry_run:
                report.deleted.append(f"endpoint {record.name}")
                continue
            self.delete_endpoint(record.name)
            if served_here or stops_serving(record.url, within_seconds=STOP_WAIT_SECONDS):
                report.deleted.append(f"endpoint {record.name}")
            else:
                report.deleted.append(f"endpoint {record.name} (record only: it is orphaned, still served at "
                                      f"{record.url} by a `scones deploy` that did not stop; press Ctrl-C there)")
        if delete_data:
            report.deleted += delete_scones_data(self.storage, self.bucket, dry_run=dry_run)
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


def model_errors(classify_many):
    """The container's per-image errors as the ModelError InvokeEndpoint would raise for them."""
    from scones.backends.local.inference_container import ContainerError
    from scones.batch_child import ModelError

    def classify(bodies):
        return [ModelError(answer.message) if isinstance(answer, ContainerError) else answer
                for answer in classify_many(bodies)]

    return classify


def training_job_name() -> str:
    """A SageMaker-style job name: ``image-classification-YYYY-MM-DD-HH-MM-SS-mmm``."""
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    return f"image-classification-{now:%Y-%m-%d-%H-%M-%S}-{now.microsecond // 1000:03d}"
