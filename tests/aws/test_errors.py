"""AWS errors become messages that say what to do."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from .aws_fakes import ACCOUNT, BUCKET, REGION
from scones.backends.aws import AwsBackend
from scones.backends.aws.errors import (
    CREDENTIALS_ADVICE,
    EXPIRED_ADVICE,
    REGION_ADVICE,
    SconesAwsError,
    access_denied_advice,
    advice_for,
    aws_errors,
)
from scones.hyperparameters import Hyperparameters

DENIED = (f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: iam:CreateRole on resource: "
          f"arn:aws:iam::{ACCOUNT}:role/scones/scones-serialize-image-data because no identity-based policy "
          "allows the iam:CreateRole action")
QUOTA = ("The account-level service limit 'ml.p3.2xlarge for training job usage' is 0 Instances, with current "
         "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request "
         "an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an "
         "increase for this quota.")


def raising(code: str, message: str, operation: str, *, times: int | None = None):
    """A before-call handler that fails ``operation`` with ``code`` (the first ``times`` calls, or always)."""
    calls = []

    def handler(**_):
        calls.append(1)
        if times is None or len(calls) <= times:
            raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, operation)

    handler.calls = calls
    return handler


@pytest.fixture
def no_aws_configuration(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_missing_credentials_say_how_to_configure(no_aws_configuration):
    with pytest.raises(SconesAwsError, match="no AWS credentials were found") as caught:
        AwsBackend(region="us-east-1")
    assert caught.value.advice == CREDENTIALS_ADVICE
    assert "aws configure" in str(caught.value) and "AWS_PROFILE" in str(caught.value)


def test_missing_region_says_how_to_choose_one(no_aws_configuration):
    with pytest.raises(SconesAwsError, match="no AWS region is configured") as caught:
        AwsBackend()
    assert caught.value.advice == REGION_ADVICE and "--region" in caught.value.advice


def test_access_denied_names_the_action_and_resource(backend, session):
    session.events.register("before-call.iam.CreateRole", raising("AccessDenied", DENIED, "CreateRole"))
    with pytest.raises(SconesAwsError) as caught:
        backend.deploy_workflow(endpoint_name="scones-endpoint")
    assert caught.value.code == "AccessDenied"
    assert caught.value.message.startswith("creating or updating the IAM role scones-serialize-image-data failed: "
                                           "AccessDenied: User:")
    assert caught.value.advice == (
        f"grant iam:CreateRole on arn:aws:iam::{ACCOUNT}:role/scones/scones-serialize-image-data to "
        f"arn:aws:iam::{ACCOUNT}:user/dev (an IAM policy statement "
        f'{{"Effect": "Allow", "Action": "iam:CreateRole", "Resource": '
        f'"arn:aws:iam::{ACCOUNT}:role/scones/scones-serialize-image-data"}}), then retry')


def test_access_denied_without_details_still_advises():
    assert "lacks a permission" in access_denied_advice("Access Denied")
    assert access_denied_advice("User: x is not authorized to perform: sts:GetCallerIdentity").startswith(
        "grant sts:GetCallerIdentity on * to x")


def test_instance_quota_says_request_an_increase_or_pick_a_smaller_instance(backend, staged_bucket, session, recorder):
    session.events.register("before-call.sagemaker.CreateTrainingJob",
                            raising("ResourceLimitExceeded", QUOTA, "CreateTrainingJob"))
    with pytest.raises(SconesAwsError, match="training job j1 failed: ResourceLimitExceeded") as caught:
        backend.train(hyperparameters=Hyperparameters.course(), job_name="j1")
    advice = caught.value.advice
    assert "'ml.p3.2xlarge for training job usage'" in advice and "Service Quotas" in advice
    assert "smaller instance type than ml.p3.2xlarge" in advice


def test_endpoint_quota_names_the_endpoint_instance(backend, session):
    message = "The account-level service limit 'ml.g4dn.xlarge for endpoint usage' is 0 Instances"
    session.events.register("before-call.sagemaker.CreateEndpoint",
                            raising("ResourceLimitExceeded", message, "CreateEndpoint"))
    with pytest.raises(SconesAwsError) as caught:
        backend.deploy(model_uri=f"s3://{BUCKET}/models/m.tar.gz", endpoint_name="e1", instance_type="ml.g4dn.xlarge")
    assert "'ml.g4dn.xlarge for endpoint usage'" in caught.value.advice
    assert "smaller instance type than ml.g4dn.xlarge" in caught.value.advice


def test_validation_errors_pass_through_with_context(backend, session):
    message = ("1 validation error detected: Value 'ml.m5.huge' at 'productionVariants.1.member.instanceType' "
               "failed to satisfy constraint")
    session.events.register("before-call.sagemaker.CreateEndpointConfig",
                            raising("ValidationException", message, "CreateEndpointConfig"))
    with pytest.raises(SconesAwsError) as caught:
        backend.deploy(model_uri=f"s3://{BUCKET}/models/m.tar.gz", endpoint_name="e1", instance_type="ml.m5.huge")
    assert caught.value.message == f"deploying endpoint e1 failed: ValidationException: {message}"
    assert "fix that value" in caught.value.advice


def test_expired_credentials_via_stubber(backend):
    with Stubber(backend.client("sts")) as stub:
        stub.add_client_error("get_caller_identity", service_error_code="ExpiredToken",
                              service_message="The security token included in the request is expired")
        with pytest.raises(SconesAwsError, match="finding your AWS account") as caught:
            backend.describe()
    assert caught.value.advice == EXPIRED_ADVICE


def test_a_just_created_role_is_retried_until_lambda_can_assume_it(backend, session, fake_clock, recorder):
    not_yet = raising("InvalidParameterValueException",
                      "The role defined for the function cannot be assumed by Lambda.", "CreateFunction", times=2)
    session.events.register("before-call.lambda.CreateFunction", not_yet)
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    assert len(not_yet.calls) == 5  # two refusals, then the three functions
    assert fake_clock.sleeps[:2] == [5.0, 5.0]
    assert len(boto3.client("lambda", region_name=REGION).list_functions()["Functions"]) == 3


def test_other_invalid_parameters_are_not_retried(backend, session, fake_clock):
    too_big = raising("InvalidParameterValueException", "Unzipped size must be smaller", "CreateFunction")
    session.events.register("before-call.lambda.CreateFunction", too_big)
    with pytest.raises(SconesAwsError, match="Unzipped size must be smaller"):
        backend.deploy_workflow(endpoint_name="scones-endpoint")
    assert fake_clock.sleeps == []


@pytest.mark.parametrize(("code", "expected"), [
    ("NoCredentialsError", "aws configure"),
    ("NoRegionError", "--region"),
    ("InvalidClientTokenId", "does not recognise these credentials"),
    ("ThrottlingException", "wait a minute"),
    ("EndpointConnectionError", "network"),
    ("SomethingNew", "AWS's message above"),
])
def test_advice_for_codes(code, expected):
    assert expected in advice_for(code, "message")


def test_botocore_exceptions_become_scones_errors():
    with pytest.raises(SconesAwsError) as caught:
        with aws_errors("listing things"):
            raise botocore.exceptions.NoCredentialsError()
    assert caught.value.code == "NoCredentialsError" and caught.value.advice == CREDENTIALS_ADVICE
    assert str(caught.value).startswith("listing things failed: NoCredentialsError: Unable to locate credentials")
