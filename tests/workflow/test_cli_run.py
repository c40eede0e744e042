"""`scones run` and the step commands through the real entry point, on a small archive."""

from __future__ import annotations

import json
import subprocess
import sys

from scones.monitoring.report import WORKFLOW_GRAPH_FILES
from scones.synthetic_cifar import synthetic_split, write_cifar_archive


def scones(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "scones", *args], capture_output=True, text=True, timeout=timeout)


def test_run_does_every_step_and_writes_the_output_folder(tmp_path, s3_endpoint_url, bucket):
    archive = write_cifar_archive(tmp_path / "c.tar.gz", synthetic_split([8, 48] * 12, seed=1),
                                  synthetic_split([8, 48] * 3, seed=2))
    out = tmp_path / "out"
    result = scones("run", "--source", str(archive), "--endpoint-url", s3_endpoint_url, "--bucket", bucket,
                    "--out", str(out), "--epochs", "1", "-H", "num_layers=20", "-H", "mini_batch_size=8",
                    "--count", "4", "--seed", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    for step in ("── stage", "── train", "── deploy", "── execute", "── monitor"):
        assert step in result.stderr
    assert "Epoch[0] Train-accuracy=" in result.stderr and "Epoch[0] Validation-accuracy=" in result.stderr
    rows = json.loads((out / "executions.json").read_text())
    assert len(rows) == 4
    assert set(rows[0]) == {"execution", "image", "true_class", "predicted_class", "confidence", "status", "error"}
    for row in rows:  # the model's answer decides each status, by the filter's rule
        assert row["image"].startswith("test/") and row["true_class"] in ("bicycle", "motorcycle")
        assert row["predicted_class"] in ("bicycle", "motorcycle") and 0.5 <= row["confidence"] <= 1
        expected = ("SUCCEEDED", None) if row["confidence"] >= 0.93 else ("FAILED", "THRESHOLD_CONFIDENCE_NOT_MET")
        assert (row["status"], row["error"]) == expected
    assert len(list((out / "histories").glob("*.json"))) == 4
    assert (out / "model.tar.gz").read_bytes()[:2] == b"\x1f\x8b"
    summary = json.loads((out / "monitor" / "summary.json").read_text())
    assert summary["counts"]["valid"] == 4  # every execution's invocation was captured, once
    assert list((out / "captures").rglob("*.jsonl"))
    statuses = {row["status"] for row in rows}
    report = (out / "monitor" / "report.html").read_text()
    for status, file_name in WORKFLOW_GRAPH_FILES.items():  # one graph per status that occurred, in the report
        assert (out / "monitor" / file_name).exists() == (status in statuses)
    assert report.count('alt="The workflow graph of scones-') == len(statuses)
    run = json.loads((out / "run.json").read_text())
    assert list(run["steps_seconds"]) == ["stage", "train", "deploy", "execute", "monitor"]
    listed = scones("cleanup", "--endpoint-url", s3_endpoint_url, "--bucket", bucket, "--dry-run")
    assert listed.stdout == "nothing to delete\n"  # run tore its endpoint down


def test_a_failing_step_is_named_and_exits_1(tmp_path, s3_endpoint_url, bucket):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not an archive")
    result = scones("run", "--source", str(bad), "--endpoint-url", s3_endpoint_url, "--bucket", bucket,
                    "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "error: step 'stage' failed: " in result.stderr
    assert "is truncated or not a CIFAR-100 python archive" in result.stderr


def test_execute_without_a_deployed_endpoint_says_so(s3_endpoint_url, bucket):
    result = scones("execute", "--endpoint-url", s3_endpoint_url, "--bucket", bucket)
    assert result.returncode == 1
    assert "Endpoint scones-endpoint of account" in result.stderr and "not found" in result.stderr
