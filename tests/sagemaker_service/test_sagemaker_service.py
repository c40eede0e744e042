"""boto3's sagemaker and sagemaker-runtime clients against `scones up`'s local SageMaker over HTTP."""

from __future__ import annotations

import json
import re
import threading

import botocore.exceptions
import numpy as np
import pytest

from scones import bucket_layout as layout
from scones.backends.aws.training import TrainingSettings, training_job_request
from scones.backends.aws.waiters import Poller
from scones.backends.local.predictor import Predictor
from scones.backends.local.sagemaker_service import check_algorithm_image, model_artifact_uri
from scones.capture import CaptureConfig, parse_record
from scones.images import encode_png

from tests.training.synthetic_data import stage_synthetic, synthetic_image, tiny_hyperparameters

IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
ROLE = "arn:aws:iam::000000000000:role/scones"
DEADLINE_SECONDS = 120


@pytest.fixture(scope="module")
def staged(server_storage):
    bucket = "scones-sagemaker-service"
    server_storage.ensure_bucket(bucket)
    stage_synthetic(server_storage, bucket)
    return bucket


def wait(probe, done, what):
    """Poll the server until ``done``; the waits are the local threads' work, bounded."""
    return Poller(sleep=lambda _: threading.Event().wait(0.1)).until(
        probe, done, what=what, interval=0.1, timeout=DEADLINE_SECONDS)


def job_request(bucket, name, **hyperparameters):
    hp = tiny_hyperparameters().to_sagemaker() | hyperparameters
    return training_job_request(job_name=name, bucket=bucket, image_uri=IMAGE, role_arn=ROLE, hyperparameters=hp,
                                settings=TrainingSettings(instance_type="ml.m5.large"),
                                tags=[{"Key": "scones:project", "Value": "test"}])


def finished(sagemaker, name):
    return wait(lambda: sagemaker.describe_training_job(TrainingJobName=name),
                lambda d: d["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"), f"job {name}")


@pytest.fixture(scope="module")
def trained(sagemaker, staged):
    sagemaker.create_training_job(**job_request(staged, "tiny-job"))
    return finished(sagemaker, "tiny-job")


def error_of(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_a_training_job_trains_and_writes_the_algorithms_artifact(trained, staged, server_storage):
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    model_uri = f"s3://{staged}/models/tiny-job/output/model.tar.gz"
    assert trained["ModelArtifacts"]["S3ModelArtifacts"] == model_uri
    assert [t["Status"] for t in trained["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert trained["HyperParameters"]["num_layers"] == "20"
    assert {m["MetricName"] for m in trained["FinalMetricDataList"]} == {"validation:accuracy", "train:accuracy"}
    predictor = Predictor.from_artifact(server_storage.get(model_uri))
    probabilities = predictor.predict([encode_png(synthetic_image(0, np.random.RandomState(1)))])
    assert len(probabilities[0]) == 2 and abs(sum(probabilities[0]) - 1) < 1e-5


def test_a_job_name_is_used_once(sagemaker, trained, staged):
    code, message = error_of(sagemaker.create_training_job, **job_request(staged, "tiny-job"))
    assert code == "ResourceInUse" and "arn:aws:sagemaker:us-east-1:000000000000:training-job/tiny-job" in message


def test_bad_hyperparameters_fail_the_job_with_a_client_error(sagemaker, staged):
    sagemaker.create_training_job(**job_request(staged, "bad-layers", num_layers="21"))
    description = finished(sagemaker, "bad-layers")
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith("ClientError: num_layers")
    assert "ModelArtifacts" not in description


def test_scones_local_settings_are_unknown_to_the_algorithm_and_fail_the_job(sagemaker, staged):
    sagemaker.create_training_job(**job_request(staged, "local-setting", label_smoothing="0.1"))
    description = finished(sagemaker, "local-setting")
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith(
        "ClientError: unknown hyperparameter(s) label_smoothing; the image-classification algorithm takes: ")
    assert "Scones" not in description["FailureReason"]


def test_missing_channels_fail_the_job_naming_the_object(sagemaker, server_storage):
    server_storage.ensure_bucket("scones-sagemaker-empty")
    sagemaker.create_training_job(**job_request("scones-sagemaker-empty", "no-data"))
    description = finished(sagemaker, "no-data")
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith("ClientError: ") and "train.lst" in description["FailureReason"]


def test_a_stopped_job_stops_at_the_next_epoch(sagemaker, staged, server_storage):
    sagemaker.create_training_job(**job_request(staged, "stopped-job", epochs="50"))
    sagemaker.stop_training_job(TrainingJobName="stopped-job")
    description = finished(sagemaker, "stopped-job")
    assert description["TrainingJobStatus"] == "Stopped"
    assert not server_storage.exists(model_artifact_uri(layout.training_output_uri(staged), "stopped-job"))
    code, message = error_of(sagemaker.stop_training_job, TrainingJobName="stopped-job")
    assert code == "ValidationException" and "Stopped" in message


def test_max_runtime_stops_the_job_with_the_reason(sagemaker, staged):
    request = job_request(staged, "short-job", epochs="50")
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    sagemaker.create_training_job(**request)
    description = finished(sagemaker, "short-job")
    assert description["TrainingJobStatus"] == "Stopped"
    assert "MaxRuntimeExceeded" in description["FailureReason"]


def test_only_the_image_classification_image_runs(sagemaker, staged):
    request = job_request(staged, "other-image")
    request["AlgorithmSpecification"]["TrainingImage"] = "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
    code, message = error_of(sagemaker.create_training_job, **request)
    assert code == "ValidationException" and "xgboost" in message and "image-classification" in message
    code, _ = error_of(sagemaker.describe_training_job, TrainingJobName="other-image")
    assert code == "ValidationException"


@pytest.mark.parametrize("image", [IMAGE, "433757028032.dkr.ecr.us-west-2.amazonaws.com/image-classification:latest",
                                   "390048526115.dkr.ecr.cn-north-1.amazonaws.com.cn/image-classification:1"])
def test_every_regions_algorithm_image_is_accepted(image):
    check_algorithm_image(image)


def test_missing_resources_give_sagemakers_errors(sagemaker):
    assert error_of(sagemaker.describe_training_job, TrainingJobName="nope") == (
        "ValidationException", "Requested resource not found.")
    assert error_of(sagemaker.describe_endpoint, EndpointName="nope") == (
        "ValidationException", 'Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/nope".')
    assert error_of(sagemaker.describe_model, ModelName="Nope") == (
        "ValidationException", 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/nope".')
    assert error_of(sagemaker.describe_endpoint_config, EndpointConfigName="nope")[1].startswith(
        "Could not find endpoint configuration")


def test_a_request_botocore_refuses_is_a_validation_error(url):
    import urllib.request

    request = urllib.request.Request(url + "/", data=b'{"EndpointName": 5}', method="POST", headers={
        "X-Amz-Target": "SageMaker.DescribeEndpoint", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    body = json.loads(caught.value.read())
    assert caught.value.code == 400 and body["__type"] == "ValidationException" and "EndpointName" in body["message"]


def test_an_endpoint_serves_invocations_with_data_capture(sagemaker, runtime, trained, staged, server_storage):
    model_uri = trained["ModelArtifacts"]["S3ModelArtifacts"]
    tags = [{"Key": "scones:project", "Value": "test"}]
    sagemaker.create_model(ModelName="Tiny-Model", ExecutionRoleArn=ROLE, Tags=tags,
                           PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_uri})
    capture = CaptureConfig(layout.capture_destination(staged))
    sagemaker.create_endpoint_config(EndpointConfigName="tiny-config", DataCaptureConfig=capture.to_api(), Tags=tags,
                                     ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "Tiny-Model",
                                                          "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    arn = sagemaker.create_endpoint(EndpointName="tiny-endpoint", EndpointConfigName="tiny-config",
                                    Tags=tags)["EndpointArn"]
    assert sagemaker.describe_endpoint(EndpointName="tiny-endpoint")["EndpointStatus"] in ("Creating", "InService")
    described = wait(lambda: sagemaker.describe_endpoint(EndpointName="tiny-endpoint"),
                     lambda d: d["EndpointStatus"] != "Creating", "endpoint")
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    assert described["DataCaptureConfig"]["DestinationS3Uri"] == capture.destination_s3_uri

    png = encode_png(synthetic_image(1, np.random.RandomState(3)))
    answer = runtime.invoke_endpoint(EndpointName="tiny-endpoint", ContentType="image/png", Body=png)
    probabilities = json.loads(answer["Body"].read())
    assert len(probabilities) == 2 and abs(sum(probabilities) - 1) < 1e-5
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"] == "AllTraffic"

    assert sagemaker.list_endpoints(NameContains="TINY")["Endpoints"][0]["EndpointArn"] == arn
    assert sagemaker.list_endpoints(StatusEquals="Failed")["Endpoints"] == []
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == tags
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "extra", "Value": "1"}])
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["scones:project"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "extra", "Value": "1"}]

    sagemaker.create_endpoint_config(EndpointConfigName="tiny-config-2", DataCaptureConfig=capture.to_api(),
                                     ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "Tiny-Model",
                                                          "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.update_endpoint(EndpointName="tiny-endpoint", EndpointConfigName="tiny-config-2")
    updated = wait(lambda: sagemaker.describe_endpoint(EndpointName="tiny-endpoint"),
                   lambda d: d["EndpointStatus"] != "Updating", "endpoint update")
    assert (updated["EndpointStatus"], updated["EndpointConfigName"]) == ("InService", "tiny-config-2")
    sagemaker.delete_endpoint_config(EndpointConfigName="tiny-config-2")

    sagemaker.delete_endpoint(EndpointName="tiny-endpoint")  # flushes the capture
    prefix = layout.capture_prefix(capture.destination_s3_uri, "tiny-endpoint", "AllTraffic")
    captured = list(server_storage.list(str(prefix)))
    assert len(captured) == 1
    assert re.fullmatch(rf"{re.escape(str(prefix))}/\d{{4}}/\d\d/\d\d/\d\d/\d\d-\d\d-\d{{3}}-[0-9a-f-]{{36}}\.jsonl",
                        captured[0].uri), captured[0].uri
    record = parse_record(server_storage.get(captured[0].uri).decode().splitlines()[0])
    assert record.endpoint_input.body() == png
    assert json.loads(record.endpoint_output.body()) == probabilities
    code, _ = error_of(runtime.invoke_endpoint, EndpointName="tiny-endpoint", ContentType="image/png", Body=png)
    assert code == "ValidationError"

    assert [m["ModelName"] for m in sagemaker.list_models(NameContains="tiny")["Models"]] == ["Tiny-Model"]
    sagemaker.delete_endpoint_config(EndpointConfigName="tiny-config")
    sagemaker.delete_model(ModelName="tiny-model")
    assert sagemaker.list_models()["Models"] == [] and sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_an_endpoint_whose_model_is_missing_fails(sagemaker, staged):
    sagemaker.create_model(ModelName="gone-model", ExecutionRoleArn=ROLE,
                           PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{staged}/models/x/model.tar.gz"})
    sagemaker.create_endpoint_config(EndpointConfigName="gone-config", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "gone-model", "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName="gone-endpoint", EndpointConfigName="gone-config")
    described = wait(lambda: sagemaker.describe_endpoint(EndpointName="gone-endpoint"),
                     lambda d: d["EndpointStatus"] != "Creating", "endpoint")
    assert described["EndpointStatus"] == "Failed" and "models/x/model.tar.gz" in described["FailureReason"]
    assert error_of(sagemaker.create_endpoint, EndpointName="gone-endpoint", EndpointConfigName="gone-config") == (
        "ValidationException",
        'Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/gone-endpoint".')
