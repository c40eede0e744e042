"""The model container's side of an invocation: what it accepts, what it answers, how it fails.

SageMaker's front end hands each request to the algorithm's container
(``POST /invocations``); the container answers with the JSON list of class
probabilities, or with an HTTP error status and a message, which the front end
wraps into ``ModelError``. This module is that container for any predictor —
an object with ``predict_pixels(images: list[H×W×3 uint8 array]) -> list[list[float]]``.

Each request's body is decoded once, on the request's own worker thread,
*before* it joins a batch, so a body that is not an image fails alone and
early; the batch then hands the decoded pixels to one forward pass for
everyone. The request is announced to the batcher before it is decoded, so
an open batch waits for it.

Decoding is bounded (:class:`ImageLimits`): an image whose header declares
more pixels than the limit is refused before a pixel is decoded (a 20 KB PNG
can declare 13,000×13,000 pixels: 2.1 GB and 12 s to decode), and at most
``concurrent_decodes`` bodies decode at once. The limit is chosen for the
model: 4096×4096 (16.8 megapixels, 50 MB decoded; a phone photo is 12), or
the model's own input size if that is larger — any image is resized to the
model's input, so more pixels carry nothing the model can use. Set it with
``SCONES_MAX_IMAGE_PIXELS``.

The status codes are the ones the image-classification container uses for
the same faults; the messages are Scones' own, written to say what to send
instead.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import numpy as np

from scones.backends.local.micro_batcher import BatchPolicy, MicroBatcher, QueueFull
from scones.images import ImageDecodeError, ImageTooLarge, decode_image

log = logging.getLogger(__name__)

IMAGE_CONTENT_TYPES = ("image/png", "image/jpeg", "application/x-image")
RESPONSE_CONTENT_TYPE = "application/json"
# Accept values the container satisfies with its JSON answer.
JSON_ACCEPT_TYPES = ("application/json", "*/*", "application/*")
DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096
MAX_IMAGE_PIXELS_VARIABLE = "SCONES_MAX_IMAGE_PIXELS"


@dataclass(frozen=True)
class ImageLimits:
    """How many pixels a request's image may declare, and how many images decode at once."""

    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    concurrent_decodes: int = 2

    def __post_init__(self):
        if self.max_pixels < 1 or self.concurrent_decodes < 1:
            raise ValueError(f"image limits must be positive, got {self}")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "ImageLimits":
        """The defaults, with ``SCONES_MAX_IMAGE_PIXELS`` when set."""
        text = environ.get(MAX_IMAGE_PIXELS_VARIABLE)
        if text is None:
            return cls()
        if not text.strip().isdigit() or int(text) < 1:
            raise ValueError(f"{MAX_IMAGE_PIXELS_VARIABLE}={text!r} is not a pixel count: set it to a whole "
                             f"number such as {DEFAULT_MAX_IMAGE_PIXELS} (4096×4096), or unset it")
        return cls(max_pixels=int(text))


def pixel_limit(limits: ImageLimits, image_shape: tuple[int, int, int]) -> int:
    """The most pixels a request's image may have: the configured limit, or the model's own input if larger."""
    _, height, width = image_shape
    return max(limits.max_pixels, height * width)


class ImagePredictor(Protocol):
    class_names: Sequence[str]
    image_shape: tuple[int, int, int]

    def predict_pixels(self, images: list[np.ndarray]) -> list[list[float]]:
        """Class probabilities per decoded H×W×3 uint8 image."""


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


def too_many_pixels(error: ImageTooLarge) -> ContainerError:
    """The container's answer to an image over the pixel limit (413: the decoded payload is too large)."""
    return ContainerError(413, f"The request body is refused: {error}")


def not_an_image(body: bytes) -> ContainerError:
    """The container's answer to a body it cannot decode (PIL's reason goes to the log, not the client)."""
    return ContainerError(400, f"The {len(body)}-byte request body is not an image the model can read: "
                               "send PNG or JPEG bytes")


def encode_probabilities(probabilities: Sequence[float]) -> bytes:
    """The algorithm's response body: ``[0.97, 0.03]``."""
    return json.dumps([float(p) for p in probabilities]).encode("utf-8")


class ImageClassifierContainer:
    """Serves one predictor: checks, one bounded decode per request, micro-batched predict, JSON answer."""

    def __init__(self, predictor: ImagePredictor, policy: BatchPolicy = BatchPolicy(), *,
                 limits: ImageLimits = ImageLimits(), name: str = "model"):
        self.predictor = predictor
        self.max_pixels = pixel_limit(limits, predictor.image_shape)
        self._decoding = threading.BoundedSemaphore(limits.concurrent_decodes)
        self.batcher: MicroBatcher[np.ndarray, list[float]] = MicroBatcher(
            predictor.predict_pixels, policy, name=f"micro-batcher {name}")

    def invoke(self, body: bytes, content_type: str | None, accept: str | None = None,
               timeout: float | None = None) -> bytes:
        """The response body for one request; raises ContainerError or InvocationTimeout."""
        check_content_type(content_type)
        check_accept(accept)
        with self.batcher.announce() as arrival:
            pixels = self.decode(body)
            try:
                future = arrival.submit(pixels)
            except QueueFull as error:
                raise ContainerError(503, str(error)) from None
        try:
            return encode_probabilities(future.result(timeout))
        except FutureTimeout:
            raise InvocationTimeout(f"no answer within {timeout:g} s") from None
        except Exception as error:  # the model's own failure, answered as its 500
            log.exception("the model failed on a %d-byte %s body", len(body), content_type)
            raise ContainerError(500, f"the model failed on this image ({type(error).__name__}: {error})") \
                from None

    def classify_many(self, bodies: Sequence[bytes]) -> list:
        """Each body's class probabilities, or the ContainerError it alone fails with, from one forward pass.

        What ``scones batch`` hands the endpoint: a batch already gathered
        needs no micro-batcher, and a body that is not an image fails only itself.
        """
        answers: list = []
        for body in bodies:
            try:
                answers.append(self.decode(body))
            except ContainerError as error:
                answers.append(error)
        decoded = [index for index, answer in enumerate(answers) if not isinstance(answer, Exception)]
        if decoded:
            for index, probabilities in zip(decoded, self.predictor.predict_pixels([answers[i] for i in decoded])):
                answers[index] = probabilities
        return answers

    def decode(self, body: bytes) -> np.ndarray:
        """The body's pixels, decoded once; at most ``concurrent_decodes`` at a time; raises ContainerError."""
        with self._decoding:
            try:
                return decode_image(body, max_pixels=self.max_pixels)
            except ImageTooLarge as error:
                log.info("refused an image over the pixel limit: %s", error)
                raise too_many_pixels(error) from None
            except ImageDecodeError as error:
                log.info("refused a body that is not an image: %s", error)
                raise not_an_image(body) from None

    def close(self) -> None:
        """Finish the queued requests; later ones raise BatcherClosed."""
        self.batcher.close()
