"""Thumbnails of the least confident inferences, decoded from the captured BASE64 input.

Only the N lowest-confidence candidates are kept while reading (a bounded
heap), and only they are decoded, at the end: the other million images are
never touched.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from scones.capture import CapturedPayload
from scones.monitoring.rows import InferenceRow

# CIFAR images are 32x32: enlarged with sharp pixels so a person can see them.
THUMBNAIL_PIXELS = 96


@dataclass(frozen=True)
class Thumbnail:
    row: InferenceRow
    data_uri: str | None  # a PNG data URI, None when the input is not an image
    problem: str | None = None  # why there is no image


class LowestConfidence:
    """The ``count`` lowest-confidence rows seen (earliest first among equals), with their inputs."""

    def __init__(self, count: int):
        self.count = count
        self._heap: list[tuple[float, int, InferenceRow, CapturedPayload]] = []  # max-heap via negation
        self._seen = 0

    def offer(self, row: InferenceRow, payload: CapturedPayload) -> None:
        if self.count <= 0:
            return
        self._seen += 1
        entry = (-row.confidence, -self._seen, row, payload)
        if len(self._heap) < self.count:
            heapq.heappush(self._heap, entry)
        elif entry[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, entry)

    def lowest(self) -> list[tuple[InferenceRow, CapturedPayload]]:
        """The kept rows, least confident first."""
        return [(row, payload) for _, _, row, payload in sorted(self._heap, reverse=True)]


def thumbnail_png(body: bytes, pixels: int = THUMBNAIL_PIXELS) -> bytes:
    """``body`` (any image Pillow reads) scaled so its longer side is ``pixels``, as PNG."""
    with Image.open(io.BytesIO(body)) as image:
        image = image.convert("RGB")
        scale = pixels / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
        out = io.BytesIO()
        image.resize(size, resample).save(out, format="PNG")
        return out.getvalue()


def make_thumbnail(row: InferenceRow, payload: CapturedPayload) -> Thumbnail:
    try:
        png = thumbnail_png(payload.body())
    except binascii.Error:
        return Thumbnail(row, None, "the captured input is not valid BASE64")
    except (UnidentifiedImageError, OSError):
        return Thumbnail(row, None, f"the captured input ({payload.observed_content_type}) is not an image")
    return Thumbnail(row, "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
