"""InvokeEndpoint over HTTP, through boto3 unchanged: the answer, and every error SageMaker gives."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from .endpoint_support import (
    ENDPOINT,
    GatedPredictor,
    TinyPredictor,
    png_image,
    runtime_client,
    served_endpoint,
)

from scones.backends.local.endpoint_records import EndpointRecord, record_endpoint
from scones.backends.local.endpoints import deploy_local_endpoint, serve
from scones.backends.local.micro_batcher import BatchPolicy
from scones.backends.local.runtime_server import MAX_PAYLOAD_BYTES
from scones.images import decode_image

LOGS = ("See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{ENDPOINT} in account 000000000000 "
        "for more information.")
LOG_GROUP_ARN = f"arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/{ENDPOINT}"


def invoke_error(client, **request) -> ClientError:
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(**request)
    return caught.value


def assert_model_error(client, error: ClientError, status: int, kind: str, original: str) -> None:
    assert type(error) is client.exceptions.ModelError
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error.response["Error"] == {
        "Code": "ModelError",
        "Message": f'Received {kind} error ({status}) from primary with message "{original}". {LOGS}',
    }
    assert error.response["OriginalStatusCode"] == status
    assert error.response["OriginalMessage"] == original
    assert error.response["LogStreamArn"] == LOG_GROUP_ARN


@pytest.fixture
def server(storage, bucket, model_uri):
    with served_endpoint(storage, bucket, model_uri, capture=None) as running:
        yield running


@pytest.fixture
def client(server):
    return runtime_client(server.url)


def test_the_answer_is_the_models_json_probabilities_with_sagemakers_headers(client, tiny_predictor):
    image = png_image(1)
    response = client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=image)
    body = response["Body"].read()
    assert json.loads(body) == tiny_predictor.predict([image])[0]
    assert body == json.dumps(tiny_predictor.predict([image])[0]).encode()
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(response["ResponseMetadata"]["RequestId"]) == 36


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/x-image", "image/png; charset=binary"])
def test_every_image_content_type_is_accepted(client, tiny_predictor, content_type):
    image = png_image(2)
    response = client.invoke_endpoint(EndpointName=ENDPOINT, ContentType=content_type, Body=image,
                                      Accept="application/json", TargetVariant="AllTraffic",
                                      CustomAttributes="trace=1", InferenceId="req-1")
    assert json.loads(response["Body"].read()) == tiny_predictor.predict([image])[0]


def test_an_unknown_endpoint_is_a_validation_error(client):
    error = invoke_error(client, EndpointName="no-such-endpoint", ContentType="image/png", Body=png_image(1))
    assert type(error) is client.exceptions.ValidationError
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"] == {"Code": "ValidationError",
                                       "Message": "Endpoint no-such-endpoint of account 000000000000 not found."}


def test_a_body_over_six_megabytes_is_a_validation_error_naming_the_request(client):
    error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=b"\0" * (MAX_PAYLOAD_BYTES + 1))
    request_id = error.response["ResponseMetadata"]["RequestId"]
    assert type(error) is client.exceptions.ValidationError
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Message"] == f"Request {request_id} has oversize body."


def test_a_body_of_exactly_six_megabytes_reaches_the_model(client):
    error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=b"\0" * MAX_PAYLOAD_BYTES)
    assert_model_error(client, error, 400, "client", f"The {MAX_PAYLOAD_BYTES}-byte request body is not an image "
                                                     "the model can read: send PNG or JPEG bytes")


def test_a_wrong_content_type_is_the_containers_415_as_a_model_error(client):
    error = invoke_error(client, EndpointName=ENDPOINT, ContentType="application/json", Body=b"{}")
    assert_model_error(client, error, 415, "client",
                       "Content type application/json is not supported: send the image bytes as "
                       "image/png, image/jpeg, application/x-image")


def test_a_body_that_is_not_an_image_is_the_containers_400_as_a_model_error(client):
    error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=b"not a png")
    assert_model_error(client, error, 400, "client",
                       "The 9-byte request body is not an image the model can read: send PNG or JPEG bytes")


def test_an_accept_type_the_model_cannot_answer_is_the_containers_406(client):
    error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(1), Accept="text/csv")
    assert_model_error(client, error, 406, "client",
                       "Accept type text/csv is not supported: this model answers application/json")


def test_a_target_variant_the_endpoint_lacks_is_a_validation_error(client):
    error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(1),
                         TargetVariant="Canary")
    assert type(error) is client.exceptions.ValidationError
    assert error.response["Error"]["Message"] == (
        f"Variant Canary of endpoint {ENDPOINT} of account 000000000000 not found; its variant is AllTraffic.")


class Exploding(TinyPredictor):
    def predict_pixels(self, images):
        raise RuntimeError("weights on fire")


def test_a_model_failure_is_the_containers_500_as_a_model_error(storage, bucket, model_uri):
    with served_endpoint(storage, bucket, model_uri, capture=None, load_predictor=Exploding) as server:
        client = runtime_client(server.url)
        error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(1))
    assert_model_error(client, error, 500, "server",
                       "the model failed on this image (RuntimeError: weights on fire)")
    assert error.response["Error"]["Code"] == "ModelError"


def test_a_full_model_queue_is_the_containers_503_as_a_model_error(storage, bucket, model_uri, tiny_params):
    gate = threading.Event()
    gated = GatedPredictor(TinyPredictor(tiny_params), gate)
    policy = BatchPolicy(max_batch_size=1, queue_capacity=1, admission_timeout_seconds=0)
    with served_endpoint(storage, bucket, model_uri, capture=None, load_predictor=lambda _: gated,
                         batching=policy) as server:
        client = runtime_client(server.url)
        first = threading.Thread(target=client.invoke_endpoint,
                                 kwargs=dict(EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(1)))
        first.start()
        assert gated.entered.wait(10)  # the worker holds the first request; the queue is empty
        queued = server.resolver.resolve(ENDPOINT).container.batcher.submit(decode_image(png_image(2)))  # fills
        error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(3))
        gate.set()
        first.join()
        assert len(queued.result(10)) == 2
    assert_model_error(client, error, 503, "server",
                       "the model's queue of 1 requests stayed full for 0 s; retry with backoff or send "
                       "fewer requests at once")


def test_a_model_silent_past_the_time_limit_is_sagemakers_timeout_model_error(storage, bucket, model_uri, tiny_params):
    gate = threading.Event()
    gated = GatedPredictor(TinyPredictor(tiny_params), gate)
    with served_endpoint(storage, bucket, model_uri, capture=None, load_predictor=lambda _: gated,
                         invocation_timeout=0.1) as server:
        client = runtime_client(server.url)
        error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(1))
        gate.set()
    assert_model_error(client, error, 0, "server",
                       "Your invocation timed out while waiting for a response from container primary. Review "
                       "the latency metrics for each container in Amazon CloudWatch, resolve the issue, and "
                       "try again.")


def test_an_endpoint_shutting_down_is_service_unavailable(server, client):
    server.resolver.resolve(ENDPOINT).close()
    error = invoke_error(client, EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(1))
    assert type(error) is client.exceptions.ServiceUnavailable
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert error.response["Error"]["Message"] == (
        f"Endpoint {ENDPOINT} is shutting down. Try your call again once it is deployed again.")


def test_a_model_that_cannot_be_loaded_is_an_internal_failure_saying_why(storage, bucket):
    missing = f"s3://{bucket}/models/missing.params"
    with serve(storage, bucket, load_predictor=TinyPredictor) as server:
        record_endpoint(storage, bucket, EndpointRecord(name="broken", model_uri=missing, url=server.url,
                                                        created=server.resolver.clock.now()))
        client = runtime_client(server.url)
        error = invoke_error(client, EndpointName="broken", ContentType="image/png", Body=png_image(1))
    assert type(error) is client.exceptions.InternalFailure
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error.response["Error"]["Message"] == (
        f"An internal failure occurred: the model {missing} could not be loaded: no such object {missing}")


def test_an_unexpected_fault_is_an_internal_failure_without_a_stack_trace(storage, bucket, model_uri):
    def unloadable(_: bytes):
        raise RuntimeError("secret detail")

    with serve(storage, bucket, load_predictor=unloadable) as server:
        record_endpoint(storage, bucket, EndpointRecord(name="odd", model_uri=model_uri, url=server.url,
                                                        created=server.resolver.clock.now()))
        client = runtime_client(server.url)
        error = invoke_error(client, EndpointName="odd", ContentType="image/png", Body=png_image(1))
        after = invoke_error(client, EndpointName="none", ContentType="image/png", Body=png_image(1))
    assert type(error) is client.exceptions.InternalFailure
    assert error.response["Error"]["Message"] == "An internal failure occurred: see the local endpoint server's log"
    assert type(after) is client.exceptions.ValidationError  # and the server kept serving


def raw_exchange(server, request: bytes) -> bytes:
    """Send ``request`` as bytes on a fresh connection; everything the server answers before closing."""
    host, port = server.runtime.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(request)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


def test_malformed_http_gets_an_http_error_and_the_server_keeps_serving(server, client):
    assert raw_exchange(server, b"BREW /pot HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 501")
    answer = raw_exchange(server, f"POST /endpoints/{ENDPOINT}/invocations HTTP/1.1\r\n"
                                  "Content-Length: lots\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"x-amzn-ErrorType: ValidationError" in head and b"Connection: close" in head
    assert json.loads(body) == {"Message": "Content-Length 'lots' is not a byte count"}
    assert client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png",
                                  Body=png_image(1))["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_unknown_route_is_named_in_the_error(server):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url + "/endpoints/x")
    assert caught.value.code == 404
    assert caught.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert json.loads(caught.value.read())["Message"].startswith("No operation answers GET /endpoints/x")


# ------------------------------------------------------------------ container routes

def post(url: str, body: bytes, content_type: str = "image/png"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_container_routes_answer_for_the_single_hosted_endpoint(server, tiny_predictor):
    with urllib.request.urlopen(server.url + "/ping") as ping:
        assert (ping.status, ping.read()) == (200, b"")
    image = png_image(4)
    assert post(server.url + "/invocations", image) == (200, json.dumps(tiny_predictor.predict([image])[0]).encode())
    assert post(server.url + "/invocations", b"{}", "application/json") == (
        415, b"Content type application/json is not supported: send the image bytes as image/png, "
             b"image/jpeg, application/x-image")


def test_with_several_endpoints_ping_needs_all_loaded_and_invocations_names_none(storage, bucket, model_uri):
    with serve(storage, bucket, load_predictor=TinyPredictor) as server:
        with pytest.raises(urllib.error.HTTPError) as unready:
            urllib.request.urlopen(server.url + "/ping")
        assert unready.value.code == 503
        for name in ("first", "second"):
            deploy_local_endpoint(server, name, model_uri)
        with urllib.request.urlopen(server.url + "/ping") as ping:
            assert ping.status == 200
        assert post(server.url + "/invocations", png_image(1)) == (
            400, b"POST /invocations needs exactly one hosted endpoint; hosted: first, second. "
                 b"Use POST /endpoints/NAME/invocations")
