"""deploy_workflow(): functions, roles and the state machine, exact and idempotent."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import zipfile

import boto3
import pytest

import scones.backends.aws as aws_backend
from .aws_fakes import ACCOUNT, BUCKET, REGION
from scones.backends.aws.errors import SconesAwsError
from scones.backends.aws.lambda_packaging import package_handler
from scones.workflow import workflow_definition

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/scones/{{}}"
TAGS_MAP = {"scones:project": "scones"}


def expected_definition(prefix: str = "") -> dict:
    """The repository's definition with each task's FunctionName set to the real ARN, by hand."""
    definition = json.load(open("asl/scones_workflow.asl.json"))
    for state in ("serializeImageData", "classifyImage", "filterInferences"):
        definition["States"][state]["Parameters"]["FunctionName"] = FUNCTION_ARN.format(prefix + state)
    return definition


def test_functions_are_created_with_their_package_role_and_environment(backend, recorder):
    backend.deploy_workflow(endpoint_name="scones-endpoint", threshold=0.93)
    created = {call["FunctionName"]: call for call in recorder.of("CreateFunction")}
    assert sorted(created) == ["classifyImage", "filterInferences", "serializeImageData"]
    environments = {"serializeImageData": {}, "classifyImage": {"ENDPOINT_NAME": "scones-endpoint"},
                    "filterInferences": {"THRESHOLD": "0.93"}}
    modules = {"serializeImageData": "serialize_image_data", "classifyImage": "classify_image",
               "filterInferences": "filter_inferences"}
    roles = {"serializeImageData": "scones-serialize-image-data", "classifyImage": "scones-classify-image",
             "filterInferences": "scones-filter-inferences"}
    for name, call in created.items():
        package = package_handler(modules[name])
        assert call == {
            "FunctionName": name, "Runtime": "python3.13", "Handler": f"scones/lambdas/{modules[name]}.lambda_handler",
            "Role": ROLE_ARN.format(roles[name]), "MemorySize": 256, "Timeout": 30,
            "Description": f"Scones Unlimited workflow: {name}", "Environment": {"Variables": environments[name]},
            "Code": {"ZipFile": package.zip_bytes}, "Architectures": ["arm64"], "Tags": TAGS_MAP,
        }


def test_the_state_machine_gets_the_definition_with_real_arns(backend, recorder):
    info = backend.deploy_workflow(endpoint_name="scones-endpoint")
    (created,) = recorder.of("CreateStateMachine")
    assert json.loads(created["definition"]) == expected_definition()
    assert "${" not in created["definition"]
    assert created["name"] == "scones-workflow" and created["type"] == "STANDARD"
    assert created["roleArn"] == ROLE_ARN.format("scones-workflow")
    assert created["tags"] == [{"key": "scones:project", "value": "scones"}]
    assert info.state_machine == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:scones-workflow"
    assert info.functions == {name: FUNCTION_ARN.format(name)
                              for name in ("serializeImageData", "classifyImage", "filterInferences")}
    assert info.definition == expected_definition()


def test_the_roles_get_exactly_the_generated_policies(backend, recorder):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    policies = {call["RoleName"]: json.loads(call["PolicyDocument"]) for call in recorder.of("PutRolePolicy")}
    assert sorted(policies) == ["scones-classify-image", "scones-filter-inferences", "scones-serialize-image-data",
                                "scones-workflow"]
    assert policies["scones-classify-image"] == {"Version": "2012-10-17", "Statement": [
        {"Sid": "InvokeEndpoint", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
         "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/scones-endpoint"},
        {"Sid": "WriteOwnLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/classifyImage",
                      f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/classifyImage:*"]},
    ]}
    assert policies["scones-workflow"] == {"Version": "2012-10-17", "Statement": [
        {"Sid": "InvokeWorkflowFunctions", "Effect": "Allow", "Action": "lambda:InvokeFunction",
         "Resource": [arn for name in ("serializeImageData", "classifyImage", "filterInferences")
                      for arn in (FUNCTION_ARN.format(name), FUNCTION_ARN.format(name) + ":*")]},
    ]}
    created = {call["RoleName"]: call for call in recorder.of("CreateRole")}
    assert all(call["Path"] == "/scones/" and call["Tags"] == [{"Key": "scones:project", "Value": "scones"}]
               for call in created.values())
    assert json.loads(created["scones-workflow"]["AssumeRolePolicyDocument"]) == {
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                          "ArnLike": {"aws:SourceArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:*"}}}]}
    assert recorder.of("AttachRolePolicy") == []  # no managed (full-access) policies, ever


def test_deploying_twice_changes_nothing(backend, recorder):
    first = backend.deploy_workflow(endpoint_name="scones-endpoint")
    recorder.clear()
    second = backend.deploy_workflow(endpoint_name="scones-endpoint")
    assert recorder.operations() == []
    assert second == first
    assert len(boto3.client("lambda", region_name=REGION).list_functions()["Functions"]) == 3
    assert len(boto3.client("stepfunctions", region_name=REGION).list_state_machines()["stateMachines"]) == 1
    assert len(boto3.client("iam").list_roles(PathPrefix="/scones/")["Roles"]) == 4


def changed_package(original):
    """The same package with one more file, so its SHA-256 differs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original.zip_bytes)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("scones/CHANGED", b"1")
    return dataclasses.replace(original, zip_bytes=buffer.getvalue())


def test_changed_code_updates_only_that_function(backend, recorder, monkeypatch):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    recorder.clear()

    def package(module):
        original = package_handler(module)
        return changed_package(original) if module == "classify_image" else original

    monkeypatch.setattr(aws_backend, "package_handler", package)
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    assert recorder.operations() == ["lambda:UpdateFunctionCode"]
    assert recorder.of("UpdateFunctionCode")[0]["FunctionName"] == "classifyImage"


def test_a_new_threshold_updates_only_the_filters_configuration(backend, recorder):
    backend.deploy_workflow(endpoint_name="scones-endpoint", threshold=0.93)
    recorder.clear()
    backend.deploy_workflow(endpoint_name="scones-endpoint", threshold=0.8)
    assert recorder.operations() == ["lambda:UpdateFunctionConfiguration"]
    (update,) = recorder.of("UpdateFunctionConfiguration")
    assert update["FunctionName"] == "filterInferences"
    assert update["Environment"] == {"Variables": {"THRESHOLD": "0.8"}}


def test_a_new_endpoint_updates_the_classify_role_and_environment(backend, recorder):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    recorder.clear()
    backend.deploy_workflow(endpoint_name="other-endpoint")
    assert recorder.operations() == ["iam:PutRolePolicy", "lambda:UpdateFunctionConfiguration"]
    (policy,) = recorder.of("PutRolePolicy")
    assert policy["RoleName"] == "scones-classify-image"
    assert json.loads(policy["PolicyDocument"])["Statement"][0]["Resource"].endswith(":endpoint/other-endpoint")


def test_a_changed_definition_updates_the_state_machine(backend, recorder, monkeypatch):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    recorder.clear()
    edited = copy.deepcopy(workflow_definition())
    edited["Comment"] = "edited"
    monkeypatch.setattr(aws_backend, "workflow_definition", lambda: edited)
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    assert recorder.operations() == ["sfn:UpdateStateMachine"]
    assert json.loads(recorder.of("UpdateStateMachine")[0]["definition"])["Comment"] == "edited"


def test_an_untagged_function_of_the_same_name_is_refused(backend, recorder):
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="theirs", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="classifyImage", Runtime="python3.12", Role=role, Handler="x.handler",
        Code={"ZipFile": b"not ours"})
    with pytest.raises(SconesAwsError, match="classifyImage exists but is not tagged") as caught:
        backend.deploy_workflow(endpoint_name="scones-endpoint")
    assert "--name-prefix" in caught.value.advice
    assert recorder.of("UpdateFunctionCode") == [] and recorder.of("UpdateFunctionConfiguration") == []


def test_a_name_prefix_names_everything(make_backend, recorder):
    info = make_backend(name_prefix="dev-").deploy_workflow(endpoint_name="scones-endpoint")
    assert sorted(c["FunctionName"] for c in recorder.of("CreateFunction")) == [
        "dev-classifyImage", "dev-filterInferences", "dev-serializeImageData"]
    assert sorted(c["RoleName"] for c in recorder.of("CreateRole")) == [
        "dev-scones-classify-image", "dev-scones-filter-inferences", "dev-scones-serialize-image-data",
        "dev-scones-workflow"]
    assert info.definition == expected_definition("dev-")
    assert info.state_machine.endswith(":stateMachine:dev-scones-workflow")


def test_image_prefixes_widen_only_the_serialize_policy(make_backend, recorder):
    make_backend(image_prefixes=("test/", "incoming/")).deploy_workflow(endpoint_name="e")
    policy = next(json.loads(c["PolicyDocument"]) for c in recorder.of("PutRolePolicy")
                  if c["RoleName"] == "scones-serialize-image-data")
    assert policy["Statement"][0] == {"Sid": "ReadImages", "Effect": "Allow", "Action": "s3:GetObject",
                                      "Resource": [f"arn:aws:s3:::{BUCKET}/test/*",
                                                   f"arn:aws:s3:::{BUCKET}/incoming/*"]}


def test_a_users_own_definition_is_refused_before_anything_is_deployed(backend, recorder):
    from scones.errors import InputError

    with pytest.raises(InputError, match="--definition runs your own state machine on the local backend"):
        backend.deploy_workflow(definition=workflow_definition())
    assert recorder.operations() == []
