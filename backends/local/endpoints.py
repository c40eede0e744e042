"""Local real-time endpoints: load, serve with Data Capture, deploy, shut down.

- :class:`LocalEndpoint` — one deployed endpoint: the model container (micro-
  batched predictor), its production variant, and its Data Capture: each
  successful invocation is sampled (``InitialSamplingPercentage``, with an
  injectable random draw) and captured through a :class:`CaptureWriter`.
- :class:`EndpointResolver` — endpoint name → loaded endpoint. Endpoints are
  found through their storage records (:mod:`.endpoint_records`), so a server
  serves every endpoint recorded in its bucket; each model artifact is
  downloaded and loaded once per artifact URI and ETag, whatever the number of
  endpoints using it.
- :func:`serve` — a context manager running the runtime server on 127.0.0.1;
  leaving it stops accepting, finishes the requests in flight, and flushes
  every endpoint's capture (raising :class:`CaptureWriteError` if records
  could not be written).
- :func:`deploy_local_endpoint` — load a model behind a running server and
  record the endpoint with the server's URL, so ``scones invoke`` in another
  process finds it.

A served endpoint keeps being served until the server stops, even if its
record is deleted meanwhile; deploying a name again replaces the endpoint.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
from typing import Callable, Iterator, Sequence

from scones.errors import SconesError
from scones.backend import DEFAULT_VARIANT
from scones.backends.local.capture_spool import CaptureSpool, default_spool_root
from scones.backends.local.capture_writer import (
    SYSTEM_CLOCK,
    CaptureWriteError,
    CaptureWriter,
    Clock,
    FlushPolicy,
    RetryPolicy,
)
from scones.backends.local.endpoint_records import (
    LOCAL_INSTANCE_TYPE,
    EndpointRecord,
    EndpointRecordError,
    lookup_endpoint,
    record_endpoint,
)
from scones.backends.local.http_server import ServerLimits
from scones.backends.local.inference_container import (
    RESPONSE_CONTENT_TYPE,
    ImageClassifierContainer,
    ImageLimits,
    ImagePredictor,
)
from scones.backends.local.micro_batcher import BatcherClosed, BatchPolicy
from scones.backends.local.runtime_server import (
    DEFAULT_HOST,
    DEFAULT_REGION,
    InternalFailureError,
    InvokeRequest,
    RuntimeServer,
    ServiceUnavailableError,
    new_id,
)
from scones.bucket_layout import capture_prefix
from scones.capture import CaptureConfig, build_record, is_sampled
from scones.storage import Storage, StorageError

# SageMaker gives a model container 60 seconds to answer.
INVOCATION_TIMEOUT_SECONDS = 60.0

LoadPredictor = Callable[[bytes], ImagePredictor]


class ModelLoadError(InternalFailureError, SconesError):
    """An endpoint's model could not be loaded; the message names the artifact and the reason."""


def load_artifact_predictor(tarball: bytes) -> ImagePredictor:
    """The real predictor for a model.tar.gz (imported here: it pulls in MXNet)."""
    from scones.backends.local.predictor import Predictor

    return Predictor.from_artifact(tarball)


class LocalEndpoint:
    """One endpoint: container + variant + Data Capture; :meth:`invoke` is thread-safe."""

    def __init__(self, record: EndpointRecord, container: ImageClassifierContainer,
                 capture: CaptureWriter | None, *, clock: Clock = SYSTEM_CLOCK,
                 draw: Callable[[], float] = random.random,
                 invocation_timeout: float = INVOCATION_TIMEOUT_SECONDS):
        self.record = record
        self.container = container
        self.capture = capture
        self._clock = clock
        self._draw = draw
        self._invocation_timeout = invocation_timeout
        self._in_flight = 0
        self._closing = False
        self._idle = threading.Condition()

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def variant(self) -> str:
        return self.record.variant

    def invoke(self, request: InvokeRequest) -> bytes:
        """The model's answer to one InvokeEndpoint; captured when sampled."""
        with self._admitted():
            received_at = self._clock.now()
            answer = self.container.invoke(request.body, request.content_type, request.accept,
                                           timeout=self._invocation_timeout)
            if self.capture is not None and is_sampled(self.record.capture.sampling_percentage, self._draw()):
                self.capture.add(build_record(
                    config=self.record.capture, event_id=new_id(), inference_time=received_at,
                    request_body=request.body, request_content_type=request.content_type,
                    response_body=answer, response_content_type=RESPONSE_CONTENT_TYPE,
                    inference_id=request.inference_id))
            return answer

    def classify_many(self, bodies: Sequence[bytes]) -> list:
        """A batch's probabilities (or per-body errors) from the container in one pass; not captured."""
        with self._admitted():
            return self.container.classify_many(bodies)

    def invoke_container(self, body: bytes, content_type: str | None, accept: str | None) -> bytes:
        """The container's answer alone, as its own POST /invocations gives it."""
        with self._admitted():
            return self.container.invoke(body, content_type, accept)

    def close(self) -> None:
        """Refuse new requests, wait for those in flight, drain the batcher, flush the capture."""
        with self._idle:
            self._closing = True
            self._idle.wait_for(lambda: self._in_flight == 0)
        self.container.close()
        if self.capture is not None:
            self.capture.close()

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        with self._idle:
            if self._closing:
                raise ServiceUnavailableError(f"Endpoint {self.name} is shutting down. Try your call again "
                                              "once it is deployed again.")
            self._in_flight += 1
        try:
            yield
        except BatcherClosed as error:
            raise ServiceUnavailableError(f"Endpoint {self.name} is shutting down ({error}).") from None
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()


class EndpointResolver:
    """Endpoint name → :class:`LocalEndpoint`, loading from storage on first use.

    Models are cached by artifact URI and ETag: endpoints sharing an artifact
    share one loaded predictor; a changed artifact is loaded afresh.
    """

    def __init__(self, storage: Storage, bucket: str, *, load_predictor: LoadPredictor = load_artifact_predictor,
                 batching: BatchPolicy = BatchPolicy(), flushing: FlushPolicy = FlushPolicy(),
                 retry: RetryPolicy = RetryPolicy(), clock: Clock = SYSTEM_CLOCK,
                 draw: Callable[[], float] = random.random,
                 invocation_timeout: float = INVOCATION_TIMEOUT_SECONDS, images: ImageLimits | None = None,
                 spool_root: str | None = None):
        self.storage = storage
        self._spool_root = spool_root if spool_root is not None else default_spool_root(os.environ)
        self._images = images if images is not None else ImageLimits.from_environ(os.environ)
        self.bucket = bucket
        self._load_predictor = load_predictor
        self._batching = batching
        self._flushing = flushing
        self._retry = retry
        self.clock = clock
        self._draw = draw
        self._invocation_timeout = invocation_timeout
        self._endpoints: dict[str, LocalEndpoint] = {}
        self._predictors: dict[tuple[str, str], ImagePredictor] = {}
        self._load_lock = threading.Lock()  # one load at a time; reads of _endpoints need no lock

    def resolve(self, name: str) -> LocalEndpoint:
        """The endpoint called ``name``; raises EndpointNotFound, or InternalFailureError if it cannot load."""
        endpoint = self._endpoints.get(name)
        if endpoint is not None:
            return endpoint
        with self._load_lock:
            endpoint = self._endpoints.get(name)
            if endpoint is None:
                try:
                    record = lookup_endpoint(self.storage, self.bucket, name)
                except (StorageError, EndpointRecordError) as error:
                    raise InternalFailureError(f"the record of endpoint {name} cannot be read: {error}") from None
                endpoint = self._start(record)
                self._endpoints[name] = endpoint
            return endpoint

    def load(self, record: EndpointRecord) -> LocalEndpoint:
        """Serve ``record`` now, replacing (and closing) any endpoint of that name."""
        with self._load_lock:
            endpoint = self._start(record)
            previous = self._endpoints.get(record.name)
            self._endpoints[record.name] = endpoint
            in_use = [e.container.predictor for e in self._endpoints.values()]
            self._predictors = {key: p for key, p in self._predictors.items() if any(p is u for u in in_use)}
        if previous is not None:
            previous.close()
        return endpoint

    def unload(self, name: str) -> bool:
        """Stop serving ``name``, flushing its captures; False if it was not served here."""
        with self._load_lock:
            endpoint = self._endpoints.pop(name, None)
        if endpoint is None:
            return False
        endpoint.close()
        return True

    def sole_endpoint(self) -> LocalEndpoint:
        endpoints = list(self._endpoints.values())
        if len(endpoints) != 1:
            hosted = ", ".join(sorted(e.name for e in endpoints)) or "none"
            raise LookupError(f"POST /invocations needs exactly one hosted endpoint; hosted: {hosted}. "
                              "Use POST /endpoints/NAME/invocations")
        return endpoints[0]

    def ready(self) -> bool:
        return bool(self._endpoints) and not self._load_lock.locked()

    def close(self) -> None:
        """Close every endpoint; raise the first capture failure after closing them all."""
        with self._load_lock:
            endpoints, self._endpoints = list(self._endpoints.values()), {}
        errors = []
        for endpoint in endpoints:
            try:
                endpoint.close()
            except CaptureWriteError as error:
                errors.append(error)
        if errors:
            raise errors[0]

    # ---------------------------------------------------------------- loading

    def _start(self, record: EndpointRecord) -> LocalEndpoint:
        container = ImageClassifierContainer(self._predictor(record.model_uri), self._batching, limits=self._images,
                                             name=record.name)
        capture = None
        if record.capture is not None and record.capture.enabled:
            prefix = capture_prefix(record.capture.destination_s3_uri, record.name, record.variant)
            capture = CaptureWriter(self.storage, prefix, policy=self._flushing, retry=self._retry,
                                    clock=self.clock, spool=CaptureSpool(self._spool_root, prefix))
        return LocalEndpoint(record, container, capture, clock=self.clock, draw=self._draw,
                             invocation_timeout=self._invocation_timeout)

    def _predictor(self, model_uri: str) -> ImagePredictor:
        try:
            key = (model_uri, self._etag(model_uri))
            if key not in self._predictors:
                self._predictors[key] = self._load_predictor(self.storage.get(model_uri))
            return self._predictors[key]
        except (StorageError, ValueError) as error:  # missing object, ArtifactError, bad bytes
            raise ModelLoadError(f"the model {model_uri} could not be loaded: {error}") from None

    def _etag(self, uri: str) -> str:
        for stored in self.storage.list(uri):
            if stored.uri == uri:
                return stored.etag
        raise StorageError(f"no such object {uri}")


class LocalEndpointServer:
    """A running runtime server and the resolver behind it."""

    def __init__(self, server: RuntimeServer, resolver: EndpointResolver):
        self.runtime = server
        self.resolver = resolver

    @property
    def url(self) -> str:
        return self.runtime.url

    @property
    def storage(self) -> Storage:
        return self.resolver.storage

    @property
    def bucket(self) -> str:
        return self.resolver.bucket


@contextlib.contextmanager
def serve(storage: Storage, bucket: str, *, endpoint_names: Sequence[str] = (), host: str = DEFAULT_HOST,
          port: int = 0, region: str = DEFAULT_REGION, limits: ServerLimits = ServerLimits(),
          **resolver_options) -> Iterator[LocalEndpointServer]:
    """Run the runtime server for the endpoints recorded in ``bucket``.

    ``endpoint_names`` are loaded before the server is yielded (an unknown one
    raises EndpointNotFound); others load on their first request.
    ``limits`` bound the HTTP server (timeouts, connections, workers);
    ``resolver_options`` go to :class:`EndpointResolver` (``load_predictor``,
    ``batching``, ``flushing``, ``retry``, ``clock``, ``draw``, ``invocation_timeout``,
    ``images``, ``spool_root``).
    """
    resolver = EndpointResolver(storage, bucket, **resolver_options)
    runtime = RuntimeServer(resolver, (host, port), region=region, limits=limits)
    try:
        for name in endpoint_names:
            resolver.resolve(name)
        runtime.start()
        yield LocalEndpointServer(runtime, resolver)
    finally:
        runtime.stop_accepting()
        try:
            resolver.close()
        finally:
            runtime.close()


def deploy_local_endpoint(server: LocalEndpointServer, name: str, model_uri: str, *,
                          capture: CaptureConfig | None = None, variant: str = DEFAULT_VARIANT,
                          instance_type: str = LOCAL_INSTANCE_TYPE) -> EndpointRecord:
    """Load ``model_uri`` behind ``server`` as endpoint ``name``, then record it as InService.

    The record is written only once the model has loaded (ModelLoadError if it
    cannot), so another process never finds an endpoint that cannot answer.
    """
    record = EndpointRecord(name=name, model_uri=model_uri, url=server.url, created=server.resolver.clock.now(),
                            variant=variant, instance_type=instance_type, capture=capture)
    server.resolver.load(record)
    record_endpoint(server.storage, server.bucket, record)
    return record
