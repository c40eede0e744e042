"""Least-privilege IAM policy documents for Scones's roles, generated from names and ARNs.

The course attached AmazonSageMakerFullAccess, AmazonS3FullAccess and
AWSLambda_FullAccess; these grant only what each piece does:

- serializeImageData reads ``s3://BUCKET/test/*`` (and any prefixes configured);
- classifyImage invokes one endpoint;
- filterInferences only writes its own logs;
- the state machine invokes those three functions;
- ``scones batch``'s function reads the source prefix and invokes the endpoint, and its
  state machine lists the source prefix, starts its own child executions, invokes
  that function and writes the results under the output prefix;
- SageMaker reads the staged channels and the models, writes models and captures,
  pulls the algorithm's image, and writes its own logs and metrics.

Pure: a :class:`~scones.backends.aws.naming.Scope` and a few names in, JSON-ready
dicts out, so ``scones aws policies`` prints exactly what the deploy steps put.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from scones import bucket_layout as layout
from scones.backends.aws.naming import SAGEMAKER_ROLE, WORKFLOW_ROLE, Scope
from scones.s3_uri import S3Uri
from scones.workflow_functions import BATCH_FUNCTION, FUNCTIONS

VERSION = "2012-10-17"
# What SageMaker reads and writes in the bucket (the layout staging and training use).
TRAINING_INPUTS = tuple(key + "*" if key.endswith("/") else key for _, key in layout.TRAINING_CHANNELS)
MODELS = layout.MODELS_PREFIX + "*"
CAPTURES = layout.CAPTURE_PREFIX + "/*"
DEFAULT_IMAGE_PREFIXES = layout.WORKFLOW_IMAGE_PREFIXES
# Pulling a private ECR image: the token is account-wide (Resource "*" is the only form it takes).
ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
LOG_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def document(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


def trust_policy(service: str, *, source_account: str | None = None, source_arn: str | None = None) -> dict:
    """Who may assume the role: one service principal, optionally only on behalf of this account.

    ``aws:SourceAccount``/``aws:SourceArn`` guard against the confused-deputy
    problem for services that set them when assuming a role (SageMaker, Step Functions).
    """
    statement: dict = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    conditions: dict = {}
    if source_account:
        conditions["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn}
    if conditions:
        statement["Condition"] = conditions
    return document(statement)


def function_logs_statement(scope: Scope, logical: str) -> dict:
    """A function may write only to its own log group ``/aws/lambda/NAME``."""
    group = scope.function_log_group_arn(logical)
    return {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": LOG_WRITE, "Resource": [group, f"{group}:*"]}


def serialize_function_policy(scope: Scope, bucket: str,
                              image_prefixes: Sequence[str] = DEFAULT_IMAGE_PREFIXES) -> dict:
    return document(
        {"Sid": "ReadImages", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [scope.object_arn(bucket, f"{prefix.strip('/')}/*") for prefix in image_prefixes]},
        function_logs_statement(scope, "serializeImageData"),
    )


def classify_function_policy(scope: Scope, endpoint_name: str) -> dict:
    return document(
        {"Sid": "InvokeEndpoint", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
         "Resource": scope.endpoint_arn(endpoint_name)},
        function_logs_statement(scope, "classifyImage"),
    )


def filter_function_policy(scope: Scope) -> dict:
    return document(function_logs_statement(scope, "filterInferences"))


def workflow_policy(scope: Scope) -> dict:
    """The state machine may invoke the three functions (and their versions and aliases)."""
    arns = [scope.function_arn(logical) for logical in FUNCTIONS]
    return document({"Sid": "InvokeWorkflowFunctions", "Effect": "Allow", "Action": "lambda:InvokeFunction",
                     "Resource": [arn for function_arn in arns for arn in (function_arn, f"{function_arn}:*")]})


def sagemaker_execution_policy(scope: Scope, bucket: str, image_repository_arn: str) -> dict:
    """Training (read channels, write models) and hosting (read models, write captures)."""
    readable = [*TRAINING_INPUTS, MODELS]
    return document(
        {"Sid": "ReadChannelsAndModels", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [scope.object_arn(bucket, key) for key in readable]},
        {"Sid": "WriteModelsAndCaptures", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": [scope.object_arn(bucket, MODELS), scope.object_arn(bucket, CAPTURES)]},
        {"Sid": "ListChannelsAndModels", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": scope.bucket_arn(bucket),
         "Condition": {"StringLike": {"s3:prefix": readable}}},
        {"Sid": "PullAlgorithmImage", "Effect": "Allow", "Action": ECR_PULL, "Resource": image_repository_arn},
        {"Sid": "EcrToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "WriteSageMakerLogs", "Effect": "Allow", "Action": [*LOG_WRITE, "logs:DescribeLogStreams"],
         "Resource": [scope.sagemaker_log_groups_arn(), f"{scope.sagemaker_log_groups_arn()}:log-stream:*"]},
        {"Sid": "PutSageMakerMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}},
    )


BATCH_ROLE = "batch"


def _prefix_pattern(location: S3Uri) -> str:
    return f"{location.key.strip('/')}/*" if location.key.strip("/") else "*"


def batch_function_policy(scope: Scope, source: S3Uri, endpoint_name: str) -> dict:
    """classifyBatch reads the images under the source prefix and invokes one endpoint."""
    return document(
        {"Sid": "ReadImages", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": scope.object_arn(source.bucket, _prefix_pattern(source))},
        {"Sid": "InvokeEndpoint", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
         "Resource": scope.endpoint_arn(endpoint_name)},
        function_logs_statement(scope, BATCH_FUNCTION),
    )


def batch_machine_policy(scope: Scope, source: S3Uri, out: S3Uri) -> dict:
    """The Distributed Map: list the source, run its children, invoke classifyBatch, write the results."""
    function = scope.function_arn(BATCH_FUNCTION)
    return document(
        {"Sid": "RunChildExecutions", "Effect": "Allow", "Action": "states:StartExecution",
         "Resource": scope.batch_state_machine_arn},
        {"Sid": "WatchChildExecutions", "Effect": "Allow",
         "Action": ["states:DescribeExecution", "states:StopExecution"],
         "Resource": scope.batch_executions_arn},
        {"Sid": "InvokeClassifyBatch", "Effect": "Allow", "Action": "lambda:InvokeFunction",
         "Resource": [function, f"{function}:*"]},
        {"Sid": "ListSource", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": scope.bucket_arn(source.bucket),
         "Condition": {"StringLike": {"s3:prefix": [source.key + "*"]}}},
        {"Sid": "WriteResults", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
         "Resource": scope.object_arn(out.bucket, _prefix_pattern(out))},
    )


@dataclass(frozen=True)
class RoleSpec:
    """One role Scones creates: its name, who may assume it, and its one inline policy."""

    purpose: str
    name: str
    trust: dict
    policy: dict
    description: str


def lambda_role_specs(scope: Scope, *, bucket: str, endpoint_name: str,
                      image_prefixes: Sequence[str] = DEFAULT_IMAGE_PREFIXES) -> list[RoleSpec]:
    lambda_trust = trust_policy("lambda.amazonaws.com")
    policies = {
        "serializeImageData": serialize_function_policy(scope, bucket, image_prefixes),
        "classifyImage": classify_function_policy(scope, endpoint_name),
        "filterInferences": filter_function_policy(scope),
    }
    return [RoleSpec(logical, scope.role_name(logical), lambda_trust, policy,
                     f"Scones: runs the {logical} Lambda function")
            for logical, policy in policies.items()]


def workflow_role_spec(scope: Scope) -> RoleSpec:
    trust = trust_policy("states.amazonaws.com", source_account=scope.account,
                         source_arn=scope.state_machine_arn_pattern)
    return RoleSpec(WORKFLOW_ROLE, scope.role_name(WORKFLOW_ROLE), trust, workflow_policy(scope),
                    "Scones: the Step Functions workflow invokes its three functions")


def sagemaker_role_spec(scope: Scope, *, bucket: str, image_repository_arn: str) -> RoleSpec:
    trust = trust_policy("sagemaker.amazonaws.com", source_account=scope.account)
    return RoleSpec(SAGEMAKER_ROLE, scope.role_name(SAGEMAKER_ROLE), trust,
                    sagemaker_execution_policy(scope, bucket, image_repository_arn),
                    "Scones: SageMaker trains the image classifier and hosts its endpoint")


def all_role_specs(scope: Scope, *, bucket: str, endpoint_name: str, image_repository_arn: str,
                   image_prefixes: Sequence[str] = DEFAULT_IMAGE_PREFIXES) -> list[RoleSpec]:
    """Every role of a Scones deployment, in the order the steps create them."""
    return [sagemaker_role_spec(scope, bucket=bucket, image_repository_arn=image_repository_arn),
            *lambda_role_specs(scope, bucket=bucket, endpoint_name=endpoint_name, image_prefixes=image_prefixes),
            workflow_role_spec(scope)]


def batch_role_specs(scope: Scope, *, source: S3Uri, out: S3Uri, endpoint_name: str) -> tuple[RoleSpec, RoleSpec]:
    """(classifyBatch's role, the batch state machine's role)."""
    function = RoleSpec(BATCH_FUNCTION, scope.role_name(BATCH_FUNCTION), trust_policy("lambda.amazonaws.com"),
                        batch_function_policy(scope, source, endpoint_name),
                        f"Scones: runs the {BATCH_FUNCTION} Lambda function of scones batch")
    machine = RoleSpec(BATCH_ROLE, scope.role_name(BATCH_ROLE),
                       trust_policy("states.amazonaws.com", source_account=scope.account,
                                    source_arn=scope.state_machine_arn_pattern),
                       batch_machine_policy(scope, source, out),
                       "Scones: the scones batch Distributed Map lists, classifies and writes results")
    return function, machine
