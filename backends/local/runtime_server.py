"""The SageMaker runtime's InvokeEndpoint over HTTP on loopback, and the container's own routes.

boto3 talks to it unchanged::

    boto3.client("sagemaker-runtime", endpoint_url=server.url, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test"
                 ).invoke_endpoint(EndpointName="scones-endpoint", ContentType="image/png", Body=png)

Routes:

- ``POST /endpoints/{EndpointName}/invocations`` — InvokeEndpoint (REST-JSON):
  request headers ``Content-Type``, ``Accept``, ``X-Amzn-SageMaker-Target-Variant``,
  ``X-Amzn-SageMaker-Inference-Id`` (recorded in Data Capture);
  ``X-Amzn-SageMaker-Custom-Attributes`` is accepted and, as the built-in
  algorithm does, not answered. The response carries the model's body,
  ``Content-Type`` and ``x-Amzn-Invoked-Production-Variant``; every response
  carries ``x-amzn-RequestId``.
- ``GET /ping`` and ``POST /invocations`` — the algorithm container's routes.
  ``/ping`` is 200 when the server hosts at least one endpoint and is not
  loading one (with several endpoints: when all are loaded). ``/invocations``
  answers as the container does — its own status codes, no Data Capture
  (capture is the front end's job) — and needs the server to host exactly one
  endpoint, since the route names none.

Errors take the shape botocore parses for REST-JSON services: the code in the
``x-amzn-ErrorType`` header, a JSON body with ``Message`` (and ModelError's
``OriginalStatusCode``, ``OriginalMessage``, ``LogStreamArn``, ``ErrorCode``),
so boto3 raises ``client.exceptions.ValidationError``, ``ModelError``,
``ServiceUnavailable`` or ``InternalFailure``:

- no such endpoint: 400 ValidationError, "Endpoint NAME of account
  000000000000 not found." (AWS's wording);
- a body over 6 MB: 400 ValidationError, "Request ID has oversize body." — the
  limit is the API model's ``BodyBlob`` maximum, 6,291,456 bytes; the wording
  is what SageMaker answers serverless endpoints (real-time ones have answered
  a bare 413 in the past);
- a target variant the endpoint lacks: 400 ValidationError (Scones' wording);
- the container's own error answer (415 wrong content type, 406 wrong Accept,
  400 not an image, 413 an image over the pixel limit, 500 model failure, 503 full queue): 424 ModelError,
  "Received client error (415) from primary with message "…". See <CloudWatch
  URL> in account 000000000000 for more information." (AWS's wording; ``ErrorCode``
  is ``CLIENT_ERROR_FROM_MODEL`` as AWS sends, ``SERVER_ERROR_FROM_MODEL`` for
  5xx by analogy);
- no answer within the time limit (60 s): 424 ModelError, status 0, AWS's
  "Your invocation timed out …" message;
- an endpoint shutting down: 503 ServiceUnavailable;
- a model that cannot be loaded, or any fault of the server itself: 500
  InternalFailure; the fault is logged here and no client sees a stack trace.

The HTTP side (:mod:`.http_server`) is bounded as a production server is:
a partial request is answered 408 and closed after 30 s, an idle connection
closed after 5 s, connections past 4,096 get 503, and at most 64 requests are
worked on at once; ``/ping`` is answered by the event loop, so it answers
however busy the workers are. HTTP/1.1 connections persist, and HTTP/1.0 ones
do when the client asks (``Connection: Keep-Alive``, as ``ab -k`` does).

A full model queue is answered as a model server answers it — 503 from the
container, which SageMaker hands back as ModelError — after a short wait for
room (see :mod:`.micro_batcher`); botocore does not retry it, as it would not
against AWS.
"""

from __future__ import annotations

import json
import logging
import random
import re
import uuid
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import unquote, urlsplit

from scones.backends.local.endpoint_records import LOCAL_ACCOUNT_ID, EndpointNotFound
from scones.backends.local.http_server import HttpRequest, HttpResponse, HttpServer, ServerLimits
from scones.backends.local.inference_container import (
    RESPONSE_CONTENT_TYPE,
    ContainerError,
    InvocationTimeout,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# The container's name in SageMaker's ModelError messages for a single-container model.
CONTAINER_NAME = "primary"
INVOCATION_TIMEOUT_MESSAGE = (
    f"Your invocation timed out while waiting for a response from container {CONTAINER_NAME}. "
    "Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
INVOKE_PATH = re.compile(r"/endpoints/([^/]+)/invocations")
_ID_SOURCE = random.Random()


@dataclass(frozen=True)
class InvokeRequest:
    endpoint_name: str
    body: bytes
    content_type: str | None
    accept: str | None = None
    target_variant: str | None = None
    inference_id: str | None = None


class HostedEndpoint(Protocol):
    name: str
    variant: str

    def invoke(self, request: InvokeRequest) -> bytes:
        """The model's answer, captured; raises ContainerError, InvocationTimeout, ServiceUnavailableError."""

    def invoke_container(self, body: bytes, content_type: str | None, accept: str | None) -> bytes:
        """The container's answer, uncaptured and without a time limit."""


class EndpointHost(Protocol):
    def resolve(self, name: str) -> HostedEndpoint:
        """The endpoint called ``name``; raises EndpointNotFound."""

    def sole_endpoint(self) -> HostedEndpoint:
        """The one endpoint hosted; raises LookupError (saying what is hosted) otherwise."""

    def ready(self) -> bool:
        """Whether /ping should say healthy."""


class ServiceUnavailableError(Exception):
    """Raise to answer ServiceUnavailable (503) with this message."""


class InternalFailureError(Exception):
    """Raise to answer InternalFailure (500) with this message (it must be safe to show)."""


# ------------------------------------------------------------------ responses

def new_id() -> str:
    """A random version-4 UUID for a request or a capture record.

    Drawn from Python's generator, not :func:`uuid.uuid4`'s ``os.urandom``: a
    system call per ID releases the interpreter lock on every request, and the
    request threads then queue to get it back. These IDs must be unique, not
    secret; the generator is this module's own, seeded from ``os.urandom`` once,
    so nobody's ``random.seed`` makes them repeat.
    """
    return str(uuid.UUID(int=_ID_SOURCE.getrandbits(128), version=4))


def aws_error(status: int, error_type: str, message: str, **fields) -> HttpResponse:
    """A REST-JSON error: code in ``x-amzn-ErrorType``, ``Message`` and modelled fields in the body."""
    body = json.dumps({"Message": message, **fields}, sort_keys=True).encode("utf-8")
    return HttpResponse(status, body, "application/json", (("x-amzn-ErrorType", error_type),))


def validation_error(message: str) -> HttpResponse:
    return aws_error(400, "ValidationError", message)


def oversize_body(request_id: str) -> HttpResponse:
    return validation_error(f"Request {request_id} has oversize body.")


def log_group(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def model_error(endpoint_name: str, region: str, original_status: int, original_message: str) -> HttpResponse:
    """SageMaker's wrapping of a container's error answer (status 0: no answer at all)."""
    kind = "client" if 400 <= original_status < 500 else "server"
    console = (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
               f"#logEventViewer:group={log_group(endpoint_name)}")
    message = (f'Received {kind} error ({original_status}) from {CONTAINER_NAME} with message '
               f'"{original_message}". See {console} in account {LOCAL_ACCOUNT_ID} for more information.')
    return aws_error(424, "ModelError", message,
                     ErrorCode=f"{kind.upper()}_ERROR_FROM_MODEL",
                     LogStreamArn=f"arn:aws:logs:{region}:{LOCAL_ACCOUNT_ID}:log-group:{log_group(endpoint_name)}",
                     OriginalMessage=original_message,
                     OriginalStatusCode=original_status)


def service_unavailable(message: str) -> HttpResponse:
    return aws_error(503, "ServiceUnavailable", message)


def internal_failure(detail: str = "see the local endpoint server's log") -> HttpResponse:
    return aws_error(500, "InternalFailure", f"An internal failure occurred: {detail}")


def unknown_operation(method: str, path: str) -> HttpResponse:
    return aws_error(404, "UnknownOperationException",
                     f"No operation answers {method} {path}: POST /endpoints/NAME/invocations, "
                     "GET /ping or POST /invocations")


def container_answer(status: int, message: str) -> HttpResponse:
    """An error as the container itself sends it: its status, its message as text."""
    return HttpResponse(status, message.encode("utf-8"), "text/plain; charset=utf-8")


def json_answer(body: bytes, variant: str | None = None) -> HttpResponse:
    headers = (("x-Amzn-Invoked-Production-Variant", variant),) if variant else ()
    return HttpResponse(200, body, RESPONSE_CONTENT_TYPE, headers)


# --------------------------------------------------------------------- routes

def match_route(method: str, target: str) -> tuple[str, str | None]:
    """``(route, endpoint name)`` for a request line: invoke, ping, container or unknown."""
    path = urlsplit(target).path
    if method == "POST" and (match := INVOKE_PATH.fullmatch(path)):
        return "invoke", unquote(match.group(1))
    if method == "GET" and path == "/ping":
        return "ping", None
    if method == "POST" and path == "/invocations":
        return "container", None
    return "unknown", None


def invoke_endpoint(host: EndpointHost, request: InvokeRequest, region: str) -> HttpResponse:
    """InvokeEndpoint: the answer, or the error SageMaker gives for the fault."""
    name = request.endpoint_name
    try:
        endpoint = host.resolve(name)
        if request.target_variant is not None and request.target_variant != endpoint.variant:
            return validation_error(f"Variant {request.target_variant} of endpoint {name} of account "
                                    f"{LOCAL_ACCOUNT_ID} not found; its variant is {endpoint.variant}.")
        return json_answer(endpoint.invoke(request), endpoint.variant)
    except EndpointNotFound as error:
        return validation_error(str(error))
    except ContainerError as error:
        return model_error(name, region, error.status, error.message)
    except InvocationTimeout:
        return model_error(name, region, 0, INVOCATION_TIMEOUT_MESSAGE)
    except ServiceUnavailableError as error:
        return service_unavailable(str(error))
    except InternalFailureError as error:
        return internal_failure(str(error))


def invoke_container(host: EndpointHost, body: bytes, content_type: str | None, accept: str | None) -> HttpResponse:
    """POST /invocations: the hosted endpoint's container, answering in its own terms."""
    try:
        return json_answer(host.sole_endpoint().invoke_container(body, content_type, accept))
    except LookupError as error:
        return container_answer(400, str(error))
    except ContainerError as error:
        return container_answer(error.status, error.message)
    except ServiceUnavailableError as error:
        return container_answer(503, str(error))
    except InternalFailureError as error:
        return container_answer(500, str(error))


# --------------------------------------------------------------------- server

def request_id_header(response: HttpResponse, request_id: str) -> HttpResponse:
    return replace(response, headers=(("x-amzn-RequestId", request_id), *response.headers))


class RuntimeApplication:
    """The routes above as an :class:`~.http_server.HttpApplication`: /ping in the event loop, the rest on workers."""

    def __init__(self, host: EndpointHost, region: str):
        self.host = host
        self.region = region

    def quick_answer(self, request: HttpRequest) -> HttpResponse | None:
        head = request.head
        route, _ = match_route(head.method, head.target)
        if route == "ping":
            return request_id_header(HttpResponse(200 if self.host.ready() else 503), new_id())
        if route == "unknown":
            response = unknown_operation(head.method, head.target)
            return request_id_header(replace(response, close=request.body_error is not None), new_id())
        return None

    def answer(self, request: HttpRequest) -> HttpResponse:
        request_id = new_id()
        try:
            response = self._respond(request, request_id)
        except Exception:  # a fault of ours: logged here, never shown to the client
            log.exception("%s %s (request %s) failed", request.head.method, request.head.target, request_id)
            response = replace(internal_failure(), close=True)
        return request_id_header(response, request_id)

    def protocol_error(self, status: int, message: str) -> HttpResponse:
        return request_id_header(container_answer(status, message), new_id())

    def _respond(self, request: HttpRequest, request_id: str) -> HttpResponse:
        head, body = request.head, request.body
        route, name = match_route(head.method, head.target)
        if request.body_error is not None:
            refusal = (validation_error(request.body_error) if route == "invoke"
                       else container_answer(411, request.body_error))
            return replace(refusal, close=True)
        content_type, accept = head.header("Content-Type"), head.header("Accept")
        if route == "container":
            if body is None:
                return container_answer(413, f"the body is over {MAX_PAYLOAD_BYTES} bytes")
            return invoke_container(self.host, body, content_type, accept)
        if body is None:
            return oversize_body(request_id)
        invoke = InvokeRequest(endpoint_name=name, body=body, content_type=content_type, accept=accept,
                               target_variant=head.header("X-Amzn-SageMaker-Target-Variant"),
                               inference_id=head.header("X-Amzn-SageMaker-Inference-Id"))
        return invoke_endpoint(self.host, invoke, self.region)


class RuntimeServer(HttpServer):
    """The runtime's routes on ``host:port`` (127.0.0.1, a free port, by default), bounded by ``limits``.

    :meth:`close` stops accepting, then closes the connections still open
    (idle keep-alive ones), so no thread outlives the server.
    """

    def __init__(self, host: EndpointHost, address: tuple[str, int] = (DEFAULT_HOST, 0), *,
                 region: str = DEFAULT_REGION, limits: ServerLimits = ServerLimits()):
        self.host = host
        self.region = region
        super().__init__(RuntimeApplication(host, region), address,
                         limits=replace(limits, max_body_bytes=MAX_PAYLOAD_BYTES))

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"
