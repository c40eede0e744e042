"""SageMaker Data Capture: the configuration, the JSON Lines records and their S3 keys.

A real-time endpoint with Data Capture writes one JSON object per captured
invocation::

    {"captureData": {"endpointInput":  {"observedContentType": "image/png", "mode": "INPUT",
                                        "data": "iVBORw0…", "encoding": "BASE64"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "[0.97, 0.03]", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "…uuid…", "inferenceTime": "2026-11-23T19:30:00Z"},
     "eventVersion": "0"}

into ``DESTINATION/ENDPOINT/VARIANT/yyyy/mm/dd/hh/mm-ss-mmm-UUID.jsonl``
(:func:`scones.bucket_layout.capture_key`). The
local endpoint writes exactly this, and monitoring reads exactly this, so
captures move between the local and the AWS backend unchanged.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from scones.errors import InputError
from scones.s3_uri import S3Uri

EVENT_VERSION = "0"
DEFAULT_JSON_CONTENT_TYPES = ("application/json",)
DEFAULT_CSV_CONTENT_TYPES = ("text/csv",)
CAPTURE_MODES = ("Input", "Output")


class CaptureFormatError(InputError):
    """A line that is not a SageMaker Data Capture record."""


@dataclass(frozen=True)
class CaptureConfig:
    """What to capture, where, and how often: the API's ``DataCaptureConfig``."""

    destination_s3_uri: str
    sampling_percentage: int = 100
    capture_input: bool = True
    capture_output: bool = True
    enabled: bool = True
    json_content_types: tuple[str, ...] = DEFAULT_JSON_CONTENT_TYPES
    csv_content_types: tuple[str, ...] = DEFAULT_CSV_CONTENT_TYPES

    def __post_init__(self):
        S3Uri.parse(self.destination_s3_uri)
        if not 0 <= self.sampling_percentage <= 100 or int(self.sampling_percentage) != self.sampling_percentage:
            raise InputError(
                f"sampling percentage must be a whole number from 0 to 100, got {self.sampling_percentage!r}"
            )
        if not (self.capture_input or self.capture_output):
            raise InputError("capture at least one of Input and Output")

    def to_api(self) -> dict:
        """The ``DataCaptureConfig`` structure of CreateEndpointConfig."""
        options = [{"CaptureMode": mode} for mode, on in
                   zip(CAPTURE_MODES, (self.capture_input, self.capture_output)) if on]
        return {
            "EnableCapture": self.enabled,
            "InitialSamplingPercentage": int(self.sampling_percentage),
            "DestinationS3Uri": self.destination_s3_uri,
            "CaptureOptions": options,
            "CaptureContentTypeHeader": {
                "JsonContentTypes": list(self.json_content_types),
                "CsvContentTypes": list(self.csv_content_types),
            },
        }

    @classmethod
    def from_api(cls, api: dict) -> "CaptureConfig":
        modes = {option["CaptureMode"] for option in api.get("CaptureOptions", [])}
        if "InputAndOutput" in modes:
            modes |= {"Input", "Output"}
        header = api.get("CaptureContentTypeHeader") or {}
        return cls(
            destination_s3_uri=api["DestinationS3Uri"],
            sampling_percentage=int(api.get("InitialSamplingPercentage", 100)),
            capture_input="Input" in modes,
            capture_output="Output" in modes,
            enabled=bool(api.get("EnableCapture", True)),
            json_content_types=tuple(header.get("JsonContentTypes") or DEFAULT_JSON_CONTENT_TYPES),
            csv_content_types=tuple(header.get("CsvContentTypes") or DEFAULT_CSV_CONTENT_TYPES),
        )


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def encoding_for(content_type: str, config: CaptureConfig) -> str:
    """JSON and CSV content types are captured as text; everything else as BASE64."""
    media = _media_type(content_type)
    if media in {_media_type(t) for t in config.json_content_types}:
        return "JSON"
    if media in {_media_type(t) for t in config.csv_content_types}:
        return "CSV"
    return "BASE64"


@dataclass(frozen=True)
class CapturedPayload:
    observed_content_type: str
    mode: str  # INPUT | OUTPUT
    data: str
    encoding: str  # JSON | CSV | BASE64

    def to_json(self) -> dict:
        return {"observedContentType": self.observed_content_type, "mode": self.mode,
                "data": self.data, "encoding": self.encoding}

    def body(self) -> bytes:
        """The bytes the endpoint saw or sent."""
        if self.encoding == "BASE64":
            return base64.b64decode(self.data, validate=True)
        return self.data.encode("utf-8")


def encode_payload(body: bytes, content_type: str, mode: str, config: CaptureConfig) -> CapturedPayload:
    encoding = encoding_for(content_type, config)
    if encoding != "BASE64":
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            encoding, data = "BASE64", base64.b64encode(body).decode("ascii")
    else:
        data = base64.b64encode(body).decode("ascii")
    return CapturedPayload(content_type, mode, data, encoding)


def format_inference_time(moment: datetime) -> str:
    """SageMaker's ``inferenceTime``: UTC, second resolution, ``Z`` suffix."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_inference_time(text: str) -> datetime:
    """Read an ``inferenceTime`` (``Z`` or offset, optional fractional seconds) as aware UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class CaptureRecord:
    event_id: str
    inference_time: datetime
    endpoint_input: CapturedPayload | None
    endpoint_output: CapturedPayload | None
    inference_id: str | None = None
    extra_metadata: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        capture = {}
        if self.endpoint_input is not None:
            capture["endpointInput"] = self.endpoint_input.to_json()
        if self.endpoint_output is not None:
            capture["endpointOutput"] = self.endpoint_output.to_json()
        metadata = {"eventId": self.event_id, **self.extra_metadata}
        if self.inference_id is not None:
            metadata["inferenceId"] = self.inference_id
        metadata["inferenceTime"] = format_inference_time(self.inference_time)
        return {"captureData": capture, "eventMetadata": metadata, "eventVersion": EVENT_VERSION}

    def to_line(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":")) + "\n"


def build_record(
    *,
    config: CaptureConfig,
    event_id: str,
    inference_time: datetime,
    request_body: bytes,
    request_content_type: str,
    response_body: bytes,
    response_content_type: str,
    inference_id: str | None = None,
) -> CaptureRecord:
    """The record SageMaker writes for one captured invocation under ``config``."""
    return CaptureRecord(
        event_id=event_id,
        inference_time=inference_time,
        endpoint_input=encode_payload(request_body, request_content_type, "INPUT", config)
        if config.capture_input else None,
        endpoint_output=encode_payload(response_body, response_content_type, "OUTPUT", config)
        if config.capture_output else None,
        inference_id=inference_id,
    )


def _payload_from_json(raw, where: str) -> CapturedPayload | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CaptureFormatError(f"{where} must be an object")
    try:
        payload = CapturedPayload(
            observed_content_type=str(raw["observedContentType"]),
            mode=str(raw["mode"]),
            data=raw["data"],
            encoding=str(raw["encoding"]),
        )
    except KeyError as missing:
        raise CaptureFormatError(f"{where} has no {missing.args[0]!r}") from None
    if payload.encoding not in ("JSON", "CSV", "BASE64"):
        raise CaptureFormatError(f"{where}.encoding {payload.encoding!r} is not JSON, CSV or BASE64")
    if not isinstance(payload.data, str):
        raise CaptureFormatError(f"{where}.data must be a string")
    return payload


def parse_record(line: str) -> CaptureRecord:
    """Parse one JSON Lines record; raises :class:`CaptureFormatError` saying what is wrong."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        raise CaptureFormatError(f"not JSON ({error.msg}, column {error.colno})") from None
    if not isinstance(raw, dict):
        raise CaptureFormatError("a record must be a JSON object")
    capture = raw.get("captureData")
    metadata = raw.get("eventMetadata")
    if not isinstance(capture, dict) or not isinstance(metadata, dict):
        raise CaptureFormatError("a record needs 'captureData' and 'eventMetadata' objects")
    try:
        moment = parse_inference_time(str(metadata["inferenceTime"]))
    except KeyError:
        raise CaptureFormatError("eventMetadata has no 'inferenceTime'") from None
    except ValueError:
        raise CaptureFormatError(f"inferenceTime {metadata['inferenceTime']!r} is not an ISO 8601 time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00, whose UTC is before year 1
        raise CaptureFormatError(f"inferenceTime {metadata['inferenceTime']!r} is outside the years 1 to 9999 "
                                 "in UTC") from None
    extra = {k: v for k, v in metadata.items() if k not in ("eventId", "inferenceTime", "inferenceId")}
    return CaptureRecord(
        event_id=str(metadata.get("eventId", "")),
        inference_time=moment,
        endpoint_input=_payload_from_json(capture.get("endpointInput"), "captureData.endpointInput"),
        endpoint_output=_payload_from_json(capture.get("endpointOutput"), "captureData.endpointOutput"),
        inference_id=metadata.get("inferenceId"),
        extra_metadata=extra,
    )


def is_sampled(sampling_percentage: int, draw: float) -> bool:
    """Whether an invocation is captured, given a uniform draw in [0, 1)."""
    return draw * 100 < sampling_percentage
