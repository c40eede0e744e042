"""`scones batch` on the local backend: the real batch definition in the interpreter, the colour model
served by the local endpoint, real S3 over HTTP; and the memory backend's batch with the same definition."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from scones.backends.memory import MemoryBackend
from scones.batch import BatchFailed, batch_definition, summarize
from scones.batch_child import ConcurrentReads, ImageRecord, ItemFailure
from scones.cli import cli

from .colour_model import expected_probabilities, solid_png


def stage_batch(storage, bucket: str, count: int) -> dict[str, tuple[int, int]]:
    """``count`` solid PNGs (red ones bicycles, blue ones motorcycles) under ``batch/``; key -> (red, blue)."""
    colours = {}
    for n in range(count):
        red, blue = (250, 0) if n % 3 else (0, 200)
        colours[f"batch/{n:03d}.png"] = (red, blue)
    storage.put_many({f"s3://{bucket}/{key}": solid_png(red, 0, blue) for key, (red, blue) in colours.items()})
    return colours


def test_every_image_gets_a_record_and_a_bad_object_fails_alone(backend, staged, bucket, storage):
    backend.deploy(model_uri=staged)
    colours = stage_batch(storage, bucket, 70)  # more than one of the definition's batches
    storage.put(f"s3://{bucket}/batch/notes.txt", b"not an image")

    report = backend.batch(f"s3://{bucket}/batch/", out_uri=f"s3://{bucket}/results/", threshold=0.9)

    expected = []
    for key, (red, blue) in sorted(colours.items()):
        probabilities = expected_probabilities(red, blue)
        best = max(range(2), key=probabilities.__getitem__)
        expected.append((key, ("bicycle", "motorcycle")[best], pytest.approx(probabilities[best], abs=1e-5),
                         probabilities[best] >= 0.9))
    assert [(r.key, r.class_name, r.confidence, r.passed) for r in report.records] == expected
    assert [(f.key, f.error) for f in report.failures] == [("batch/notes.txt", "ModelError")]
    assert "not an image" in report.failures[0].cause
    assert report.summary == {"images": 71, "classified": 70, "per_class": {"bicycle": 46, "motorcycle": 24},
                              "passed": sum(e[3] for e in expected), "failed": 1, "threshold": 0.9,
                              "errors": {"ModelError": 1}}
    manifest = json.loads(storage.get(report.manifest_uri))
    assert report.manifest_uri.startswith(f"s3://{bucket}/results/")
    succeeded = manifest["ResultFiles"]["SUCCEEDED"]
    per_batch = batch_definition()["States"]["classifyImages"]["ItemBatcher"]["MaxItemsPerBatch"]
    children = -(-71 // per_batch)  # 70 images and the text file, a child per batch
    assert children > 1
    assert [len(json.loads(storage.get(f"s3://{bucket}/{f['Key']}"))) for f in succeeded] == [children]
    assert json.loads(storage.get(report.summary_uri))["failures"] == [
        {"key": "batch/notes.txt", "error": "ModelError", "cause": report.failures[0].cause}]
    assert len(json.loads(storage.get(report.records_uri))) == 70


def test_cli_prints_the_summary_and_where_the_files_are(backend, staged, bucket, storage, s3_endpoint_url):
    backend.deploy(model_uri=staged)
    stage_batch(storage, bucket, 3)
    result = CliRunner().invoke(cli, ["batch", f"s3://{bucket}/batch/", "--endpoint-url", s3_endpoint_url,
                                      "--bucket", bucket, "--threshold", "0.5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()[1:]  # after the line naming the S3
    assert lines[0] == "3 images: 3 classified (bicycle 2, motorcycle 1), 3 passed the threshold 0.5, 0 failed"
    assert lines[1].startswith(f"records: s3://{bucket}/batch-results/") and lines[1].endswith("/records.json")


def test_a_prefix_in_a_missing_bucket_is_one_line_naming_the_error(backend, staged, s3_endpoint_url, bucket):
    backend.deploy(model_uri=staged)
    result = subprocess.run([sys.executable, "-m", "scones", "batch", "s3://no-such-bucket-for-batch/x/",
                             "--endpoint-url", s3_endpoint_url, "--bucket", bucket],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("error: the batch over s3://no-such-bucket-for-batch/x/ failed: "
                                     "States.ItemReaderFailed: ") and "(NoSuchBucket)" in error_lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_memory_backend_runs_the_same_definition_and_pages_the_listing():
    backend = MemoryBackend(predict=lambda body: [0.2, 0.8])
    backend.storage.ensure_bucket(backend.bucket)
    backend.storage.put(f"s3://{backend.bucket}/m.tar.gz", b"model")
    backend.deploy(model_uri=f"s3://{backend.bucket}/m.tar.gz")
    keys = [f"in/{n:04d}.png" for n in range(1003)]
    backend.storage.put_many({f"s3://{backend.bucket}/{key}": solid_png(1, 2, 3) for key in keys})
    report = backend.batch(f"s3://{backend.bucket}/in/", threshold=0.75)
    assert [record.key for record in report.records] == keys
    assert {(r.class_name, r.confidence, r.passed) for r in report.records} == {("class_1", 0.8, True)}
    with pytest.raises(BatchFailed, match="States.ItemReaderFailed"):
        backend.batch("s3://missing-bucket/in/")


def test_summarize_counts_classes_passes_and_errors():
    records = [ImageRecord("a", "bicycle", 0.99, True), ImageRecord("b", "bicycle", 0.6, False),
               ImageRecord("c", "motorcycle", 0.95, True)]
    failures = [ItemFailure("d", "ModelError", "x"), ItemFailure("e", "NoSuchObject", "y")]
    assert summarize(records, failures, 0.9) == {
        "images": 5, "classified": 3, "per_class": {"bicycle": 2, "motorcycle": 1}, "passed": 2, "failed": 2,
        "threshold": 0.9, "errors": {"ModelError": 1, "NoSuchObject": 1}}


def test_concurrent_reads_keep_their_threads_across_batches_and_fail_keys_alone():
    """The readers' threads (and so their kept-alive connections) serve every batch, not one each."""
    threads, lock = set(), threading.Lock()

    def get(bucket: str, key: str) -> bytes:
        with lock:
            threads.add(threading.current_thread())  # the Thread itself: an ident is reused once its thread ends
        if key.startswith("missing"):
            raise KeyError(key)
        return f"{bucket}/{key}".encode()

    with ConcurrentReads(get, 3) as read:
        batches = [read("b", [f"k{batch}-{n}" for n in range(8)] + [f"missing{batch}"]) for batch in range(5)]
    for batch, bodies in enumerate(batches):
        assert bodies[:8] == [f"b/k{batch}-{n}".encode() for n in range(8)]  # in the keys' order
        assert isinstance(bodies[8], KeyError) and bodies[8].args == (f"missing{batch}",)
    assert 1 <= len(threads) <= 3  # a pool per batch would have started up to 15
    with pytest.raises(RuntimeError, match="shutdown"):
        read("b", ["after-close"])
