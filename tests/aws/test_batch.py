"""`scones batch` on AWS: the Distributed Map, its function and its two roles, as requests (moto's mocks),
and the Lambda handler against moto's S3 with an endpoint that refuses one image."""

from __future__ import annotations

import io
import json

import boto3
import botocore.exceptions

from scones.backends.aws.lambda_packaging import package_handler
from scones.batch import filled_definition
from scones.s3_uri import S3Uri

from .aws_fakes import ACCOUNT, BUCKET, REGION

FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:classifyBatch"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:scones-batch"


def deploy(backend):
    return backend.deploy_batch(source=S3Uri(BUCKET, "incoming/"), out=S3Uri("results-bucket", "runs/"),
                                endpoint_name="scones-endpoint")


def test_the_batch_machine_is_a_distributed_map_calling_its_function(backend, recorder):
    arn = deploy(backend)
    assert arn == MACHINE
    (machine,) = recorder.of("CreateStateMachine")
    assert json.loads(machine["definition"]) == filled_definition(FUNCTION)
    spec = json.loads(machine["definition"])["States"]["classifyImages"]
    assert spec["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert (machine["name"], machine["roleArn"]) == ("scones-batch", f"arn:aws:iam::{ACCOUNT}:role/scones/scones-batch")
    (function,) = recorder.of("CreateFunction")
    assert (function["FunctionName"], function["Handler"], function["Environment"]) == (
        "classifyBatch", "scones/lambdas/classify_batch.lambda_handler",
        {"Variables": {"ENDPOINT_NAME": "scones-endpoint"}})
    assert function["Code"]["ZipFile"] == package_handler("classify_batch").zip_bytes
    assert machine["tags"] == [{"key": "scones:project", "value": "scones"}]


def test_the_roles_grant_exactly_what_the_distributed_map_does(backend, recorder):
    deploy(backend)
    policies = {call["RoleName"]: json.loads(call["PolicyDocument"]) for call in recorder.of("PutRolePolicy")}
    machine = {statement["Sid"]: statement for statement in policies["scones-batch"]["Statement"]}
    assert machine["RunChildExecutions"] == {"Sid": "RunChildExecutions", "Effect": "Allow",
                                             "Action": "states:StartExecution", "Resource": MACHINE}
    assert machine["WatchChildExecutions"]["Resource"] == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:scones-batch*"
    assert machine["InvokeClassifyBatch"]["Resource"] == [FUNCTION, f"{FUNCTION}:*"]
    assert machine["ListSource"] == {"Sid": "ListSource", "Effect": "Allow", "Action": "s3:ListBucket",
                                     "Resource": f"arn:aws:s3:::{BUCKET}",
                                     "Condition": {"StringLike": {"s3:prefix": ["incoming/*"]}}}
    assert machine["WriteResults"]["Resource"] == "arn:aws:s3:::results-bucket/runs/*"
    assert "s3:PutObject" in machine["WriteResults"]["Action"]
    function = {statement["Sid"]: statement for statement in policies["scones-classify-batch"]["Statement"]}
    assert function["ReadImages"] == {"Sid": "ReadImages", "Effect": "Allow", "Action": "s3:GetObject",
                                      "Resource": f"arn:aws:s3:::{BUCKET}/incoming/*"}
    assert function["InvokeEndpoint"]["Resource"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/scones-endpoint"


def test_deploying_twice_changes_nothing(backend, recorder):
    deploy(backend)
    recorder.clear()
    deploy(backend)
    assert recorder.operations() == []


class RefusingRuntime:
    """An endpoint that answers [0.1, 0.9] and refuses bodies that are not PNGs, as SageMaker's ModelError."""

    def invoke_endpoint(self, *, EndpointName, ContentType, Body):
        if not Body.startswith(b"\x89PNG"):
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ModelError", "Message": "Received client error (415)"}}, "InvokeEndpoint")
        return {"Body": io.BytesIO(b"[0.1, 0.9]")}


def test_the_handler_reads_s3_and_fails_only_the_bad_objects(mocked_aws, monkeypatch):
    from scones.lambdas import classify_batch

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/a.png", Body=b"\x89PNG fake")
    s3.put_object(Bucket=BUCKET, Key="in/b.txt", Body=b"text")
    clients = {"s3": s3, "sagemaker-runtime": RefusingRuntime()}
    monkeypatch.setattr(classify_batch, "client", clients.__getitem__)
    monkeypatch.setenv("ENDPOINT_NAME", "scones-endpoint")
    event = {"BatchInput": {"bucket": BUCKET, "threshold": 0.8, "class_names": ["bicycle", "motorcycle"]},
             "Items": [{"Key": "in/a.png"}, {"Key": "in/b.txt"}, {"Key": "in/gone.png"}]}
    result = classify_batch.lambda_handler(event, None)
    assert result["records"] == [{"key": "in/a.png", "class_name": "motorcycle", "confidence": 0.9, "passed": True}]
    assert [(f["key"], f["error"]) for f in result["failures"]] == [("in/gone.png", "NoSuchKey"),
                                                                   ("in/b.txt", "ModelError")]
