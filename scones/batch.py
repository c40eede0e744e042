"""``scones batch``: classify every image under an S3 prefix with a Distributed Map.

The state machine is ``asl/scones_batch.asl.json``: its ItemReader lists the
prefix, its ItemBatcher groups the listed objects (16 to a batch) so one child
execution reads a batch and classifies it in one call, and its ResultWriter
writes every child's result under ``--out``. Batches, not images, are the
Map's items because an iteration costs far more than an image's forward pass;
16 rather than more, so that with four children at once one child's reads
overlap another's forward pass (200 images: 0.46 of the bare predictor's
throughput at 64 to a batch, 0.66 at 16; see the README's batch section).

A child's result is ``{"records": [...], "failures": [...]}``: an object that
cannot be read or is not an image fails alone, as a failure of its key, and
the batch goes on. A child that fails as a whole (the endpoint down) is a
failed iteration, which ``ToleratedFailurePercentage`` tolerates up to 10 %.

After the run, :func:`collect_results` reads the Map Run's manifest and files
back and writes ``records.json`` and ``summary.json`` beside them.

The child's work is :mod:`scones.batch_child` (it ships in the Lambda zip).
"""

from __future__ import annotations

import importlib.resources
import json
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Sequence

from scones.batch_child import Classifier, ImageRecord, ItemFailure, Reader, classify_batch
from scones.errors import SconesError
from scones.inferences import check_threshold
from scones.s3_uri import S3Uri
from scones.workflow_functions import BATCH_FUNCTION_PLACEHOLDER, BATCH_MACHINE_NAME

DEFINITION_FILE = "scones_batch.asl.json"
DEFAULT_OUT_PREFIX = "batch-results"  # --out's default: s3://SOURCE_BUCKET/batch-results/
RECORDS_FILE = "records.json"
SUMMARY_FILE = "summary.json"


class BatchFailed(SconesError):
    """The batch state machine's execution failed as a whole (not one image: those are failures)."""


@dataclass(frozen=True)
class BatchReport:
    """What ``scones batch`` found: a record per image, the failures, and where the files are."""

    records: tuple[ImageRecord, ...]
    failures: tuple[ItemFailure, ...]
    summary: dict
    manifest_uri: str
    records_uri: str
    summary_uri: str


def batch_definition() -> dict:
    """The batch state machine as the repository ships it, ``${ClassifyBatchArn}`` and all."""
    from scones.asl import load

    return load(importlib.resources.files("scones.asl").joinpath(DEFINITION_FILE).read_text(encoding="utf-8"))


def filled_definition(function_arn: str) -> dict:
    """The definition with the child's function ARN in place."""
    from scones.asl import substitute

    return substitute(batch_definition(), {BATCH_FUNCTION_PLACEHOLDER: function_arn})


def locations(source_uri: str, out_uri: str | None) -> tuple[S3Uri, S3Uri]:
    """The prefix to classify and where its results go (None: ``s3://SOURCE_BUCKET/batch-results/``)."""
    source = S3Uri.parse(source_uri)
    return source, S3Uri.parse(out_uri) if out_uri else S3Uri(source.bucket, DEFAULT_OUT_PREFIX + "/")


def execution_input(source: S3Uri, out: S3Uri, threshold: float, class_names: Sequence[str] | None) -> dict:
    """The batch execution's input: what to list, where to write, how to judge."""
    return {"source_bucket": source.bucket, "source_prefix": source.key, "out_bucket": out.bucket,
            "out_prefix": out.key.strip("/"), "threshold": check_threshold(threshold),
            "class_names": list(class_names) if class_names else None}


def summarize(records: Sequence[ImageRecord], failures: Sequence[ItemFailure], threshold: float) -> dict:
    """Counts per class, how many passed the threshold, how many failed, and the failures' errors."""
    return {"images": len(records) + len(failures), "classified": len(records),
            "per_class": dict(sorted(Counter(record.class_name for record in records).items())),
            "passed": sum(record.passed for record in records), "failed": len(failures), "threshold": threshold,
            "errors": dict(sorted(Counter(failure.error for failure in failures).items()))}


def _child_failures(entry: dict) -> list[ItemFailure]:
    """Every image of a child that failed as a whole, failed with the child's error."""
    items = json.loads(entry["Input"]).get("Items", [])
    error, cause = entry.get("Error", "States.Runtime"), entry.get("Cause", "")
    if entry["Status"] == "PENDING":
        error, cause = "Batch.NotRun", "the Map Run failed before this batch started"
    return [ItemFailure(item["Key"], error, cause) for item in items]


def collect_results(storage, manifest_uri: str, threshold: float) -> BatchReport:
    """Read a Map Run's manifest and result files; write ``records.json`` and ``summary.json`` beside them."""
    manifest = json.loads(storage.get(manifest_uri))
    bucket = manifest["DestinationBucket"]
    files = manifest["ResultFiles"]
    records, failures = [], []
    for entry in _entries(storage, bucket, files.get("SUCCEEDED", [])):
        output = json.loads(entry["Output"])
        records += [ImageRecord(**record) for record in output["records"]]
        failures += [ItemFailure(**failure) for failure in output["failures"]]
    for entry in _entries(storage, bucket, files.get("FAILED", []) + files.get("PENDING", [])):
        failures += _child_failures(entry)
    records.sort(key=lambda record: record.key)
    failures.sort(key=lambda failure: failure.key)
    summary = summarize(records, failures, threshold)
    base = manifest_uri.rsplit("/", 1)[0]
    records_uri, summary_uri = f"{base}/{RECORDS_FILE}", f"{base}/{SUMMARY_FILE}"
    storage.put(records_uri, json.dumps([asdict(record) for record in records]).encode(),
                content_type="application/json")
    storage.put(summary_uri, json.dumps({**summary, "failures": [asdict(failure) for failure in failures]},
                                        indent=2).encode(), content_type="application/json")
    return BatchReport(tuple(records), tuple(failures), summary, manifest_uri, records_uri, summary_uri)


def _entries(storage, bucket: str, result_files: list) -> list[dict]:
    return [entry for result_file in result_files
            for entry in json.loads(storage.get(f"s3://{bucket}/{result_file['Key']}"))]


def run_batch_machine(execution: dict, *, read: Reader, classify: Classifier, function_arn: str, s3_client,
                      storage, region: str, account: str) -> BatchReport:
    """Run the batch state machine in the ASL interpreter (local and memory backends); collect its results.

    The Map's S3 is ``s3_client`` (ItemReader and ResultWriter); the child's
    function is :func:`~scones.batch_child.classify_batch` with ``read`` and
    ``classify``; the Map's MaxConcurrency children run at once.
    """
    from scones.asl import Resources, StateMachine
    from scones.asl.distributed_map import s3_integrations

    definition = filled_definition(function_arn)
    resources = Resources(region=region, account=account).add_lambda(
        function_arn, lambda event, context: classify_batch(event, read=read, classify=classify), timeout=900)
    for resource, integration in s3_integrations(s3_client).items():
        resources.add_integration(resource, integration)
    workers = definition["States"]["classifyImages"]["MaxConcurrency"]
    outcome = StateMachine(definition, name=BATCH_MACHINE_NAME).execute(execution, resources=resources,
                                                                       max_workers=workers)
    if outcome.status != "SUCCEEDED":
        raise BatchFailed(f"the batch over s3://{execution['source_bucket']}/{execution['source_prefix']} failed: "
                          f"{outcome.error}: {outcome.cause}")
    details = outcome.output_value["ResultWriterDetails"]
    return collect_results(storage, f"s3://{details['Bucket']}/{details['Key']}", execution["threshold"])
