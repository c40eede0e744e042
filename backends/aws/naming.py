"""What every AWS resource Scones creates is called, its ARN, and the tag that marks it as Scones's.

Pure on purpose: the IAM policies, the deploy steps, cleanup and
``scones aws policies`` all derive names and ARNs from one :class:`Scope`, so a
policy can never name a function the deploy step called something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scones.errors import InputError
from scones.workflow_functions import BATCH_FUNCTION, BATCH_MACHINE_NAME, FUNCTIONS, WORKFLOW_NAME

# Every resource Scones creates carries this tag; cleanup deletes nothing without it.
PROJECT_TAG = "scones:project"
DEFAULT_PROJECT = "scones"

SAGEMAKER_ROLE = "sagemaker-execution"
WORKFLOW_ROLE = "workflow"
# IAM path of Scones's roles: cleanup lists this path only.
ROLE_PATH = "/scones/"

# SageMaker resource names: 1-63 letters, digits and hyphens, no leading/trailing hyphen.
_SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_ECR_IMAGE = re.compile(r"(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
                        r"/(?P<repository>[^:@]+)")


def kebab(name: str) -> str:
    """``serializeImageData`` → ``serialize-image-data`` (role names read better in kebab case)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def check_sagemaker_name(name: str, what: str) -> str:
    if not _SAGEMAKER_NAME.fullmatch(name):
        raise InputError(f"{what} {name!r} is not a valid SageMaker name: 1-63 letters, digits and hyphens, "
                         "starting and ending with a letter or digit")
    return name


def ecr_repository_arn(image_uri: str, partition: str = "aws") -> str:
    """The ECR repository an image URI points at (``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG``)."""
    match = _ECR_IMAGE.match(image_uri)
    if match is None:
        raise InputError(f"{image_uri!r} is not an ECR image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG)")
    return f"arn:{partition}:ecr:{match['region']}:{match['registry']}:repository/{match['repository']}"


@dataclass(frozen=True)
class Scope:
    """One Scones deployment: account, region, project tag value and the prefix of every name."""

    region: str
    account: str
    partition: str = "aws"
    project: str = DEFAULT_PROJECT
    prefix: str = ""

    # ------------------------------------------------------------------ names

    def function_name(self, logical: str) -> str:
        if logical not in FUNCTIONS and logical != BATCH_FUNCTION:
            raise InputError(f"unknown function {logical!r}; Scones deploys {', '.join([*FUNCTIONS, BATCH_FUNCTION])}")
        return f"{self.prefix}{logical}"

    def role_name(self, purpose: str) -> str:
        """``scones-<purpose>``; purposes are the function names, sagemaker-execution and workflow."""
        name = f"{self.prefix}scones-{kebab(purpose)}"
        if len(name) > 64:
            raise InputError(f"role name {name!r} is longer than IAM's 64 characters; shorten the prefix")
        return name

    @property
    def state_machine_name(self) -> str:
        return f"{self.prefix}{WORKFLOW_NAME}"

    @property
    def batch_state_machine_name(self) -> str:
        return f"{self.prefix}{BATCH_MACHINE_NAME}"

    # ------------------------------------------------------------------- ARNs

    def function_arn(self, logical: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.function_name(logical)}"

    def function_log_group_arn(self, logical: str) -> str:
        return (f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:"
                f"/aws/lambda/{self.function_name(logical)}")

    def sagemaker_log_groups_arn(self) -> str:
        """Every ``/aws/sagemaker/...`` log group: TrainingJobs and Endpoints/NAME."""
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws/sagemaker/*"

    def endpoint_arn(self, endpoint_name: str) -> str:
        # SageMaker lower-cases resource names in its ARNs, and IAM compares ARNs case-sensitively.
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:endpoint/{endpoint_name.lower()}"

    def role_arn(self, purpose: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{ROLE_PATH}{self.role_name(purpose)}"

    @property
    def state_machine_arn(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{self.state_machine_name}"

    @property
    def batch_state_machine_arn(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{self.batch_state_machine_name}"

    @property
    def batch_executions_arn(self) -> str:
        """The batch machine's executions, its Distributed Map's child executions among them."""
        return f"arn:{self.partition}:states:{self.region}:{self.account}:execution:{self.batch_state_machine_name}*"

    @property
    def state_machine_arn_pattern(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:*"

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def object_arn(self, bucket: str, key_pattern: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}/{key_pattern}"

    # ------------------------------------------------------------------- tags

    @property
    def tag_list(self) -> list[dict]:
        """``[{"Key": ..., "Value": ...}]``: SageMaker and IAM."""
        return [{"Key": PROJECT_TAG, "Value": self.project}]

    @property
    def tag_map(self) -> dict:
        """``{key: value}``: Lambda."""
        return {PROJECT_TAG: self.project}

    @property
    def tag_list_lower(self) -> list[dict]:
        """``[{"key": ..., "value": ...}]``: Step Functions."""
        return [{"key": PROJECT_TAG, "value": self.project}]

    def owns(self, tags: dict) -> bool:
        return tags.get(PROJECT_TAG) == self.project
