"""deploy(): CreateModel → CreateEndpointConfig (exact Data Capture) → CreateEndpoint; blue/green; invoke."""

from __future__ import annotations

import json

import pytest
from moto.sagemakerruntime.models import sagemakerruntime_backends

from .aws_fakes import ACCOUNT, BUCKET, REGION, emulate_update_endpoint, sagemaker_backend
from scones.backends.aws.endpoints import class_names_tag
from scones.backends.aws.errors import SconesAwsError
from scones.capture import CaptureConfig

MODEL_URI = f"s3://{BUCKET}/models/job-1/output/model.tar.gz"
NEW_MODEL_URI = f"s3://{BUCKET}/models/job-2/output/model.tar.gz"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scones/scones-sagemaker-execution"
TAGS = [{"Key": "scones:project", "Value": "scones"}]


def test_first_deploy_creates_model_config_and_endpoint(backend, recorder):
    info = backend.deploy(model_uri=MODEL_URI, endpoint_name="scones-endpoint")

    (model,) = recorder.of("CreateModel")
    assert model["ModelName"].startswith("scones-endpoint-model-")
    assert model == {"ModelName": model["ModelName"], "ExecutionRoleArn": ROLE, "Tags": TAGS,
                     "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": MODEL_URI}}
    (config,) = recorder.of("CreateEndpointConfig")
    assert config["EndpointConfigName"].startswith("scones-endpoint-config-")
    assert config["ProductionVariants"] == [{"VariantName": "AllTraffic", "ModelName": model["ModelName"],
                                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                             "InitialVariantWeight": 1.0}]
    assert config["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{BUCKET}/data_capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"], "CsvContentTypes": ["text/csv"]},
    }
    assert recorder.of("CreateEndpoint") == [{"EndpointName": "scones-endpoint",
                                              "EndpointConfigName": config["EndpointConfigName"], "Tags": TAGS}]
    assert info.name == "scones-endpoint" and info.variant == "AllTraffic" and info.model_uri == MODEL_URI
    assert info.location == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/scones-endpoint"
    assert info.capture == CaptureConfig(f"s3://{BUCKET}/data_capture")


def test_capture_is_sent_exactly_as_given(make_backend, recorder):
    capture = CaptureConfig(f"s3://{BUCKET}/elsewhere", sampling_percentage=25, capture_output=False)
    make_backend(capture_sampling_percentage=50).deploy(model_uri=MODEL_URI, endpoint_name="e1", capture=capture,
                                                        instance_type="ml.t2.medium")
    (config,) = recorder.of("CreateEndpointConfig")
    assert config["DataCaptureConfig"] == capture.to_api()
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.t2.medium"


def test_the_configured_sampling_percentage_is_the_default(make_backend, recorder):
    make_backend(capture_sampling_percentage=30).deploy(model_uri=MODEL_URI, endpoint_name="e1")
    assert recorder.of("CreateEndpointConfig")[0]["DataCaptureConfig"]["InitialSamplingPercentage"] == 30


def test_the_staged_class_names_are_tagged_on_the_model(backend, recorder):
    backend.storage.ensure_bucket(BUCKET)
    backend.storage.put(f"s3://{BUCKET}/classes.json", b'["bicycle", "motorcycle"]')
    backend.deploy(model_uri=MODEL_URI, endpoint_name="e1")
    assert recorder.of("CreateModel")[0]["Tags"] == TAGS + [{"Key": "scones:class-names",
                                                             "Value": "bicycle motorcycle"}]
    with pytest.raises(ValueError, match="do not fit a tag"):
        class_names_tag(["pickup truck"])


def test_second_deploy_is_a_blue_green_swap(backend, recorder, session, messages):
    answered = emulate_update_endpoint(session)
    first = backend.deploy(model_uri=MODEL_URI, endpoint_name="scones-endpoint")
    (old_model,) = [m["ModelName"] for m in recorder.of("CreateModel")]
    (old_config,) = [c["EndpointConfigName"] for c in recorder.of("CreateEndpointConfig")]
    recorder.clear()

    second = backend.deploy(model_uri=NEW_MODEL_URI, endpoint_name="scones-endpoint")

    (new_model,) = [m["ModelName"] for m in recorder.of("CreateModel")]
    (new_config,) = [c["EndpointConfigName"] for c in recorder.of("CreateEndpointConfig")]
    assert new_model != old_model and new_config != old_config
    assert answered == [{"EndpointName": "scones-endpoint", "EndpointConfigName": new_config}]
    assert recorder.operations() == ["sagemaker:CreateModel", "sagemaker:CreateEndpointConfig",
                                     "sagemaker:UpdateEndpoint", "sagemaker:DeleteModel",
                                     "sagemaker:DeleteEndpointConfig"]
    assert recorder.of("DeleteModel") == [{"ModelName": old_model}]
    assert recorder.of("DeleteEndpointConfig") == [{"EndpointConfigName": old_config}]
    state = sagemaker_backend()
    assert list(state.endpoints) == ["scones-endpoint"]
    assert state.endpoints["scones-endpoint"].endpoint_config_name == new_config
    assert sorted(state.endpoint_configs) == [new_config] and sorted(state._models) == [new_model]
    assert second.name == first.name and second.location == first.location and second.model_uri == NEW_MODEL_URI
    assert any("blue/green" in m for m in messages)


def test_an_untagged_endpoint_of_the_same_name_is_refused(backend, session):
    import boto3

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model(ModelName="theirs", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE)
    sagemaker.create_endpoint_config(EndpointConfigName="theirs", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "theirs", "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.xlarge"}])
    sagemaker.create_endpoint(EndpointName="scones-endpoint", EndpointConfigName="theirs")
    with pytest.raises(SconesAwsError, match="exists but is not tagged scones:project=scones"):
        backend.deploy(model_uri=MODEL_URI, endpoint_name="scones-endpoint")
    with pytest.raises(SconesAwsError, match="exists but is not tagged"):
        backend.delete_endpoint("scones-endpoint")
    assert "scones-endpoint" in sagemaker_backend().endpoints


def test_a_failed_endpoint_raises_with_its_reason(backend, session):
    def fail(**_):
        endpoint = sagemaker_backend().endpoints["e1"]
        endpoint.endpoint_status, endpoint.failure_reason = "Failed", "The primary container did not pass the ping"

    session.events.register("after-call.sagemaker.CreateEndpoint", fail)
    with pytest.raises(SconesAwsError, match="endpoint e1 is Failed: The primary container") as caught:
        backend.deploy(model_uri=MODEL_URI, endpoint_name="e1")
    assert "scones cleanup --backend aws" in caught.value.advice


def test_a_model_outside_the_bucket_is_refused_with_scones_role(backend, recorder):
    with pytest.raises(SconesAwsError, match="outside s3://scones-aws-test/") as caught:
        backend.deploy(model_uri="s3://other-bucket/model.tar.gz", endpoint_name="e1")
    assert "--bucket other-bucket" in caught.value.advice
    assert recorder.operations() == []


def test_waiting_for_in_service_uses_the_fake_sleep(backend, session, fake_clock, messages):
    def creating(**_):
        sagemaker_backend().endpoints["e1"].endpoint_status = "Creating"

    def in_service(count):
        if count == 2:
            sagemaker_backend().endpoints["e1"].endpoint_status = "InService"

    session.events.register("after-call.sagemaker.CreateEndpoint", creating)
    fake_clock.on_sleep.append(in_service)
    backend.deploy(model_uri=MODEL_URI, endpoint_name="e1")
    assert fake_clock.sleeps == [30.0, 30.0]
    assert messages[-2:] == ["endpoint e1: Creating", "endpoint e1: InService"]


def test_invoke_endpoint_returns_the_probabilities(backend, recorder):
    sagemakerruntime_backends[ACCOUNT][REGION].results_queue.append(
        (json.dumps([0.97, 0.03]), "application/json", "AllTraffic", ""))
    body = b"PNG bytes"  # moto decodes request bodies as UTF-8, so no real PNG here
    assert backend.invoke_endpoint("e1", body) == [0.97, 0.03]
    assert recorder.of("InvokeEndpoint") == [{"EndpointName": "e1", "ContentType": "image/png", "Body": body}]


def test_delete_endpoint_removes_endpoint_config_and_model(backend, recorder):
    backend.deploy(model_uri=MODEL_URI, endpoint_name="e1")
    recorder.clear()
    assert backend.delete_endpoint("e1") is True
    assert recorder.operations() == ["sagemaker:DeleteEndpoint", "sagemaker:DeleteModel",
                                     "sagemaker:DeleteEndpointConfig"]
    state = sagemaker_backend()
    assert not state.endpoints and not state.endpoint_configs and not state._models
    assert backend.delete_endpoint("e1") is False


def test_capture_uri_is_where_monitoring_reads(backend):
    from scones.bucket_layout import endpoint_captures_uri

    assert backend.captures_uri("scones-endpoint") == f"s3://{BUCKET}/data_capture/scones-endpoint/"
    assert backend.captures_uri("scones-endpoint") == endpoint_captures_uri(BUCKET, "scones-endpoint")
