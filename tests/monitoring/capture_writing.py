"""Writing capture files the way the local endpoint does: scones.capture's records under capture_key."""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from scones.bucket_layout import capture_key, capture_prefix
from scones.capture import CaptureConfig, CaptureRecord, build_record
from scones.storage import Storage

ENDPOINT = "scones-endpoint"
VARIANT = "AllTraffic"
CLASSES = ("bicycle", "motorcycle")


def png_image(seed: int) -> bytes:
    """A 32x32 PNG of seeded noise: a CIFAR-sized image the thumbnails can decode."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def inference_record(moment: datetime, probabilities: Sequence[float], *, seed: int = 0,
                     capture_input: bool = True, capture_output: bool = True) -> CaptureRecord:
    """The record the local endpoint writes for one image/png request and its JSON answer."""
    config = CaptureConfig("s3://destination/data_capture", capture_input=capture_input,
                           capture_output=capture_output)
    return build_record(
        config=config,
        event_id=str(uuid.UUID(int=seed + 1)),
        inference_time=moment,
        request_body=png_image(seed),
        request_content_type="image/png",
        response_body=json.dumps(list(probabilities)).encode(),
        response_content_type="application/json",
    )


def capture_text(lines: Sequence[CaptureRecord | str]) -> str:
    """JSON Lines text; a str is written as it is (for malformed lines)."""
    return "".join(line.to_line() if isinstance(line, CaptureRecord) else line + "\n" for line in lines)


def put_capture_file(storage: Storage, bucket: str, opened_at: datetime, lines: Sequence[CaptureRecord | str], *,
                     endpoint: str = ENDPOINT, variant: str = VARIANT, file_number: int = 0) -> str:
    """Store one capture file at its SageMaker key; returns its URI."""
    prefix = capture_prefix(f"s3://{bucket}/data_capture", endpoint, variant)
    uri = str(capture_key(prefix, opened_at, str(uuid.UUID(int=file_number))))
    storage.put(uri, capture_text(lines).encode())
    return uri


def write_capture_file(root: Path, opened_at: datetime, lines: Sequence[CaptureRecord | str], *,
                       variant: str = VARIANT, file_number: int = 0) -> Path:
    """The same file in a local folder, laid out as `aws s3 cp --recursive` downloads it."""
    key = capture_key(capture_prefix("s3://local/data_capture", ENDPOINT, variant), opened_at,
                      str(uuid.UUID(int=file_number))).key
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(capture_text(lines))
    return path
