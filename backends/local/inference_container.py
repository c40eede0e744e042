"""The model container's side of an invocation: what it accepts, what it answers, how it fails.

SageMaker's front end hands each request to the algorithm's container
(``POST /invocations``); the container answers with the JSON list of class
probabilities, or with an HTTP error status and a message, which the front end
wraps into ``ModelError``. This module is that container for any predictor —
an object with ``predict(images: list[bytes]) -> list[list[float]]`` that
raises :class:`scones.images.ImageDecodeError` for bytes that are not an image.

Each request's body is decoded on the request's own thread *before* it joins
a batch, so a body that is not an image fails alone and early; the batch then
runs one forward pass for everyone. The request is announced to the batcher
before it is decoded, so an open batch waits for it. (The predictor decodes again: its
interface takes bytes; a 32×32 PNG decodes in about 0.1 ms.)

The status codes are the ones the image-classification container uses for
the same faults; the messages are Scones' own, written to say what to send
instead.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol, Sequence

from scones.backends.local.micro_batcher import BatchPolicy, MicroBatcher, QueueFull
from scones.images import ImageDecodeError, decode_image

log = logging.getLogger(__name__)

IMAGE_CONTENT_TYPES = ("image/png", "image/jpeg", "application/x-image")
RESPONSE_CONTENT_TYPE = "application/json"
# Accept values the container satisfies with its JSON answer.
JSON_ACCEPT_TYPES = ("application/json", "*/*", "application/*")


class ImagePredictor(Protocol):
    class_names: Sequence[str]
    image_shape: tuple[int, int, int]

    def predict(self, images: list[bytes]) -> list[list[float]]:
        """Class probabilities per image; raises ImageDecodeError for bytes that are not an image."""


class ContainerError(Exception):
    """The container's error answer: an HTTP status and the message it sends."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class InvocationTimeout(Exception):
    """The container did not answer within the front end's time limit."""


def media_type(header: str | None) -> str:
    """``image/png`` from ``image/png; charset=binary``; empty for a missing header."""
    return (header or "").split(";", 1)[0].strip().lower()


def check_content_type(content_type: str | None) -> None:
    if media_type(content_type) not in IMAGE_CONTENT_TYPES:
        raise ContainerError(415, f"Content type {content_type or '(none)'} is not supported: send the "
                                  f"image bytes as {', '.join(IMAGE_CONTENT_TYPES)}")


def check_accept(accept: str | None) -> None:
    """A missing Accept, or one the JSON answer satisfies, is fine; anything else is 406."""
    wanted = [media_type(part) for part in (accept or "").split(",") if part.strip()]
    if wanted and not any(kind in JSON_ACCEPT_TYPES for kind in wanted):
        raise ContainerError(406, f"Accept type {accept} is not supported: this model answers "
                                  f"{RESPONSE_CONTENT_TYPE}")


def not_an_image(body: bytes) -> ContainerError:
    """The container's answer to a body it cannot decode (PIL's reason goes to the log, not the client)."""
    return ContainerError(400, f"The {len(body)}-byte request body is not an image the model can read: "
                               "send PNG or JPEG bytes")


def encode_probabilities(probabilities: Sequence[float]) -> bytes:
    """The algorithm's response body: ``[0.97, 0.03]``."""
    return json.dumps([float(p) for p in probabilities]).encode("utf-8")


class ImageClassifierContainer:
    """Serves one predictor: checks, per-request decode, micro-batched predict, JSON answer."""

    def __init__(self, predictor: ImagePredictor, policy: BatchPolicy = BatchPolicy(), *,
                 name: str = "model"):
        self.predictor = predictor
        self.batcher: MicroBatcher[bytes, list[float]] = MicroBatcher(
            predictor.predict, policy, name=f"micro-batcher {name}")

    def invoke(self, body: bytes, content_type: str | None, accept: str | None = None,
               timeout: float | None = None) -> bytes:
        """The response body for one request; raises ContainerError or InvocationTimeout."""
        check_content_type(content_type)
        check_accept(accept)
        with self.batcher.announce() as arrival:
            try:
                decode_image(body)
            except ImageDecodeError as error:
                log.info("refused a body that is not an image: %s", error)
                raise not_an_image(body) from None
            try:
                future = arrival.submit(body)
            except QueueFull as error:
                raise ContainerError(503, str(error)) from None
        try:
            return encode_probabilities(future.result(timeout))
        except FutureTimeout:
            raise InvocationTimeout(f"no answer within {timeout:g} s") from None
        except ImageDecodeError as error:
            log.info("the model could not decode a body: %s", error)
            raise not_an_image(body) from None
        except Exception as error:  # the model's own failure, answered as its 500
            log.exception("the model failed on a %d-byte %s body", len(body), content_type)
            raise ContainerError(500, f"the model failed on this image ({type(error).__name__}: {error})") \
                from None

    def close(self) -> None:
        """Finish the queued requests; later ones raise BatcherClosed."""
        self.batcher.close()
