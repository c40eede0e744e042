"""The aws backend: the same workflow, files and hyperparameters, on a real AWS account.

``scones <step> --backend aws`` runs each step against AWS itself: S3 for the
staged data, SageMaker's built-in image-classification algorithm for training,
a real-time endpoint with Data Capture, three Lambda functions and a Step
Functions state machine built from ``asl/scones_workflow.asl.json``. Every
resource is tagged ``scones:project``, every role is least-privilege
(:mod:`~scones.backends.aws.iam_policies`), and ``cleanup`` deletes exactly what
carries the tag, saying what it would have cost per hour.

Clients come from one injectable ``boto3`` session; waits use an injectable
``sleep`` and ``clock`` so tests (against moto) never sleep. Every client, the
SDK's STS call included, honours ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>``, and the deployed functions are given the same
variables, so the whole backend runs against emulators (MiniStack or
LocalStack, and ``scones up`` for SageMaker); with none set it is AWS as ever.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from functools import cached_property
from typing import Callable, Mapping, Sequence

import boto3

from scones.backend import (
    DEFAULT_ENDPOINT,
    Backend,
    CleanupReport,
    EndpointInfo,
    ExecutionOutcome,
    TrainingOutcome,
    WorkflowInfo,
)
from scones.backends.aws import alarms
from scones.backends.aws import cleanup as cleanup_steps
from scones.backends.aws import endpoints, sdk
from scones.endpoint_invocation import invoke_probabilities
from scones.backends.aws.errors import CREDENTIALS_ADVICE, REGION_ADVICE, SconesAwsError, aws_errors
from scones.backends.aws.functions import FunctionSpec, ensure_function, function_variables, update_function_variables
from scones.backends.aws.iam_policies import (
    DEFAULT_IMAGE_PREFIXES,
    RoleSpec,
    all_role_specs,
    lambda_role_specs,
    sagemaker_role_spec,
    workflow_role_spec,
)
from scones.backends.aws.lambda_packaging import package_handler
from scones.backends.aws.naming import DEFAULT_PROJECT, Scope, check_sagemaker_name, ecr_repository_arn
from scones.backends.aws.roles import ensure_role
from scones.backends.aws.state_machines import ensure_state_machine, run_execution
from scones.backends.aws.training import TrainingSettings, run_training_job
from scones.backends.aws.training import training_job_request, training_outcome
from scones.backends.aws.waiters import Poller, max_poll_seconds
from scones.capture import CaptureConfig
from scones.class_names import DEFAULT_CLASSES
from scones.clients import endpoint_overrides, make_client
from scones.errors import InputError
from scones.filter_configuration import THRESHOLD_VARIABLE, effective_threshold
from scones.hyperparameters import Hyperparameters
from scones.inferences import DEFAULT_THRESHOLD, check_threshold
from scones.s3_uri import S3Uri
from scones.staged_bucket import StageReport, check_staged, class_names_for, count_training_images, read_class_names
from scones.staged_bucket import stage_archive
from scones.storage import Storage
from scones.workflow import fill_definition, workflow_definition
from scones.workflow_functions import FILTER_FUNCTION, HANDLER_MODULES


def function_environments(endpoint_name: str, threshold: float,
                          environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Each function's variables: its own settings, over the caller's endpoint overrides (none on AWS).

    The overrides let the deployed functions reach what the caller reaches
    (the classifier an emulated SageMaker runtime, the serializer the same S3).
    """
    own = {"serializeImageData": {}, "classifyImage": {"ENDPOINT_NAME": endpoint_name},
           FILTER_FUNCTION: {THRESHOLD_VARIABLE: repr(threshold)}}
    overrides = endpoint_overrides(environ)
    return {logical: {**overrides, **variables} for logical, variables in own.items()}


class AwsBackend(Backend):
    """Scones on AWS. Every setting has the course's value as its default."""

    name = "aws"

    def __init__(
        self,
        *,
        region: str | None = None,
        bucket: str | None = None,
        role_arn: str | None = None,
        training_instance_type: str = "ml.p3.2xlarge",
        endpoint_instance_type: str = "ml.m5.xlarge",
        spot: bool = False,
        max_runtime_seconds: int = TrainingSettings.max_runtime_seconds,
        max_wait_seconds: int | None = None,
        capture_sampling_percentage: int = 100,
        alarm_failed_executions: int = alarms.DEFAULT_FAILED_EXECUTIONS,
        alarm_period_seconds: int = alarms.DEFAULT_PERIOD_SECONDS,
        project: str = DEFAULT_PROJECT,
        name_prefix: str = "",
        image_prefixes: Sequence[str] = DEFAULT_IMAGE_PREFIXES,
        session: boto3.session.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = print,
        endpoint_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ):
        if endpoint_url:
            raise InputError("--endpoint-url is for the local backend; the aws backend talks to AWS itself")
        self.session = session or boto3.session.Session(region_name=region)
        self.region = region or self.session.region_name
        if not self.region:
            raise SconesAwsError("no AWS region is configured", REGION_ADVICE, code="NoRegionError")
        if self.session.get_credentials() is None:
            raise SconesAwsError("no AWS credentials were found", CREDENTIALS_ADVICE, code="NoCredentialsError")
        self._bucket = bucket
        self._role_arn = role_arn
        self.training_settings = TrainingSettings(instance_type=training_instance_type, spot=spot,
                                         max_runtime_seconds=max_runtime_seconds, max_wait_seconds=max_wait_seconds)
        self.endpoint_instance_type = endpoint_instance_type
        self.capture_sampling_percentage = capture_sampling_percentage
        if alarm_failed_executions < 1 or alarm_period_seconds < 10:
            raise InputError(f"alarm settings: --alarm-failed-executions must be at least 1 (got "
                             f"{alarm_failed_executions}) and --alarm-period at least 10 s (got {alarm_period_seconds})")
        self.alarm_failed_executions = alarm_failed_executions
        self.alarm_period_seconds = alarm_period_seconds
        self.project = project
        self.name_prefix = name_prefix
        self.image_prefixes = tuple(image_prefixes)
        self.environ = os.environ if environ is None else environ
        self.poller = Poller(sleep=sleep, clock=clock, max_interval=max_poll_seconds(self.environ))
        self.log = log
        self._clients: dict[str, object] = {}

    # ------------------------------------------------------------- plumbing

    def client(self, service: str):
        """One client per service, from the backend's session and the one client factory."""
        if service not in self._clients:
            self._clients[service] = make_client(service, region=self.region, session=self.session)
        return self._clients[service]

    @cached_property
    def scope(self) -> Scope:
        """Account, region, partition, project and name prefix: what every name and ARN derives from."""
        with aws_errors("finding your AWS account (sts:GetCallerIdentity)"):
            account = self.client("sts").get_caller_identity()["Account"]
        return Scope(region=self.region, account=account, partition=self.session.get_partition_for_region(self.region),
                     project=self.project, prefix=self.name_prefix)

    @cached_property
    def bucket(self) -> str:
        """``--bucket``, else the SageMaker SDK's default bucket ``sagemaker-{region}-{account}``."""
        if self._bucket:
            return self._bucket
        with aws_errors("naming the default SageMaker bucket"):
            return sdk.default_bucket_name(self.session)

    @cached_property
    def image_uri(self) -> str:
        return sdk.algorithm_image_uri(self.region)

    @cached_property
    def storage(self) -> Storage:
        return Storage(self.client("s3"))

    def _ensure_role(self, spec: RoleSpec) -> str:
        with aws_errors(f"creating or updating the IAM role {spec.name}"):
            return ensure_role(self.client("iam"), self.scope, spec, self.log)

    def sagemaker_role_arn(self, bucket: str) -> str:
        """``--role-arn`` if given, else Scones's least-privilege SageMaker execution role for ``bucket``."""
        if self._role_arn:
            return self._role_arn
        return self._ensure_role(sagemaker_role_spec(self.scope, bucket=bucket,
                                                     image_repository_arn=ecr_repository_arn(self.image_uri,
                                                                                             self.scope.partition)))

    def role_specs(self, *, endpoint_name: str = DEFAULT_ENDPOINT) -> list[RoleSpec]:
        """Every role a deployment uses, with its generated policies (what ``scones aws policies`` prints)."""
        return all_role_specs(self.scope, bucket=self.bucket, endpoint_name=endpoint_name,
                              image_repository_arn=ecr_repository_arn(self.image_uri, self.scope.partition),
                              image_prefixes=self.image_prefixes)

    # ----------------------------------------------------------------- steps

    def describe(self) -> list[str]:
        scope = self.scope
        spot = ", spot" if self.training_settings.spot else ""
        return [
            f"AWS account {scope.account}, region {scope.region}; resources tagged scones:project={scope.project}",
            f"data in s3://{self.bucket}/; training on {self.training_settings.instance_type}{spot}; "
            f"endpoint on {self.endpoint_instance_type}",
        ]

    def stage(self, archive_path: str, *, classes: Sequence[str] = DEFAULT_CLASSES, on_plan=None,
              on_progress=None) -> StageReport:
        """Stage into the bucket; a bucket this creates is tagged, so cleanup and cost reports find it."""
        report = stage_archive(archive_path, self.storage, self.bucket, classes, on_plan=on_plan,
                               on_progress=on_progress)
        if report.bucket_created:
            with aws_errors(f"tagging the new bucket {self.bucket}"):
                self.client("s3").put_bucket_tagging(Bucket=self.bucket, Tagging={"TagSet": self.scope.tag_list})
        return report

    def check_hyperparameters(self, overrides: Mapping[str, str] | None = None) -> None:
        """The values must be ones SageMaker's algorithm accepts (checked here, before staging or billing)."""
        Hyperparameters.course().with_overrides(overrides).check_sagemaker_support()

    def default_hyperparameters(self, overrides: Mapping[str, str] | None = None) -> Hyperparameters:
        """The course's GPU values (:meth:`Hyperparameters.course`) for the staged ``train.lst``, with ``overrides``."""
        return Hyperparameters.course(count_training_images(self.storage, self.bucket)).with_overrides(overrides)

    def train(self, *, hyperparameters: Hyperparameters | None = None, job_name: str | None = None,
              seed: int | None = None, log: Callable[[str], None] | None = None) -> TrainingOutcome:
        """Train on SageMaker and follow the job to the end (minutes on ml.p3.2xlarge; billed per second)."""
        log = log or self.log
        if seed is not None:
            log("note: the built-in algorithm takes no seed; --seed applies to local training only")
        check_staged(self.storage, self.bucket)
        hyperparameters = hyperparameters or self.default_hyperparameters()
        hyperparameters.check_sagemaker_support()
        class_names = class_names_for(self.storage, self.bucket, hyperparameters.num_classes)
        name = check_sagemaker_name(job_name or sdk.timestamped_name("scones-image-classification"), "job name")
        request = training_job_request(job_name=name, bucket=self.bucket, image_uri=self.image_uri,
                                       role_arn=self.sagemaker_role_arn(self.bucket),
                                       hyperparameters=hyperparameters.to_sagemaker(), settings=self.training_settings,
                                       tags=self.scope.tag_list)
        with aws_errors(f"training job {name}", instance_type=self.training_settings.instance_type):
            description, lines = run_training_job(self.client("sagemaker"), self.client("logs"), request,
                                                  poller=self.poller, settings=self.training_settings, log=log)
        return training_outcome(description, lines, class_names)

    def deploy(self, *, model_uri: str, endpoint_name: str = DEFAULT_ENDPOINT, capture: CaptureConfig | None = None,
               instance_type: str | None = None) -> EndpointInfo:
        """Create the endpoint, or swap an existing one to the new model (blue/green).

        The model is tagged with the staged class names, so whoever finds the
        endpoint in the account can tell what its class ids mean.
        """
        check_sagemaker_name(endpoint_name, "endpoint name")
        model_bucket = S3Uri.parse(model_uri).bucket
        if model_bucket != self.bucket and not self._role_arn:
            raise SconesAwsError(f"the model {model_uri} is outside s3://{self.bucket}/, which is all Scones's role "
                                 "reads", f"pass --bucket {model_bucket}, or --role-arn with a role that can read it",
                                 code="ModelOutsideBucket")
        capture = capture or self.default_capture()
        instance = instance_type or self.endpoint_instance_type
        role_arn = self.sagemaker_role_arn(self.bucket)
        class_names = read_class_names(self.storage, self.bucket)
        model_tags = self.scope.tag_list + ([endpoints.class_names_tag(class_names)] if class_names else [])
        model = endpoints.model_request(model_name=sdk.unique_name(f"{endpoint_name}-model"), image_uri=self.image_uri,
                                        model_uri=model_uri, role_arn=role_arn, tags=model_tags)
        config = endpoints.endpoint_config_request(config_name=sdk.unique_name(f"{endpoint_name}-config"),
                                                   model_name=model["ModelName"], instance_type=instance,
                                                   capture=capture, tags=self.scope.tag_list)
        with aws_errors(f"deploying endpoint {endpoint_name}", instance_type=instance):
            description = endpoints.deploy_endpoint(self.client("sagemaker"), self.scope, endpoint_name=endpoint_name,
                                                    model=model, config=config, poller=self.poller, log=self.log)
        return EndpointInfo(name=endpoint_name, variant=config["ProductionVariants"][0]["VariantName"],
                            model_uri=model_uri, location=description["EndpointArn"], capture=capture)

    def invoke_endpoint(self, endpoint_name: str, body: bytes, content_type: str = "image/png") -> list[float]:
        with aws_errors(f"invoking endpoint {endpoint_name}"):
            return invoke_probabilities(self.client("sagemaker-runtime"), endpoint_name, body, content_type)

    def delete_endpoint(self, endpoint_name: str = DEFAULT_ENDPOINT) -> bool:
        """Delete the endpoint (it stops billing), its config and its model; False if there was none."""
        with aws_errors(f"deleting endpoint {endpoint_name}"):
            return endpoints.delete_endpoint(self.client("sagemaker"), self.scope, endpoint_name, self.log)

    def deploy_functions(self, *, endpoint_name: str = DEFAULT_ENDPOINT,
                         threshold: float = DEFAULT_THRESHOLD) -> dict[str, str]:
        """The three Lambda functions and their roles; returns logical name → function ARN."""
        limit = check_threshold(threshold)
        environments = function_environments(endpoint_name, limit, self.environ)
        arns = {}
        for spec in lambda_role_specs(self.scope, bucket=self.bucket, endpoint_name=endpoint_name,
                                      image_prefixes=self.image_prefixes):
            logical = spec.purpose
            function = FunctionSpec(name=self.scope.function_name(logical),
                                    package=package_handler(HANDLER_MODULES[logical]),
                                    role_arn=self._ensure_role(spec), environment=environments[logical],
                                    description=f"Scones Unlimited workflow: {logical}")
            with aws_errors(f"deploying the Lambda function {function.name}"):
                arns[logical] = ensure_function(self.client("lambda"), self.scope, function, poller=self.poller,
                                                log=self.log)
        return arns

    def deploy_workflow(self, *, endpoint_name: str = DEFAULT_ENDPOINT, threshold: float | None = None,
                        definition: dict | None = None) -> WorkflowInfo:
        """Functions, roles and the state machine from ``asl/scones_workflow.asl.json``; idempotent.

        A user's own ``definition`` is refused: its functions and roles belong to
        the account it was exported from, and Scones deploys only what it can tag and clean up.
        """
        if definition is not None:
            raise InputError("--definition runs your own state machine on the local backend; "
                             "on AWS, deploy it with your own tools")
        threshold = effective_threshold(threshold, self.filter_threshold())
        functions = self.deploy_functions(endpoint_name=endpoint_name, threshold=threshold)
        definition = fill_definition(workflow_definition(), functions)
        role_arn = self._ensure_role(workflow_role_spec(self.scope))
        with aws_errors(f"deploying the state machine {self.scope.state_machine_name}"):
            arn = ensure_state_machine(self.client("stepfunctions"), self.scope, definition=definition,
                                       role_arn=role_arn, poller=self.poller, log=self.log)
        alarm = alarms.failed_executions_alarm(self.scope, arn, failed_executions=self.alarm_failed_executions,
                                               period_seconds=self.alarm_period_seconds)
        with aws_errors(f"creating the CloudWatch alarm {alarm['AlarmName']}"):
            alarms.ensure_alarm(self.client("cloudwatch"), alarm)
        return WorkflowInfo(state_machine=arn, functions=functions, definition=definition, endpoint_name=endpoint_name,
                            threshold=threshold)

    def set_threshold(self, threshold: float) -> None:
        """``UpdateFunctionConfiguration`` of the filter function's ``THRESHOLD``; endpoint and state machine untouched."""
        name = self.scope.function_name(FILTER_FUNCTION)
        with aws_errors(f"setting the threshold of {name}"):
            update_function_variables(self.client("lambda"), name, {THRESHOLD_VARIABLE: repr(check_threshold(threshold))},
                                      poller=self.poller)
        self.log(f"Lambda function {name}: THRESHOLD is {check_threshold(threshold)!r}")

    def filter_threshold(self) -> float | None:
        with aws_errors("reading the filter function's configuration"):
            variables = function_variables(self.client("lambda"), self.scope.function_name(FILTER_FUNCTION))
        value = (variables or {}).get(THRESHOLD_VARIABLE)
        return None if value is None else check_threshold(value)

    def publish_low_confidence_share(self, endpoint_name: str, share: float, *, fail_above: float | None = None) -> str:
        """Put ``Scones/LowConfidenceShare`` for the endpoint and (re)create its alarm; returns the alarm's name."""
        alarm = alarms.low_confidence_alarm(self.scope, endpoint_name,
                                            fail_above=alarms.DEFAULT_FAIL_ABOVE if fail_above is None else fail_above,
                                            period_seconds=self.alarm_period_seconds)
        with aws_errors(f"publishing the low-confidence share of {endpoint_name}"):
            cloudwatch = self.client("cloudwatch")
            cloudwatch.put_metric_data(**alarms.low_confidence_datum(endpoint_name, share, datetime.now(timezone.utc)))
            cloudwatch.put_metric_alarm(**alarm)
        return alarm["AlarmName"]

    def start_execution(self, workflow: WorkflowInfo, execution_input: dict, *,
                        name: str | None = None) -> ExecutionOutcome:
        """Run one execution to its end; status, output, error, cause and the full history."""
        execution_name = name or sdk.unique_name("scones-execution")
        with aws_errors(f"execution {execution_name}"):
            return run_execution(self.client("stepfunctions"), workflow.state_machine, execution_input, name=execution_name,
                                 poller=self.poller)

    # ------------------------------------------------------------------ batch

    def deploy_batch(self, *, source: S3Uri, out: S3Uri, endpoint_name: str = DEFAULT_ENDPOINT) -> str:
        """classifyBatch, its role, and the batch Distributed Map and its role, for ``source`` → ``out``; idempotent.

        Returns the state machine's ARN.
        """
        from scones.backends.aws.iam_policies import batch_role_specs
        from scones.batch import filled_definition
        from scones.workflow_functions import BATCH_FUNCTION

        function_role, machine_role = batch_role_specs(self.scope, source=source, out=out, endpoint_name=endpoint_name)
        function = FunctionSpec(name=self.scope.function_name(BATCH_FUNCTION),
                                package=package_handler(HANDLER_MODULES[BATCH_FUNCTION]),
                                role_arn=self._ensure_role(function_role), environment={"ENDPOINT_NAME": endpoint_name},
                                description="Scones batch: classifies one batch of images from S3")
        with aws_errors(f"deploying the Lambda function {function.name}"):
            function_arn = ensure_function(self.client("lambda"), self.scope, function, poller=self.poller,
                                           log=self.log)
        role_arn = self._ensure_role(machine_role)
        with aws_errors(f"deploying the state machine {self.scope.batch_state_machine_name}"):
            return ensure_state_machine(self.client("stepfunctions"), self.scope,
                                        definition=filled_definition(function_arn), role_arn=role_arn,
                                        poller=self.poller, log=self.log, batch=True)

    def batch(self, source_uri: str, *, out_uri: str | None = None, threshold: float | None = None,
              endpoint_name: str = DEFAULT_ENDPOINT):
        """A real Distributed Map: deploy it (idempotent), run one execution to its end, read its results."""
        threshold = effective_threshold(threshold, self.filter_threshold())
        from scones.batch import BatchFailed, collect_results, execution_input, locations

        source, out = locations(source_uri, out_uri)
        arn = self.deploy_batch(source=source, out=out, endpoint_name=endpoint_name)
        execution = execution_input(source, out, threshold, read_class_names(self.storage, self.bucket))
        name = sdk.unique_name("scones-batch")
        with aws_errors(f"batch execution {name}"):
            outcome = run_execution(self.client("stepfunctions"), arn, execution, name=name, poller=self.poller)
        if outcome.status != "SUCCEEDED":
            raise BatchFailed(f"the batch over {source} failed ({outcome.status}): {outcome.error}: {outcome.cause}")
        details = outcome.output["ResultWriterDetails"]
        return collect_results(self.storage, f"s3://{details['Bucket']}/{details['Key']}", execution["threshold"])

    def cleanup(self, *, dry_run: bool = False, delete_data: bool = False) -> CleanupReport:
        """Delete everything tagged with this project (data only with ``delete_data``); never anything else."""
        with aws_errors("cleaning up"):
            arns = cleanup_steps.merged_arns(
                cleanup_steps.tagged_arns(self.client("resourcegroupstaggingapi"), self.scope),
                cleanup_steps.sagemaker_listed_arns(self.client("sagemaker"), self.scope),
                cleanup_steps.state_machine_listed_arns(self.client("stepfunctions"), self.scope))
            doomed = (cleanup_steps.sagemaker_doomed(self.client("sagemaker"), arns)
                      + cleanup_steps.workflow_doomed(self.client("stepfunctions"), self.client("lambda"), arns)
                      + cleanup_steps.alarm_doomed(self.client("cloudwatch"), self.scope)
                      + cleanup_steps.role_doomed(self.client("iam"), self.scope))
            if delete_data:
                doomed += cleanup_steps.data_doomed(self.storage, self.bucket)
            return cleanup_steps.run_cleanup(doomed, dry_run=dry_run, scope=self.scope, log=self.log)

    def close(self) -> None:
        """Nothing runs locally; clients hold only connection pools."""
        self._clients.clear()
