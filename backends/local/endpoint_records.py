"""Local endpoints recorded in storage, so another process can find and invoke them.

SageMaker keeps its endpoints in the control plane; the local backend keeps
one JSON object per endpoint at ``s3://BUCKET/scones/endpoints/NAME.json``
(name, model artifact, variant, instance type label, Data Capture
configuration, the URL it is served at, creation time, status). ``scones
invoke`` in another terminal reads it to learn where to send the image.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from scones.errors import InputError, NotFound
from scones import bucket_layout as layout
from scones.backend import DEFAULT_VARIANT, EndpointInfo
from scones.capture import CaptureConfig, format_inference_time, parse_inference_time
from scones.s3_uri import S3Uri
from scones.storage import NoSuchObject, Storage, StorageError

RECORD_FORMAT = "scones-endpoint/1"
LOCAL_INSTANCE_TYPE = "local"
IN_SERVICE = "InService"
# CreateEndpoint's EndpointName: 1-63 characters, alphanumerics and inner hyphens.
ENDPOINT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
# How often a serving `scones deploy` checks that its record is still there, and how long cleanup waits for it.
RECORD_CHECK_SECONDS = 1.0
STOP_WAIT_SECONDS = 10.0
# The account id the local endpoint reports in AWS's messages.
LOCAL_ACCOUNT_ID = "000000000000"


class EndpointNotFound(NotFound):
    """No endpoint of that name is recorded; the message is SageMaker's."""

    def __init__(self, name: str):
        super().__init__(f"Endpoint {name} of account {LOCAL_ACCOUNT_ID} not found.")
        self.name = name


class EndpointRecordError(InputError):
    """A stored endpoint record that cannot be read; the message names it and the fix."""


def is_endpoint_name(name: str) -> bool:
    return isinstance(name, str) and len(name) <= 63 and ENDPOINT_NAME_PATTERN.fullmatch(name) is not None


def check_endpoint_name(name: str) -> str:
    if not is_endpoint_name(name):
        raise InputError(f"endpoint name {name!r} is not valid: use 1-63 letters, digits and hyphens, "
                         "starting and ending with a letter or digit (SageMaker's rule)")
    return name


def record_uri(bucket: str, name: str) -> str:
    return layout.endpoint_record_uri(bucket, check_endpoint_name(name))


@dataclass(frozen=True)
class EndpointRecord:
    name: str
    model_uri: str
    url: str  # where the runtime API answers: http://127.0.0.1:PORT
    created: datetime
    variant: str = DEFAULT_VARIANT
    instance_type: str = LOCAL_INSTANCE_TYPE
    capture: CaptureConfig | None = None
    status: str = IN_SERVICE

    def __post_init__(self):
        check_endpoint_name(self.name)
        S3Uri.parse(self.model_uri)

    def to_json(self) -> bytes:
        return json.dumps({
            "format": RECORD_FORMAT,
            "name": self.name,
            "model_uri": self.model_uri,
            "variant": self.variant,
            "instance_type": self.instance_type,
            "data_capture_config": self.capture.to_api() if self.capture else None,
            "url": self.url,
            "created": format_inference_time(self.created),
            "status": self.status,
        }, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, *, source: str) -> "EndpointRecord":
        fix = "delete it (it is rewritten by deploying the endpoint again)"
        try:
            body = json.loads(data)
            if body.get("format") != RECORD_FORMAT:
                raise ValueError(f"format {body.get('format')!r}, expected {RECORD_FORMAT!r}")
            capture = body.get("data_capture_config")
            return cls(
                name=body["name"],
                model_uri=body["model_uri"],
                url=body["url"],
                created=parse_inference_time(body["created"]),
                variant=body["variant"],
                instance_type=body["instance_type"],
                capture=CaptureConfig.from_api(capture) if capture else None,
                status=body["status"],
            )
        except KeyError as missing:
            raise EndpointRecordError(f"{source} has no {missing.args[0]!r}; {fix}") from None
        except (ValueError, TypeError, AttributeError) as error:
            raise EndpointRecordError(f"{source} is not an endpoint record ({error}); {fix}") from None

    def to_info(self) -> EndpointInfo:
        """The backend-neutral description the CLI prints."""
        return EndpointInfo(name=self.name, variant=self.variant, model_uri=self.model_uri,
                            location=self.url, capture=self.capture)


def record_endpoint(storage: Storage, bucket: str, record: EndpointRecord) -> str:
    """Store (or replace) the record; returns its URI."""
    uri = record_uri(bucket, record.name)
    storage.put(uri, record.to_json(), content_type="application/json")
    return uri


def lookup_endpoint(storage: Storage, bucket: str, name: str) -> EndpointRecord:
    """The record of ``name``; :class:`EndpointNotFound` if there is none (or the name is invalid)."""
    if not is_endpoint_name(name):
        raise EndpointNotFound(name)
    uri = record_uri(bucket, name)
    try:
        data = storage.get(uri)
    except NoSuchObject:
        raise EndpointNotFound(name) from None
    return EndpointRecord.from_json(data, source=uri)


def list_endpoints(storage: Storage, bucket: str) -> list[EndpointRecord]:
    """Every recorded endpoint, by name."""
    prefix = layout.endpoint_records_uri(bucket)
    uris = [item.uri for item in storage.list(prefix) if item.uri.endswith(".json")]
    return [EndpointRecord.from_json(data, source=uri) for uri, data in zip(uris, storage.get_many(uris), strict=True)]


def delete_endpoint_record(storage: Storage, bucket: str, name: str) -> bool:
    """Forget ``name``; False if it was not recorded."""
    uri = record_uri(bucket, name)
    if not storage.exists(uri):
        return False
    storage.delete([uri])
    return True


def still_recorded(storage: Storage, bucket: str, name: str) -> bool:
    """Whether ``name`` still has a record: a serving ``scones deploy`` stops when cleanup removes it.

    An S3 that does not answer says nothing about the record: serving goes on.
    """
    try:
        return storage.exists(record_uri(bucket, name))
    except StorageError:
        return True


def stops_serving(url: str, *, within_seconds: float, clock=time.monotonic, pause=time.sleep) -> bool:
    """Whether nothing answers ``url``'s ``/ping`` any more, or stops answering within ``within_seconds``.

    Cleanup deletes a record another process serves, then asks this: that
    process notices within :data:`RECORD_CHECK_SECONDS` and stops. False means
    it is still serving (orphaned): cleanup says so rather than call it deleted.
    """
    deadline = clock() + within_seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1):
                pass
        except (urllib.error.URLError, ConnectionError, OSError):
            return True
        if clock() >= deadline:
            return False
        pause(0.2)
