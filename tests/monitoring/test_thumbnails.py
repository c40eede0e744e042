"""Only the least confident inputs are kept, and they are decoded into thumbnails."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timezone

from .capture_writing import png_image
from PIL import Image

from scones.capture import CapturedPayload
from scones.monitoring.rows import InferenceRow
from scones.monitoring.thumbnails import THUMBNAIL_PIXELS, LowestConfidence, make_thumbnail

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def row(confidence: float, number: int) -> InferenceRow:
    return InferenceRow(T0, 0, "bicycle", confidence, (confidence, 1 - confidence), confidence >= 0.93,
                        f"event-{number}", "f.jsonl", number)


def png_payload(seed: int) -> CapturedPayload:
    return CapturedPayload("image/png", "INPUT", base64.b64encode(png_image(seed)).decode(), "BASE64")


def test_the_lowest_are_kept_least_confident_first_and_earliest_among_equals():
    lowest = LowestConfidence(3)
    for number, confidence in enumerate([0.9, 0.5, 0.99, 0.7, 0.5, 0.6, 0.95]):
        lowest.offer(row(confidence, number), png_payload(number))
    kept = [(r.confidence, r.line_number) for r, _ in lowest.lowest()]
    assert kept == [(0.5, 1), (0.5, 4), (0.6, 5)]


def test_nothing_is_kept_when_no_thumbnail_is_asked_for():
    lowest = LowestConfidence(0)
    lowest.offer(row(0.1, 1), png_payload(1))
    assert lowest.lowest() == []


def test_a_captured_png_becomes_an_enlarged_png_data_uri():
    thumbnail = make_thumbnail(row(0.5, 1), png_payload(3))
    prefix = "data:image/png;base64,"
    assert thumbnail.data_uri.startswith(prefix) and thumbnail.problem is None
    image = Image.open(io.BytesIO(base64.b64decode(thumbnail.data_uri[len(prefix):])))
    assert image.size == (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS)
    original = Image.open(io.BytesIO(png_image(3))).convert("RGB")
    assert image.convert("RGB").getpixel((0, 0)) == original.getpixel((0, 0))  # sharp pixels, not blurred


def test_an_input_that_is_no_image_is_explained():
    text = CapturedPayload("application/json", "INPUT", '{"url": "s3://x"}', "JSON")
    assert make_thumbnail(row(0.5, 1), text).problem == "the captured input (application/json) is not an image"
    broken = CapturedPayload("image/png", "INPUT", "%%%", "BASE64")
    assert make_thumbnail(row(0.5, 1), broken).problem == "the captured input is not valid BASE64"
