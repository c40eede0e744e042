"""Endpoint records in storage, the resolver's model cache, deploy and shutdown, another process invoking."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest
from .endpoint_support import (
    ENDPOINT,
    FlakyStorage,
    TinyPredictor,
    capture_lines,
    png_image,
    runtime_client,
    served_endpoint,
    tiny_artifact,
)

from scones.backend import EndpointInfo
from scones.backends.local.capture_writer import CaptureWriteError, RetryPolicy
from scones.backends.local.endpoint_records import (
    EndpointNotFound,
    EndpointRecord,
    EndpointRecordError,
    delete_endpoint_record,
    list_endpoints,
    lookup_endpoint,
    record_endpoint,
    record_uri,
)
from scones.backends.local.endpoints import ModelLoadError, deploy_local_endpoint, serve
from scones.capture import CaptureConfig

CREATED = datetime(2026, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


def make_record(bucket: str, name: str = ENDPOINT, **changes) -> EndpointRecord:
    fields = dict(name=name, model_uri=f"s3://{bucket}/models/tiny/model.params", url="http://127.0.0.1:9",
                  created=CREATED, capture=CaptureConfig(f"s3://{bucket}/data_capture", sampling_percentage=20))
    return EndpointRecord(**{**fields, **changes})


def test_records_are_stored_found_listed_and_deleted(storage, bucket):
    first, second = make_record(bucket, "alpha"), make_record(bucket, "beta", capture=None, variant="Canary")
    assert record_endpoint(storage, bucket, first) == f"s3://{bucket}/scones/endpoints/alpha.json"
    record_endpoint(storage, bucket, second)
    assert json.loads(storage.get(record_uri(bucket, "alpha"))) == {
        "format": "scones-endpoint/1", "name": "alpha", "model_uri": first.model_uri, "variant": "AllTraffic",
        "instance_type": "local", "data_capture_config": first.capture.to_api(), "url": "http://127.0.0.1:9",
        "created": "2026-01-15T10:00:00Z", "status": "InService"}
    assert lookup_endpoint(storage, bucket, "alpha") == first
    assert list_endpoints(storage, bucket) == [first, second]
    assert delete_endpoint_record(storage, bucket, "alpha") is True
    assert delete_endpoint_record(storage, bucket, "alpha") is False
    assert list_endpoints(storage, bucket) == [second]
    assert second.to_info() == EndpointInfo(name="beta", variant="Canary", model_uri=second.model_uri,
                                            location="http://127.0.0.1:9", capture=None)


def test_a_missing_or_invalid_name_is_not_found_in_sagemakers_words(storage, bucket):
    for name in ("absent", "bad/name", "-dash"):
        with pytest.raises(EndpointNotFound) as caught:
            lookup_endpoint(storage, bucket, name)
        assert str(caught.value) == f"Endpoint {name} of account 000000000000 not found."
    with pytest.raises(ValueError, match="1-63 letters, digits and hyphens"):
        make_record(bucket, "under_score")


def test_a_damaged_record_is_refused_with_its_uri_and_the_fix(storage, bucket):
    storage.put(record_uri(bucket, "mangled"), b'{"format": "scones-endpoint/1", "name": "mangled"}')
    with pytest.raises(EndpointRecordError) as caught:
        lookup_endpoint(storage, bucket, "mangled")
    assert str(caught.value) == (f"s3://{bucket}/scones/endpoints/mangled.json has no 'model_uri'; delete it "
                                 "(it is rewritten by deploying the endpoint again)")


def test_deploy_loads_first_then_records_the_endpoint_where_it_is_served(storage, bucket, model_uri):
    with served_endpoint(storage, bucket, model_uri) as server:
        record = lookup_endpoint(storage, bucket, ENDPOINT)
        assert (record.url, record.status, record.model_uri, record.variant) == (
            server.url, "InService", model_uri, "AllTraffic")
        assert record.capture == CaptureConfig(f"s3://{bucket}/data_capture")
        with pytest.raises(ModelLoadError, match="could not be loaded"):
            deploy_local_endpoint(server, "never", f"s3://{bucket}/models/none.params")
        with pytest.raises(EndpointNotFound):
            lookup_endpoint(storage, bucket, "never")


def test_each_artifact_is_loaded_once_per_etag(storage, bucket, model_uri, tiny_params):
    loads = []

    def counting_loader(params: bytes) -> TinyPredictor:
        loads.append(params)
        return TinyPredictor(params)

    with serve(storage, bucket, load_predictor=counting_loader) as server:
        deploy_local_endpoint(server, "one", model_uri)
        deploy_local_endpoint(server, "two", model_uri)
        assert len(loads) == 1
        retrained = tiny_artifact(seed=99)
        storage.put(model_uri, retrained)  # a new ETag
        deploy_local_endpoint(server, "one", model_uri)
        assert loads == [tiny_params, retrained]
        resolver = server.resolver
        assert resolver.resolve("one").container.predictor is not resolver.resolve("two").container.predictor


def test_a_server_serves_endpoints_recorded_by_another(storage, bucket, model_uri, tiny_predictor):
    with served_endpoint(storage, bucket, model_uri, capture=None):
        pass  # deployed, recorded, and gone
    with serve(storage, bucket, endpoint_names=[ENDPOINT], load_predictor=TinyPredictor) as server:
        answer = runtime_client(server.url).invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png",
                                                            Body=png_image(3))["Body"].read()
        with pytest.raises(EndpointNotFound):
            with serve(storage, bucket, endpoint_names=["unknown"]):
                pass
    assert json.loads(answer) == tiny_predictor.predict([png_image(3)])[0]


def test_another_process_finds_the_endpoint_by_its_record_and_invokes_it(storage, bucket, model_uri, tiny_predictor):
    script = textwrap.dedent(f"""
        import boto3, sys
        from scones.backends.local.endpoint_records import lookup_endpoint
        from scones.storage import Storage, s3_client
        record = lookup_endpoint(Storage(s3_client({storage.endpoint_url!r})), {bucket!r}, {ENDPOINT!r})
        runtime = boto3.client("sagemaker-runtime", endpoint_url=record.url, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
        body = sys.stdin.buffer.read()
        sys.stdout.buffer.write(runtime.invoke_endpoint(EndpointName=record.name, ContentType="image/png",
                                                        Body=body)["Body"].read())
    """)
    with served_endpoint(storage, bucket, model_uri) as server:
        assert server.url
        done = subprocess.run([sys.executable, "-c", script], input=png_image(8), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == tiny_predictor.predict([png_image(8)])[0]
    assert len(capture_lines(storage, bucket)) == 1


def test_shutdown_flushes_capture_and_reports_records_it_could_not_write(storage, bucket, model_uri):
    flaky = FlakyStorage(storage)
    with pytest.raises(CaptureWriteError, match=r"^1 capture record\(s\) in 1 file\(s\) could not be written"):
        with served_endpoint(flaky, bucket, model_uri, retry=RetryPolicy(attempts=2, first_backoff_seconds=0)) \
                as server:
            runtime_client(server.url).invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png",
                                                       Body=png_image(1))
            flaky.failing_puts = flaky.put_attempts + 1000  # S3 goes away before the capture is flushed
    assert flaky.put_attempts >= 2
    assert capture_lines(storage, bucket) == []


def test_captures_s3_refused_at_shutdown_are_spooled_and_written_by_the_next_start(storage, bucket, model_uri,
                                                                                    capture_spool):
    flaky = FlakyStorage(storage)
    images = [png_image(seed) for seed in range(100)]
    with pytest.raises(CaptureWriteError) as caught:
        with served_endpoint(flaky, bucket, model_uri, retry=RetryPolicy(attempts=1)) as server:
            client = runtime_client(server.url)
            for image in images:
                client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=image)
            flaky.failing_puts = flaky.put_attempts + 10**6  # S3 goes away before the capture is flushed
    assert f"They are kept on disk in {capture_spool / bucket / 'data_capture' / ENDPOINT / 'AllTraffic'}" \
        in str(caught.value)
    assert capture_lines(storage, bucket) == []

    with served_endpoint(storage, bucket, model_uri):  # the next start, with S3 back
        pass
    captured = [base64.b64decode(line["captureData"]["endpointInput"]["data"]) for line in capture_lines(storage, bucket)]
    assert sorted(captured) == sorted(images)
    assert list(capture_spool.rglob("*.jsonl")) == []
