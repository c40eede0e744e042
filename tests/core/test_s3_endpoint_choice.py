"""Which S3 the local backend picks, in the documented order."""

import http.server
import threading
from contextlib import contextmanager

import pytest

from scones.backends.local.s3_choice import S3Endpoint, choose_s3_endpoint, localstack_is_healthy

never = lambda url: False  # noqa: E731
always = lambda url: True  # noqa: E731


def test_explicit_wins():
    env = {"AWS_ENDPOINT_URL_S3": "http://env:1"}
    assert choose_s3_endpoint("http://x:9", env, always, always) == S3Endpoint("http://x:9", "explicit")


def test_service_variable_before_global_variable():
    env = {"AWS_ENDPOINT_URL_S3": "http://s3:1", "AWS_ENDPOINT_URL": "http://all:2"}
    assert choose_s3_endpoint(None, env, always, always) == S3Endpoint("http://s3:1", "environment")
    assert choose_s3_endpoint(None, {"AWS_ENDPOINT_URL": "http://all:2"}, always, always).url == "http://all:2"


def test_localstack_then_scones_up_then_embedded():
    assert choose_s3_endpoint(None, {}, always, always) == S3Endpoint("http://localhost:4566", "localstack")
    assert choose_s3_endpoint(None, {"LOCALSTACK_HOST": "ls:4999"}, always, never).url == "http://ls:4999"
    assert choose_s3_endpoint(None, {}, never, always) == S3Endpoint("http://127.0.0.1:4567", "scones-up")
    assert choose_s3_endpoint(None, {}, never, never) is None


@contextmanager
def health_server(body: bytes):
    """An HTTP server on 127.0.0.1 answering every GET with ``body``, as a stand-in for what runs on a port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("body, healthy", [
    (b'{"services": {"s3": "running", "sqs": "disabled"}, "edition": "community"}', True),
    (b'{"services": {"s3": "available"}}', True),
    (b'{"services": {"s3": "disabled", "sqs": "running"}}', False),  # LocalStack without S3
    (b"<ListAllMyBucketsResult/>", False),  # an S3 that is not LocalStack (the embedded server, scones up)
    (b'["services"]', False),
])
def test_the_health_probe_reads_what_localstack_reports(body, healthy):
    with health_server(body) as url:
        assert localstack_is_healthy(url) is healthy


def test_nothing_listening_is_not_localstack():
    with health_server(b"") as url:
        pass  # the port is closed again
    assert not localstack_is_healthy(url)
