"""What makes the aws backend run against emulators, and leaves it as it was on AWS."""

from __future__ import annotations

import os

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.backends.aws import function_environments
from scones.backends.aws.cleanup import merged_arns, sagemaker_listed_arns
from scones.backends.aws.sdk import ConfiguredEndpointsSession
from scones.backends.aws.waiters import Poller, max_poll_seconds
from scones.clients import endpoint_override_variable, endpoint_overrides
from scones.errors import InputError

from .aws_fakes import REGION

OWN_VARIABLES = {"serializeImageData": {}, "classifyImage": {"ENDPOINT_NAME": "scones-endpoint"},
                 "filterInferences": {"THRESHOLD": "0.93"}}


def test_on_aws_the_functions_get_exactly_their_own_variables():
    environ = {"PATH": "/bin", "AWS_REGION": REGION, "AWS_ENDPOINT_URL_": "", "AWS_ENDPOINT_URL": ""}
    assert function_environments("scones-endpoint", 0.93, environ) == OWN_VARIABLES


def test_with_endpoint_overrides_every_function_gets_them_under_its_own_variables():
    environ = {"PATH": "/bin", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
               "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:4567", "AWS_ENDPOINT_URLS": "not one"}
    overrides = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
                 "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:4567"}
    assert function_environments("scones-endpoint", 0.93, environ) == {
        logical: {**overrides, **own} for logical, own in OWN_VARIABLES.items()}


@pytest.mark.parametrize(("service", "variable"), [
    ("s3", "AWS_ENDPOINT_URL_S3"), ("sts", "AWS_ENDPOINT_URL_STS"), ("stepfunctions", "AWS_ENDPOINT_URL_SFN"),
    ("logs", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"), ("sagemaker-runtime", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"),
    ("resourcegroupstaggingapi", "AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API"),
])
def test_override_variables_are_named_as_botocore_reads_them(service, variable, monkeypatch):
    assert endpoint_override_variable(service) == variable
    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    client = boto3.session.Session(region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b").client(service)
    assert client.meta.endpoint_url == "http://127.0.0.1:9"


@given(st.dictionaries(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=30), st.text(max_size=5)))
def test_overrides_are_the_set_endpoint_variables_and_nothing_else(environ):
    overrides = endpoint_overrides(environ)
    assert all(environ[name] == value and value for name, value in overrides.items())
    assert {name for name, value in environ.items() if value and (
        name == "AWS_ENDPOINT_URL" or name.startswith("AWS_ENDPOINT_URL_"))} == set(overrides)


def test_the_sdks_sts_client_goes_where_the_user_points_sts(monkeypatch):
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    sdk_endpoint = f"https://sts.{REGION}.amazonaws.com"
    for name in endpoint_overrides(os.environ):
        monkeypatch.delenv(name)
    assert ConfiguredEndpointsSession(session).client("sts", endpoint_url=sdk_endpoint).meta.endpoint_url == sdk_endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    emulated = ConfiguredEndpointsSession(session).client("sts", region_name=REGION, endpoint_url=sdk_endpoint)
    assert emulated.meta.endpoint_url == "http://127.0.0.1:4566"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4999")
    assert ConfiguredEndpointsSession(session).client("sts", endpoint_url=sdk_endpoint).meta.endpoint_url == \
        "http://127.0.0.1:4999"


def test_the_poll_cap_shortens_every_wait_and_never_lengthens_one():
    slept = []
    poller = Poller(sleep=slept.append, clock=lambda: 0.0, max_interval=0.25)
    answers = iter(["Creating", "Creating", "InService"])
    assert poller.until(lambda: next(answers), lambda status: status == "InService", what="endpoint",
                        interval=30, timeout=60) == "InService"
    poller.pause(0.1)
    assert slept == [0.25, 0.25, 0.1]


@pytest.mark.parametrize(("text", "seconds"), [("", None), ("0.2", 0.2), (" 3 ", 3.0)])
def test_the_poll_cap_is_read_from_the_environment(text, seconds):
    assert max_poll_seconds({"SCONES_AWS_MAX_POLL_SECONDS": text}) == seconds
    assert max_poll_seconds({}) is None


@pytest.mark.parametrize("text", ["fast", "0", "-1", "inf", "nan"])
def test_a_bad_poll_cap_names_the_variable_and_the_fix(text):
    with pytest.raises(InputError, match=r"^SCONES_AWS_MAX_POLL_SECONDS=.* is not a number of seconds: set it to"):
        max_poll_seconds({"SCONES_AWS_MAX_POLL_SECONDS": text})


def test_merged_findings_hold_each_resource_once_whatever_its_arn_case():
    tagging = {"model": ["arn:aws:sagemaker:us-east-1:1:model/scones-model-a"],
               "function": ["arn:aws:lambda:us-east-1:1:function:f"]}
    listed = {"model": ["arn:aws:sagemaker:us-east-1:1:model/Scones-Model-A", "arn:aws:sagemaker:us-east-1:1:model/b"]}
    assert merged_arns(tagging, listed) == {
        "model": ["arn:aws:sagemaker:us-east-1:1:model/scones-model-a", "arn:aws:sagemaker:us-east-1:1:model/b"],
        "function": ["arn:aws:lambda:us-east-1:1:function:f"]}


def test_sagemakers_own_listing_finds_only_this_projects_resources(backend, session):
    sagemaker = backend.client("sagemaker")
    image = {"Image": "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"}
    role = "arn:aws:iam::123456789012:role/x"
    ours = sagemaker.create_model(ModelName="ours", PrimaryContainer=image, ExecutionRoleArn=role,
                                  Tags=backend.scope.tag_list)["ModelArn"]
    sagemaker.create_model(ModelName="theirs", PrimaryContainer=image, ExecutionRoleArn=role)
    sagemaker.create_model(ModelName="other-project", PrimaryContainer=image, ExecutionRoleArn=role,
                           Tags=[{"Key": "scones:project", "Value": "someone-else"}])
    assert sagemaker_listed_arns(sagemaker, backend.scope) == {"model": [ours]}
