"""What a Distributed Map adds to a Map: items listed from S3, results written to S3.

The States Language: "A Map state set to Distributed is known as a Distributed
Map state. In this mode, the Map state runs each iteration as a child workflow
execution". Two of its fields touch S3, and both go through the execution's
:class:`~scones.asl.resources.Resources`, so the S3 is whichever one the caller
registered (:func:`s3_integrations` binds a boto3 S3 client):

- ``ItemReader`` with ``arn:aws:states:::s3:listObjectsV2`` lists
  ``Bucket``/``Prefix`` page by page; each item is the listed object as AWS
  hands it to an iteration: ``{"Etag", "Key", "LastModified" (epoch seconds),
  "Size", "StorageClass"}``.
- ``ResultWriter`` with ``arn:aws:states:::s3:putObject`` writes
  ``PREFIX/<MapRunId>/manifest.json`` and ``SUCCEEDED_0.json``,
  ``FAILED_0.json``, ``PENDING_0.json`` (those with entries), each entry a
  child execution as DescribeExecution gives it; the state's result is then
  ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .clock import iso_timestamp
from .errors import RESULT_WRITER_FAILED, StatesError

LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
# Bounds the listing: AWS stops a Distributed Map's reader at 100,000,000 items; a page holds 1,000.
MAX_LISTING_PAGES = 100_000
RESULT_STATUSES = ("SUCCEEDED", "FAILED", "PENDING")


def listed_item(entry: dict) -> dict:
    """One ListObjectsV2 ``Contents`` entry as the item an iteration receives."""
    modified = entry.get("LastModified")
    if isinstance(modified, str):
        modified = int(datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp())
    return {"Etag": entry["ETag"], "Key": entry["Key"], "LastModified": modified, "Size": entry["Size"],
            "StorageClass": entry.get("StorageClass", "STANDARD")}


def list_all(list_page: Callable[[dict], dict], parameters: dict) -> list[dict]:
    """Every object under the reader's ``Bucket``/``Prefix``, following ``NextContinuationToken``."""
    items, request = [], dict(parameters)
    for _ in range(MAX_LISTING_PAGES):
        page = list_page(request)
        items += [listed_item(entry) for entry in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            return items
        request = {**parameters, "ContinuationToken": page["NextContinuationToken"]}
    raise ValueError(f"the listing of {parameters} has more than {MAX_LISTING_PAGES} pages")


@dataclass(frozen=True)
class ChildRun:
    """One iteration of a Distributed Map: a child workflow execution."""

    index: int
    input: Any
    status: str  # SUCCEEDED | FAILED | PENDING (never started: the run failed first)
    output: Any = None
    error: str | None = None
    cause: str | None = None
    started: datetime | None = None
    stopped: datetime | None = None


@dataclass(frozen=True)
class MapRun:
    """Names of a Map Run: ``arn:aws:states:R:A:mapRun:MACHINE/LABEL:ID`` and its children's ARNs."""

    region: str
    account: str
    machine: str
    label: str
    run_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:mapRun:{self.machine}/{self.label}:{self.run_id}"

    @property
    def child_machine_arn(self) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{self.machine}/{self.label}"

    def child_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:execution:{self.machine}/{self.label}:{name}"


def result_entry(run: MapRun, child: ChildRun) -> dict:
    """A child execution as the ResultWriter's files list it (DescribeExecution's fields)."""
    name = f"{run.run_id[:8]}-{child.index}"
    entry = {"ExecutionArn": run.child_arn(name), "Input": json.dumps(child.input, separators=(",", ":")),
             "InputDetails": {"Included": True}, "Name": name}
    if child.status == "SUCCEEDED":
        entry |= {"Output": json.dumps(child.output, separators=(",", ":")), "OutputDetails": {"Included": True}}
    elif child.status == "FAILED":
        entry |= {key: value for key, value in (("Error", child.error), ("Cause", child.cause)) if value is not None}
    entry |= {"StartDate": iso_timestamp(child.started) if child.started else None,
              "StateMachineArn": run.child_machine_arn, "Status": child.status}
    if child.stopped:
        entry["StopDate"] = iso_timestamp(child.stopped)
    return {key: value for key, value in entry.items() if value is not None}


def write_results(put_object: Callable[[dict], Any], parameters: dict, run: MapRun, children: list[ChildRun]) -> dict:
    """Write the Map Run's result files and manifest; return the state's ResultWriterDetails result."""
    bucket = parameters.get("Bucket")
    if not isinstance(bucket, str) or not bucket:
        raise StatesError(RESULT_WRITER_FAILED, "The ResultWriter's Parameters need a Bucket")
    base = "/".join(part for part in (str(parameters.get("Prefix", "")).strip("/"), run.run_id) if part)
    files: dict[str, list] = {status: [] for status in RESULT_STATUSES}
    try:
        for status in RESULT_STATUSES:
            entries = [result_entry(run, child) for child in children if child.status == status]
            if entries:
                key, body = f"{base}/{status}_0.json", json.dumps(entries)
                put_object({"Bucket": bucket, "Key": key, "Body": body})
                files[status].append({"Key": key, "Size": len(body.encode("utf-8"))})
        manifest = {"DestinationBucket": bucket, "MapRunArn": run.arn, "ResultFiles": files}
        put_object({"Bucket": bucket, "Key": f"{base}/manifest.json", "Body": json.dumps(manifest)})
    except StatesError as error:
        raise StatesError(RESULT_WRITER_FAILED, f"The ResultWriter could not write to s3://{bucket}/{base}: "
                          f"{error.cause or error.error}") from None
    return {"MapRunArn": run.arn, "ResultWriterDetails": {"Bucket": bucket, "Key": f"{base}/manifest.json"}}


def s3_integrations(client) -> dict[str, Callable[[dict, Any], Any]]:
    """The two S3 resources a Distributed Map calls, served by a boto3-style S3 ``client``.

    Register them with ``Resources.add_integration(arn, fn)`` (or pass them in
    a ``resources`` dict): the Map's S3 is then that client's.
    """

    def list_objects(parameters: dict, context) -> dict:
        page = client.list_objects_v2(**parameters)
        return {"Contents": [{"ETag": entry["ETag"], "Key": entry["Key"], "Size": entry["Size"],
                              "LastModified": int(entry["LastModified"].timestamp()),
                              "StorageClass": entry.get("StorageClass", "STANDARD")}
                             for entry in page.get("Contents", [])],
                "IsTruncated": page.get("IsTruncated", False),
                **({"NextContinuationToken": page["NextContinuationToken"]} if page.get("IsTruncated") else {})}

    def put_object(parameters: dict, context) -> dict:
        body = parameters["Body"]  # a string is the object's text; any other JSON value is written as JSON
        client.put_object(Bucket=parameters["Bucket"], Key=parameters["Key"],
                          Body=(body if isinstance(body, str) else json.dumps(body)).encode("utf-8"))
        return {}

    return {LIST_OBJECTS: list_objects, PUT_OBJECT: put_object}
