"""The local SageMaker on the wire: one WSGI app for SageMaker, its runtime and S3, on one port.

- ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` — the control plane
  (botocore's JSON 1.1 protocol): the request is checked against botocore's own
  SageMaker model (missing or mistyped parameters answer ValidationException,
  as AWS does) and handed to :class:`.sagemaker_service.SageMakerService`.
- ``POST /endpoints/<name>/invocations`` — sagemaker-runtime's InvokeEndpoint,
  answered by :func:`.runtime_server.invoke_endpoint` (the local endpoint's
  errors and Data Capture).
- anything else — moto's S3 app, so ``scones up`` keeps serving S3 here.

:func:`make_local_aws_server` builds the werkzeug server; ``endpoint_url``
points the service at another S3 (MiniStack's, say) for channels, models and
captures, ``logs_endpoint_url`` at a CloudWatch Logs for the training logs.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Callable, Iterable

from scones.backends.local.runtime_server import DEFAULT_REGION, INVOKE_PATH, InvokeRequest, invoke_endpoint
from scones.backends.local.sagemaker_service import SageMakerError, SageMakerService

TARGET_PREFIX = "SageMaker."
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


@functools.lru_cache(maxsize=1)
def sagemaker_model():
    """botocore's SageMaker service model (loaded once: it is large)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def check_request(operation: str, request: dict) -> None:
    """ValidationException for an unknown operation or a request botocore's model refuses."""
    from botocore.validate import ParamValidator

    model = sagemaker_model()
    if operation not in model.operation_names:
        raise SageMakerError("UnknownOperationException", f"Unknown operation {operation}")
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    if report.has_errors():
        raise SageMakerError("ValidationException", report.generate_report().replace("\n", " "))


def to_wire(value):
    """JSON 1.1 timestamps are epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(start_response, status: int, body: dict, headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    data = json.dumps(body, default=to_wire).encode("utf-8")
    start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                   [("Content-Type", JSON_CONTENT_TYPE), ("Content-Length", str(len(data))), *headers])
    return [data]


def answer_control_plane(service: SageMakerService, operation: str, body: bytes) -> tuple[int, dict]:
    """(status, body) of one SageMaker operation; errors in botocore's JSON error shape."""
    from botocore import xform_name

    try:
        request = json.loads(body or b"{}")
        check_request(operation, request)
        handler = getattr(service, xform_name(operation), None)
        if handler is None:
            raise SageMakerError("UnknownOperationException",
                                 f"{operation} is not offered by the local SageMaker")
        return 200, handler(request)
    except SageMakerError as error:
        return error.status, {"__type": error.code, "message": error.message}
    except json.JSONDecodeError as error:
        return 400, {"__type": "SerializationException", "message": f"request body is not JSON: {error}"}


def read_body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


class LocalAwsApp:
    """Routes each request to SageMaker, its runtime, or S3."""

    def __init__(self, service: SageMakerService | None, s3_app: Callable, region: str = DEFAULT_REGION):
        self.service, self.s3_app, self.region = service, s3_app, region  # service: set once the port is known

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        path = environ.get("PATH_INFO", "")
        if target.startswith(TARGET_PREFIX):
            status, body = answer_control_plane(self.service, target[len(TARGET_PREFIX):], read_body(environ))
            return json_response(start_response, status, body)
        if environ["REQUEST_METHOD"] == "POST" and (match := INVOKE_PATH.fullmatch(path)):
            return self.invoke(match.group(1), environ, start_response)
        return self.s3_app(environ, start_response)

    def invoke(self, name: str, environ, start_response):
        from urllib.parse import unquote

        request = InvokeRequest(
            endpoint_name=unquote(name), body=read_body(environ), content_type=environ.get("CONTENT_TYPE"),
            accept=environ.get("HTTP_ACCEPT"),
            target_variant=environ.get("HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT"),
            inference_id=environ.get("HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID"))
        response = invoke_endpoint(self.service, request, self.region)
        headers = [("Content-Length", str(len(response.body))), *response.headers]
        if response.content_type:
            headers.append(("Content-Type", response.content_type))
        start_response(f"{response.status} {'OK' if response.status == 200 else 'Error'}", headers)
        return [response.body]


def make_local_aws_server(host: str, port: int, endpoint_url: str | None = None,
                          logs_endpoint_url: str | None = None, region: str = DEFAULT_REGION):
    """A werkzeug server for S3 + SageMaker + its runtime; ``server.service`` is the SageMaker state.

    Without ``endpoint_url`` the service stores in the server's own S3 (it
    calls back into this server over HTTP, as any client would).
    """
    from scones.backends.local.embedded_s3_server import make_quiet_server, moto_s3_app
    from scones.clients import make_client
    from scones.storage import Storage, s3_client

    app = LocalAwsApp(None, moto_s3_app(), region)
    server = make_quiet_server(host, port, app)
    own_url = f"http://{host}:{server.server_address[1]}"
    logs = make_client("logs", endpoint_url=logs_endpoint_url, region=region) if logs_endpoint_url else None
    app.service = server.service = SageMakerService(Storage(s3_client(endpoint_url or own_url, region=region)),
                                                    url=own_url, region=region, logs=logs)
    return server
