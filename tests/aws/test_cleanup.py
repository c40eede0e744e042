"""cleanup(): everything tagged scones:project, nothing else; dry runs; idempotence; the hourly cost."""

from __future__ import annotations

import boto3
import pytest

from .aws_fakes import ACCOUNT, BUCKET, REGION, emulate_stop_training_job, sagemaker_backend
from scones.backends.aws.cleanup import arn_resource
from scones.backends.aws.prices import HOURLY_USD, PRICES_AS_OF, hourly_cost
from scones.backends.aws.training import TrainingSettings, training_job_request

MODEL_URI = f"s3://{BUCKET}/models/job-1/output/model.tar.gz"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"


@pytest.fixture
def everything(backend, session):
    """A whole Scones deployment, a running training job, and other people's resources beside it."""
    emulate_stop_training_job(session)
    backend.deploy(model_uri=MODEL_URI, endpoint_name="scones-endpoint")
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    sagemaker = backend.client("sagemaker")
    sagemaker.create_training_job(**training_job_request(
        job_name="scones-running-job", bucket=BUCKET, image_uri=IMAGE,
        role_arn=backend.sagemaker_role_arn(BUCKET), hyperparameters={"epochs": "2"},
        settings=TrainingSettings(), tags=backend.scope.tag_list))
    sagemaker_backend().training_jobs["scones-running-job"].training_job_status = "InProgress"

    iam, lam = boto3.client("iam"), boto3.client("lambda", region_name=REGION)
    theirs = iam.create_role(RoleName="their-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.create_role(RoleName="untagged-under-scones-path", Path="/scones/", AssumeRolePolicyDocument="{}")
    iam.create_role(RoleName="other-project", Path="/scones/", AssumeRolePolicyDocument="{}",
                    Tags=[{"Key": "scones:project", "Value": "someone-else"}])
    lam.create_function(FunctionName="their-function", Runtime="python3.12", Role=theirs, Handler="x.handler",
                        Code={"ZipFile": b"theirs"})
    boto3.client("sagemaker", region_name=REGION).create_model(
        ModelName="their-model", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=theirs)
    return backend


EXPECTED = [
    "training job (stopped) scones-running-job",
    "endpoint scones-endpoint",
    "endpoint config scones-endpoint-config-",
    "model scones-endpoint-model-",
    "state machine scones-workflow",
    "Lambda function classifyImage",
    "Lambda function filterInferences",
    "Lambda function serializeImageData",
    "CloudWatch alarm scones-workflow-failed-executions",
    "IAM role scones-classify-image",
    "IAM role scones-filter-inferences",
    "IAM role scones-sagemaker-execution",
    "IAM role scones-serialize-image-data",
    "IAM role scones-workflow",
]


def matches(deleted: list[str]) -> bool:
    return len(deleted) == len(EXPECTED) and all(line.startswith(start) for line, start in zip(deleted, EXPECTED))


def test_cleanup_deletes_everything_tagged_and_nothing_else(everything, recorder, messages):
    recorder.clear()
    report = everything.cleanup()
    assert matches(report.deleted), report.deleted
    assert report.dry_run is False
    assert report.hourly_cost_usd == pytest.approx(HOURLY_USD["ml.m5.xlarge"] + HOURLY_USD["ml.p3.2xlarge"])
    assert "1 × ml.m5.xlarge at $0.230/h" in report.deleted[1]
    assert recorder.of("StopTrainingJob") == [{"TrainingJobName": "scones-running-job"}]
    assert recorder.of("DeleteRolePolicy") and not recorder.of("DetachRolePolicy")

    state = sagemaker_backend()
    assert not state.endpoints and not state.endpoint_configs and list(state._models) == ["their-model"]
    lam = boto3.client("lambda", region_name=REGION)
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["their-function"]
    assert boto3.client("stepfunctions", region_name=REGION).list_state_machines()["stateMachines"] == []
    roles = sorted(r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"])
    assert roles == ["other-project", "their-role", "untagged-under-scones-path"]
    assert any("would have billed $4.055/h" in m for m in messages)


def test_a_second_cleanup_deletes_nothing_and_says_so(everything, recorder, messages):
    everything.cleanup()
    recorder.clear()
    messages.clear()
    report = everything.cleanup()
    assert report.deleted == [] and report.hourly_cost_usd == 0.0
    assert [op for op in recorder.operations()] == []
    assert messages == ["nothing to delete: no resources tagged scones:project=scones in us-east-1"]


def test_a_dry_run_lists_but_deletes_nothing(everything, recorder):
    recorder.clear()
    report = everything.cleanup(dry_run=True)
    assert report.dry_run is True and matches(report.deleted)
    assert recorder.operations() == []
    assert list(sagemaker_backend().endpoints) == ["scones-endpoint"]
    assert report.hourly_cost_usd == pytest.approx(4.055)


def test_data_goes_only_when_asked_and_only_the_scones_prefixes(backend):
    storage = backend.storage
    storage.ensure_bucket(BUCKET)
    keys = ["train/a.png", "test/b.png", "train.lst", "test.lst", "classes.json", "models/job/output/model.tar.gz",
            "data_capture/scones-endpoint/AllTraffic/2026/11/23/19/00-00-000-x.jsonl", "scones/anything",
            "notes.lst", "other/keep.txt", "other/nested.lst", "readme.txt"]
    for key in keys:
        storage.put(f"s3://{BUCKET}/{key}", b"x")

    assert backend.cleanup().deleted == []
    assert len(list(storage.list(f"s3://{BUCKET}/"))) == len(keys)

    report = backend.cleanup(delete_data=True)
    assert report.deleted == [f"data 8 object(s) under s3://{BUCKET}/ (train/, test/, train.lst, test.lst, "
                              "classes.json, models/, data_capture/, scones/)"]
    remaining = sorted(stored.uri.split("/", 3)[3] for stored in storage.list(f"s3://{BUCKET}/"))
    assert remaining == ["notes.lst", "other/keep.txt", "other/nested.lst", "readme.txt"]  # not Scones's


def test_a_missing_bucket_has_no_data_to_delete(make_backend):
    assert make_backend(bucket="no-such-bucket").cleanup(delete_data=True).deleted == []


def test_a_cleanup_with_another_project_leaves_this_one(everything, make_backend):
    other = make_backend(project="someone-else")
    report = other.cleanup()
    assert report.deleted == ["IAM role other-project"]
    assert list(sagemaker_backend().endpoints) == ["scones-endpoint"]


def test_arn_resource_names():
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/scones-endpoint"
    assert arn_resource(endpoint) == ("endpoint", "scones-endpoint")
    assert arn_resource(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/c-1") == ("endpoint-config", "c-1")
    assert arn_resource(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:classifyImage") == ("function", "classifyImage")
    assert arn_resource(f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:scones-workflow") == (
        "stateMachine", "scones-workflow")


def test_prices():
    assert PRICES_AS_OF and hourly_cost({"ml.m5.xlarge": 2, "ml.p3.2xlarge": 1}) == (round(0.46 + 3.825, 4), [])
    assert hourly_cost({"ml.x9.huge": 1}) == (0.0, ["ml.x9.huge"])


def test_resources_already_being_deleted_are_not_deleted_again(backend):
    backend.deploy(model_uri=MODEL_URI, endpoint_name="scones-endpoint")
    sagemaker_backend().endpoints["scones-endpoint"].endpoint_status = "Deleting"
    kinds = [line.split(" scones")[0] for line in backend.cleanup(dry_run=True).deleted]
    assert kinds == ["endpoint config", "model", "IAM role"]
