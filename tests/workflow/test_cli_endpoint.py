"""`scones deploy` serves in one process; `scones invoke` and `scones execute` find it from others."""

from __future__ import annotations

import http.server
import json
import signal
import subprocess
import sys
import threading
from datetime import datetime, timezone

import pytest

from .colour_model import expected_probabilities, solid_png


def scones(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "scones", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def served(s3_endpoint_url, bucket, staged):
    process = subprocess.Popen([sys.executable, "-m", "scones", "deploy", "--endpoint-url", s3_endpoint_url,
                                "--bucket", bucket, "--model-uri", staged], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    announced = process.stdout.readline()  # blocks until the endpoint is recorded and serving
    yield process, announced
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def test_deploy_invoke_execute_across_processes(served, s3_endpoint_url, bucket, tmp_path, storage):
    process, announced = served
    assert announced.startswith(f"endpoint scones-endpoint serves s3://{bucket}/models/colour/output/model.tar.gz at "
                                "http://127.0.0.1:")
    image = tmp_path / "blue.png"
    image.write_bytes(solid_png(0, 0, 200))
    invoked = scones("invoke", str(image), "--endpoint-url", s3_endpoint_url, "--bucket", bucket)
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == pytest.approx(expected_probabilities(0, 200), abs=1e-6)
    assert "motorcycle (1.0000)" in invoked.stderr  # 0.99995, to four places
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_bytes(b"these are notes, not pixels")
    refused = scones("invoke", str(not_an_image), "--endpoint-url", s3_endpoint_url, "--bucket", bucket)
    assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
    assert refused.stderr.splitlines()[1:] == [  # after the line naming the S3 used
        f"Error: IMAGE {not_an_image}: endpoint scones-endpoint refused the 27-byte body: The 27-byte request "
        "body is not an image the model can read: send PNG or JPEG bytes"]

    executed = scones("execute", "--endpoint-url", s3_endpoint_url, "--bucket", bucket, "--count", "6",
                      "--seed", "2", "--json")
    assert executed.returncode == 0, executed.stderr
    rows = json.loads(executed.stdout)
    assert len(rows) == 6
    for row in rows:
        expected = ("FAILED", "THRESHOLD_CONFIDENCE_NOT_MET") if "grey" in row["image"] else ("SUCCEEDED", None)
        assert (row["status"], row["error"]) == expected

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not storage.exists(f"s3://{bucket}/scones/endpoints/scones-endpoint.json")
    captured = [o for o in storage.list(f"s3://{bucket}/data_capture/scones-endpoint/")]
    lines = sum(storage.get(o.uri).decode().count("\n") for o in captured)
    assert lines == 7  # one invoke + six executions, all flushed on shutdown (the refused body is not captured)


def test_deploy_of_a_broken_model_is_one_line(s3_endpoint_url, bucket, storage):
    broken = f"s3://{bucket}/models/broken/model.tar.gz"
    storage.put(broken, b"not a model at all")
    deployed = scones("deploy", "--endpoint-url", s3_endpoint_url, "--bucket", bucket, "--model-uri", broken)
    assert (deployed.returncode, deployed.stdout) == (1, "")  # a user error, as every SconesError
    [error] = deployed.stderr.splitlines()[1:]  # after the line naming the S3 used
    assert error.startswith(f"error: the model {broken} could not be loaded: model.tar.gz is not a tar.gz archive")


def test_cleanup_stops_a_serving_deploy_process(served, s3_endpoint_url, bucket):
    process, _ = served
    cleaned = scones("cleanup", "--endpoint-url", s3_endpoint_url, "--bucket", bucket)
    assert cleaned.returncode == 0, cleaned.stderr
    assert cleaned.stdout.splitlines() == ["deleted endpoint scones-endpoint"]
    assert process.wait(timeout=30) == 0  # it noticed its record was gone, flushed and exited
    said = process.stderr.read()
    assert "endpoint scones-endpoint was deleted (`scones cleanup`): stopping" in said
    assert "endpoint scones-endpoint stopped; its captures are flushed" in said


@pytest.fixture
def stubborn_server():
    """Something that answers /ping on loopback and never stops: a serving process cleanup cannot reach."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class PingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_cleanup_calls_an_endpoint_still_served_after_its_record_is_gone_orphaned(
        stubborn_server, s3_endpoint_url, bucket, storage, monkeypatch):
    from scones.backends.local import LocalBackend, endpoint_records

    monkeypatch.setattr(endpoint_records, "STOP_WAIT_SECONDS", 0.5)
    endpoint_records.record_endpoint(storage, bucket, endpoint_records.EndpointRecord(
        name="scones-endpoint", model_uri=f"s3://{bucket}/models/m/output/model.tar.gz", url=stubborn_server,
        created=datetime.now(timezone.utc)))
    with LocalBackend(endpoint_url=s3_endpoint_url, bucket=bucket) as backend:
        report = backend.cleanup()
    assert report.deleted == [f"endpoint scones-endpoint (record only: it is orphaned, still served at "
                              f"{stubborn_server} by a `scones deploy` that did not stop; press Ctrl-C there)"]
    assert not storage.exists(f"s3://{bucket}/scones/endpoints/scones-endpoint.json")
