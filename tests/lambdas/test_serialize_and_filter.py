"""serializeImageData against a real S3; filterInferences' threshold rule."""

import base64

import pytest

from scones.lambdas import filter_inferences, serialize_image_data
from scones.inferences import InferenceFormatError
from scones.lambda_events import EventFormatError


@pytest.fixture
def s3_env(monkeypatch, s3_endpoint_url):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_serialize_returns_the_exact_bytes_base64(s3_env, storage, bucket):
    payload = b"\x89PNG\r\n\x1a\n fake but exact bytes"
    storage.put(f"s3://{bucket}/test/bicycle_s_000513.png", payload)
    result = serialize_image_data.lambda_handler({"s3_bucket": bucket, "s3_key": "test/bicycle_s_000513.png"}, None)
    assert result == {"statusCode": 200, "body": {
        "image_data": base64.b64encode(payload).decode(), "s3_bucket": bucket,
        "s3_key": "test/bicycle_s_000513.png", "inferences": []}}


def test_serialize_missing_key_field(s3_env):
    with pytest.raises(EventFormatError, match=r"the event has no 's3_key' \(the image's key"):
        serialize_image_data.lambda_handler({"s3_bucket": "b"}, None)


def test_serialize_missing_object_is_s3s_error(s3_env, bucket):
    import botocore.exceptions

    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchKey"):
        serialize_image_data.lambda_handler({"s3_bucket": bucket, "s3_key": "test/none.png"}, None)


@pytest.mark.parametrize("inferences", [[0.95, 0.05], "[0.95, 0.05]", [0.02, 0.98]])
def test_filter_passes_confident_inferences(monkeypatch, inferences):
    monkeypatch.delenv("THRESHOLD", raising=False)
    result = filter_inferences.lambda_handler({"body": {"image_data": "x", "inferences": inferences}}, None)
    assert result["statusCode"] == 200
    assert result["body"]["inferences"] == ([0.95, 0.05] if inferences != [0.02, 0.98] else [0.02, 0.98])


def test_filter_fails_below_threshold_with_the_course_error(monkeypatch):
    monkeypatch.delenv("THRESHOLD", raising=False)
    with pytest.raises(filter_inferences.THRESHOLD_CONFIDENCE_NOT_MET) as caught:
        filter_inferences.lambda_handler({"inferences": [0.9, 0.1]}, None)
    assert type(caught.value).__name__ == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert str(caught.value) == "top confidence 0.9000 (class 0) is below the threshold 0.93"


def test_threshold_from_environment(monkeypatch):
    monkeypatch.setenv("THRESHOLD", "0.85")
    assert filter_inferences.lambda_handler({"inferences": [0.9, 0.1]}, None)["statusCode"] == 200
    monkeypatch.setenv("THRESHOLD", "1.5")
    with pytest.raises(ValueError, match=r"THRESHOLD must be between 0 and 1, got '1.5'"):
        filter_inferences.lambda_handler({"inferences": [0.9, 0.1]}, None)


def test_exactly_at_threshold_passes(monkeypatch):
    monkeypatch.setenv("THRESHOLD", "0.93")
    assert filter_inferences.lambda_handler({"inferences": [0.93, 0.07]}, None)["statusCode"] == 200


@pytest.mark.parametrize("inferences,message", [
    ([2.5, -1.5], "2.5 is not a probability (between 0 and 1)"),
    ([0.95, 0.95], "probabilities sum to 1.9, not 1 (within 0.01): send the endpoint's softmax output unchanged"),
    ([float("nan"), 0.5], "inferences must be finite numbers, got nan"),
    ("[0.5, \"x\"]", "inferences must be finite numbers, got 'x'"),
])
def test_filter_refuses_what_is_no_distribution_by_name(monkeypatch, inferences, message):
    monkeypatch.delenv("THRESHOLD", raising=False)
    with pytest.raises(InferenceFormatError) as caught:
        filter_inferences.lambda_handler({"inferences": inferences}, None)
    assert str(caught.value) == message
