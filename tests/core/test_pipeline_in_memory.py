"""`scones run` and the step commands on the memory backend: the pipeline's and the CLI's own logic, in milliseconds.

The memory backend meets the same contract test as the local and aws ones,
so what these tests show of the pipeline and the CLI holds on both.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from scones import cli as scones_cli
from scones.backends.memory import MemoryBackend
from scones.monitoring.build import build_report
from scones.pipeline import RunOptions, StepFailed, run_pipeline
from scones.synthetic_cifar import synthetic_split, write_cifar_archive


def by_digest(body: bytes) -> list[float]:
    """A model whose confidence depends on the image: some clear the 0.93 threshold, some do not."""
    confident = hashlib.md5(body).digest()[0] % 2 == 0
    return [0.98, 0.02] if confident else [0.4, 0.6]


@pytest.fixture
def archive(tmp_path):
    return str(write_cifar_archive(tmp_path / "cifar-100-python.tar.gz", synthetic_split([8, 48] * 6, seed=1),
                                   synthetic_split([8, 48] * 3, seed=2)))


def test_the_pipeline_runs_every_step_and_the_filter_decides_each_row(archive, tmp_path):
    backend = MemoryBackend(predict=by_digest)
    said = []
    summary = run_pipeline(backend, RunOptions(archive=archive, out_dir=tmp_path / "out", executions=8, seed=3),
                           say=said.append, build_monitor_report=build_report)

    assert list(summary.steps) == ["stage", "train", "deploy", "execute", "monitor"]
    assert backend.endpoints == {}  # torn down before the report
    for row in summary.rows:
        image = backend.storage.get(f"s3://{backend.bucket}/{row.image}")
        probabilities = by_digest(image)
        assert row.confidence == max(probabilities)
        assert row.predicted_class == ("bicycle", "motorcycle")[probabilities.index(max(probabilities))]
        expected = ("SUCCEEDED", None) if max(probabilities) >= 0.93 else ("FAILED", "THRESHOLD_CONFIDENCE_NOT_MET")
        assert (row.status, row.error) == expected
    assert {row.status for row in summary.rows} == {"SUCCEEDED", "FAILED"}  # the seed draws both kinds
    assert summary.monitor.counts.valid == 8  # every classifier call was captured once
    below = sum(row.status == "FAILED" for row in summary.rows)
    assert summary.monitor.share_below_threshold == pytest.approx(below / 8)
    out = tmp_path / "out"
    assert [row["execution"] for row in json.loads((out / "executions.json").read_text())] == [
        row.execution for row in summary.rows]
    assert len(list((out / "captures").rglob("*.jsonl"))) == 8


def test_a_failing_step_is_named_and_nothing_is_left_deployed(tmp_path, archive):
    backend = MemoryBackend()
    options = RunOptions(archive=archive, out_dir=tmp_path / "out", executions=2,
                         hyperparameter_overrides={"num_classes": "3"})  # the staged data has two
    with pytest.raises(StepFailed, match=r"^step 'train' failed: .*names 2 classes but num_classes is 3"):
        run_pipeline(backend, options, say=lambda _: None, build_monitor_report=build_report)
    assert backend.endpoints == {}


def run_cli(monkeypatch, *args):
    monkeypatch.setattr("sys.argv", ["scones", *args])
    with pytest.raises(SystemExit) as exited:
        scones_cli.main()
    return exited.value.code


def test_scones_run_on_the_memory_backend(monkeypatch, capsys, archive, tmp_path):
    code = run_cli(monkeypatch, "run", "--backend", "memory", "--source", archive, "--out", str(tmp_path / "o"),
                   "--count", "3")
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "memory: everything in this process's memory" in printed.err
    assert "3 of 3 executions succeeded; 0.0% of captured inferences below 0.93" in printed.out
    assert json.loads((tmp_path / "o" / "run.json").read_text())["endpoint"] == "scones-endpoint"


def test_a_scones_error_is_one_line_and_exit_1(monkeypatch, capsys):
    assert run_cli(monkeypatch, "execute", "--backend", "memory") == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: s3://scones-unlimited/ does not exist: run `scones stage` first (or pass the right --bucket)")


def test_a_bug_shows_its_traceback(monkeypatch, capsys):
    def broken(self, **_):
        raise KeyError("a programming error")

    monkeypatch.setattr(MemoryBackend, "cleanup", broken)
    monkeypatch.setattr("sys.argv", ["scones", "cleanup", "--backend", "memory"])
    with pytest.raises(KeyError, match="a programming error"):  # not turned into a one-line "error:"
        scones_cli.main()


def test_a_bug_inside_a_run_step_is_named_and_shows_its_traceback(monkeypatch, capsys, archive, tmp_path):
    def broken(self, *args, **kwargs):
        raise KeyError("a programming error")

    monkeypatch.setattr(MemoryBackend, "deploy", broken)
    assert run_cli(monkeypatch, "run", "--backend", "memory", "--source", archive, "--out", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError: 'a programming error'" in err
    assert err.splitlines()[-1] == "error: step 'deploy' failed: 'a programming error'"


def test_the_aws_backend_is_imported_only_when_chosen():
    import subprocess
    import sys

    code = ("import sys; from scones import cli; "
            "cli.cli.main(['cleanup', '--backend', 'memory'], standalone_mode=False); "
            "print(sorted(m for m in sys.modules if m.startswith('scones.backends.aws')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"



@pytest.mark.parametrize("backend_name, option, message", [
    ("memory", "layers=20", "unknown hyperparameter(s) layers; the image-classification algorithm takes: "),
    ("memory", "epochs=zero", "epochs must be"),
    ("local", "use_pretrained_model=1", "the local backend cannot train with use_pretrained_model=1 ("),
])
def test_run_checks_hyperparameters_before_it_fetches_or_stages(monkeypatch, capsys, tmp_path, backend_name,
                                                                option, message):
    missing = tmp_path / "no-such-archive.tar.gz"  # a download or staging would fail on this first
    code = run_cli(monkeypatch, "run", "--backend", backend_name, "--source", str(missing), "-H", option,
                   "--out", str(tmp_path / "o"))
    error = capsys.readouterr().err.splitlines()[-1]
    assert code == 1 and error.startswith("error: " + message), error
    assert not (tmp_path / "o").exists()


def test_the_pipeline_refuses_bad_hyperparameters_before_staging(archive, tmp_path):
    from scones.hyperparameters import HyperparameterError
    from scones.storage import NoSuchObject

    backend = MemoryBackend(predict=by_digest)
    with pytest.raises(HyperparameterError, match="^unknown hyperparameter"):
        run_pipeline(backend, RunOptions(archive=archive, out_dir=tmp_path / "out",
                                         hyperparameter_overrides={"layers": "20"}),
                     say=print, build_monitor_report=build_report)
    with pytest.raises(NoSuchObject, match="bucket 'scones-unlimited' does not exist"):  # nothing was staged
        list(backend.storage.list(f"s3://{backend.bucket}/"))


def test_alarm_options_are_for_the_aws_backend(monkeypatch, capsys):
    assert run_cli(monkeypatch, "execute", "--backend", "memory", "--alarm-period", "60") == 2
    assert "--alarm-failed-executions and --alarm-period set CloudWatch alarms: use them with --backend aws" in \
        capsys.readouterr().err


def test_publish_metrics_without_cloudwatch_says_fail_above_is_the_alarm(monkeypatch, capsys, archive, tmp_path):
    backend = MemoryBackend(predict=by_digest)
    run_pipeline(backend, RunOptions(archive=archive, out_dir=tmp_path / "out", executions=2, seed=3),
                 say=lambda line: None, build_monitor_report=build_report)
    monkeypatch.setattr("scones.backends.memory.MemoryBackend", lambda **_: backend)
    code = run_cli(monkeypatch, "monitor", "--backend", "memory", "--out", str(tmp_path / "m"), "--publish-metrics")
    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: --publish-metrics puts CloudWatch metrics and alarms: use it with --backend aws; "
        "locally, --fail-above is the alarm (scones monitor exits 3)")
