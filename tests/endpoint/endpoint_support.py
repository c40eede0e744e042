"""Test support for the local endpoint: a real tiny MXNet model, a fake clock, storage that fails on cue.

The model is a real Gluon network (conv → pool → dense → softmax on 3×32×32),
small enough to load in milliseconds, saved as a ``.params`` file: the
"artifact" the tests store in S3 and load through the resolver's
``load_predictor`` hook, as the real predictor loads a model.tar.gz.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from typing import Iterator

import boto3
import botocore.config
import mxnet as mx
import numpy as np
from mxnet import gluon

from scones.backends.local.endpoints import LocalEndpointServer, deploy_local_endpoint, serve
from scones.capture import CaptureConfig
from scones.images import decode_image, encode_png
from scones.storage import Storage

CLASS_NAMES = ("bicycle", "motorcycle")


def assert_same_answers(got: list[list[float]], expected: list[list[float]]) -> None:
    """Equal up to float32 rounding, the same class chosen: answers computed in different batches.

    oneDNN picks its convolution kernel by batch size on some CPUs (seen on AMD EPYC), which
    changes the order of summation and so the last bits of a probability; identical inputs in
    identically sized batches still give identical bytes (the exact tests rely on that).
    """
    assert len(got) == len(expected)
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=0, atol=1e-6)
    assert [int(np.argmax(answer)) for answer in got] == [int(np.argmax(answer)) for answer in expected]
IMAGE_SHAPE = (3, 32, 32)
# Every forward pass runs on exactly this many images (padded), see TinyPredictor.
FORWARD_BATCH = 32
SEED = 7


def png_image(seed: int) -> bytes:
    """A 32×32 PNG of seeded noise."""
    return encode_png(np.random.default_rng(seed).integers(0, 256, size=(32, 32, 3), dtype=np.uint8))


def _network() -> gluon.nn.HybridSequential:
    net = gluon.nn.HybridSequential(prefix="tiny_")
    with net.name_scope():
        net.add(gluon.nn.Conv2D(8, 3, padding=1, activation="relu"), gluon.nn.MaxPool2D(4), gluon.nn.Dense(2))
    return net


def tiny_artifact(seed: int = SEED) -> bytes:
    """The weights of a freshly initialised tiny network, as MXNet saves them."""
    mx.random.seed(seed)
    net = _network()
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, *IMAGE_SHAPE)))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "tiny.params")
        net.save_parameters(path)
        with open(path, "rb") as file:
            return file.read()


class TinyPredictor:
    """``predict_pixels(list of decoded images) -> probabilities`` with the tiny network (``predict``: from bytes).

    Every forward pass is padded to :data:`FORWARD_BATCH` images: MXNet's dense
    layer takes a different code path for one row than for many, which changes
    the last bit of some probabilities, and a fixed batch shape makes an
    image's answer the same whatever batch it travels in.
    """

    class_names = CLASS_NAMES
    image_shape = IMAGE_SHAPE

    def __init__(self, params: bytes):
        self._net = _network()
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "tiny.params")
            with open(path, "wb") as file:
                file.write(params)
            self._net.load_parameters(path, ctx=mx.cpu())
        self._net.hybridize(static_alloc=True, static_shape=True)

    def predict(self, images: list[bytes]) -> list[list[float]]:
        return self.predict_pixels([decode_image(body) for body in images])

    def predict_pixels(self, images: list[np.ndarray]) -> list[list[float]]:
        pixels = np.stack(images).transpose(0, 3, 1, 2)
        if pixels.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"the tiny model takes 32×32 RGB images, got {pixels.shape[2:]}")
        scaled = pixels.astype(np.float32) / 255
        probabilities = []
        for start in range(0, len(scaled), FORWARD_BATCH):
            chunk = scaled[start:start + FORWARD_BATCH]
            padded = np.zeros((FORWARD_BATCH, *IMAGE_SHAPE), dtype=np.float32)
            padded[:len(chunk)] = chunk
            scores = mx.nd.softmax(self._net(mx.nd.from_numpy(padded))).asnumpy()[:len(chunk)]
            probabilities.extend(scores.tolist())
        return probabilities


class GatedPredictor:
    """Wraps a predictor so each batch waits for ``gate``; records the batch sizes it saw."""

    def __init__(self, inner, gate: threading.Event):
        self.inner, self.gate = inner, gate
        self.class_names, self.image_shape = inner.class_names, inner.image_shape
        self.batch_sizes: list[int] = []
        self.entered = threading.Event()

    def predict(self, images: list[bytes]) -> list[list[float]]:
        return self._after_gate(self.inner.predict, images)

    def predict_pixels(self, images: list[np.ndarray]) -> list[list[float]]:
        return self._after_gate(self.inner.predict_pixels, images)

    def _after_gate(self, predict, images: list) -> list[list[float]]:
        self.batch_sizes.append(len(images))
        self.entered.set()
        if not self.gate.wait(10):
            raise TimeoutError("the test never opened the gate")
        return predict(images)


class FakeClock:
    """Time that moves only when told; waits return when the fake time reaches their deadline."""

    def __init__(self, start: datetime = datetime(2026, 1, 15, 10, 59, 58, 500000, tzinfo=timezone.utc)):
        self._now = start
        self._lock = threading.Lock()
        self._waiters: list[tuple[threading.Event, datetime]] = []
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            due = [event for event, deadline in self._waiters if deadline <= self._now]
        for event in due:
            event.set()

    def wait_until(self, event: threading.Event, deadline: datetime | None) -> bool:
        if deadline is not None:
            with self._lock:
                if deadline <= self._now:
                    return event.is_set()
                waiter = (event, deadline)
                self._waiters.append(waiter)
        try:
            return event.wait()
        finally:
            if deadline is not None:
                with self._lock:
                    self._waiters.remove(waiter)


class FlakyStorage:
    """A Storage whose first ``failing_puts`` puts raise, as an unreachable S3 would."""

    def __init__(self, storage: Storage, failing_puts: int = 0):
        self._storage = storage
        self.failing_puts = failing_puts
        self.put_attempts = 0
        self.stored = 0
        self._changed = threading.Condition()

    def put(self, uri: str, data: bytes, *, content_type: str | None = None) -> None:
        with self._changed:
            self.put_attempts += 1
            attempt = self.put_attempts
        if attempt <= self.failing_puts:
            raise ConnectionError(f"simulated S3 outage (put {attempt} of {uri})")
        self._storage.put(uri, data, content_type=content_type)
        with self._changed:
            self.stored += 1
            self._changed.notify_all()

    def wait_for_stored(self, count: int, timeout: float = 10) -> bool:
        """Block (bounded) until ``count`` puts have reached S3."""
        with self._changed:
            return self._changed.wait_for(lambda: self.stored >= count, timeout)

    def __getattr__(self, name):
        return getattr(self._storage, name)


def runtime_client(url: str, *, retries: int = 1):
    """A boto3 SageMaker runtime client for ``url``; ``retries`` total attempts (1: no retry)."""
    config = botocore.config.Config(retries={"total_max_attempts": retries, "mode": "standard"},
                                    max_pool_connections=64)
    return boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test", config=config)


ENDPOINT = "scones-endpoint"


@contextlib.contextmanager
def served_endpoint(storage: Storage, bucket: str, model_uri: str, *, name: str = ENDPOINT,
                    capture: CaptureConfig | None | str = "default", **options) -> Iterator[LocalEndpointServer]:
    """A server on loopback with one deployed endpoint (tiny model, full capture unless told otherwise)."""
    if capture == "default":
        capture = CaptureConfig(f"s3://{bucket}/data_capture")
    options.setdefault("load_predictor", TinyPredictor)
    with serve(storage, bucket, **options) as server:
        deploy_local_endpoint(server, name, model_uri, capture=capture)
        yield server


def capture_files(storage: Storage, bucket: str, name: str = ENDPOINT, variant: str = "AllTraffic") -> list[str]:
    """The URIs of an endpoint variant's capture files, in key order."""
    return [item.uri for item in storage.list(f"s3://{bucket}/data_capture/{name}/{variant}/")]


def capture_lines(storage: Storage, bucket: str, name: str = ENDPOINT) -> list[dict]:
    """Every capture record of the endpoint, parsed."""
    return [json.loads(line) for data in storage.get_many(capture_files(storage, bucket, name))
            for line in data.decode().splitlines()]
