"""The README's library example, run exactly as written, on both backends.

The code block under "## As a library" is read from README.md and executed
unchanged (for ``"aws"``, with the one change its comment names) in a folder holding ``cifar-100-python.tar.gz``
(any archive: the example sends one of its own staged test images). Locally every part is real; for ``"aws"`` the example's own
``get_backend("aws")`` talks to moto, with the fake sleep doing what AWS does
meanwhile (the job's model.tar.gz, the finished execution).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
from moto import mock_aws

from scones.backends.aws import AwsBackend
from scones.execution_rows import outcome_inferences
from scones.hyperparameters import Hyperparameters
from scones.inferences import DEFAULT_THRESHOLD, top_class
from scones.synthetic_cifar import synthetic_split, write_cifar_archive

from ..aws.aws_fakes import REGION, FakeClock, Recorder, act_as_aws, repair_endpoint_config_arns
from .colour_model import colour_model_tarball

README = Path(__file__).resolve().parents[2] / "README.md"


def library_example() -> str:
    section = README.read_text(encoding="utf-8").split("## As a library", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def the_examples_archive(folder: Path) -> list[str]:
    """16 training images and 4 test images; returns the test images' names."""
    test = synthetic_split([8, 48, 8, 48], seed=2)
    write_cifar_archive(folder / "cifar-100-python.tar.gz", synthetic_split([8, 48] * 8, seed=1), test)
    return list(test.filenames)


def run_example(capsys, backend_name: str = "local"):
    """The example as written; for another backend, with the one change its comment names."""
    code = library_example().replace('get_backend("local")', f'get_backend("{backend_name}")')
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace, capsys.readouterr().out


def test_the_example_names_the_backends_it_claims():
    code = library_example()
    assert 'scones.get_backend("local")' in code and '# or "aws"' in code
    assert "backend.train(hyperparameters=None)" in code


def test_the_library_example_runs_locally(tmp_path, monkeypatch, capsys, s3_endpoint_url, storage):
    names = the_examples_archive(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint_url)
    try:
        namespace, printed = run_example(capsys)
    finally:
        storage.delete(stored.uri for stored in storage.list("s3://scones-unlimited/"))
    outcome, key = namespace["outcome"], namespace["test_case"]["s3_key"]
    assert key.removeprefix("test/") in names  # one of the archive's own test images
    assert printed.splitlines()[-1] == f"{key} {outcome.status} {outcome.error}"  # after training's log lines
    _, confidence = top_class(outcome_inferences(outcome))  # what the real model answered for the bicycle
    if confidence >= DEFAULT_THRESHOLD:
        assert (outcome.status, outcome.error) == ("SUCCEEDED", None)
    else:
        assert (outcome.status, outcome.error) == ("FAILED", "THRESHOLD_CONFIDENCE_NOT_MET")
    assert len(namespace["model"].epochs) == Hyperparameters.local_default().epochs  # every default epoch ran


def test_the_library_example_runs_on_aws(tmp_path, monkeypatch, capsys):
    names = the_examples_archive(tmp_path)
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        recorder = Recorder()
        session.events.register("provide-client-params", recorder)
        session.events.register("after-call.sagemaker.CreateEndpointConfig", repair_endpoint_config_arns)
        clock = FakeClock()
        # The example calls get_backend("aws") with no settings: its session and clock are the defaults.
        for name, value in {"session": session, "sleep": clock.sleep, "clock": clock.clock,
                            "log": lambda _: None}.items():
            monkeypatch.setitem(AwsBackend.__init__.__kwdefaults__, name, value)
        monkeypatch.setattr(AwsBackend, "__enter__", lambda self: (
            clock.on_sleep.append(act_as_aws(self, session, colour_model_tarball())), self)[1])
        namespace, printed = run_example(capsys, "aws")

    key = namespace["test_case"]["s3_key"]
    assert key.removeprefix("test/") in names and printed.splitlines()[-1] == f"{key} SUCCEEDED None"
    bucket = namespace["backend"].bucket
    assert bucket == "sagemaker-us-east-1-123456789012"
    job = recorder.of("CreateTrainingJob")[0]["HyperParameters"]
    assert (job["num_layers"], job["epochs"], job["num_training_samples"]) == ("152", "30", "16")  # the course's
    started = recorder.of("StartExecution")[0]
    assert json.loads(started["input"]) == {"image_data": "", "s3_bucket": bucket, "s3_key": key}
    capture = recorder.of("CreateEndpointConfig")[0]["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == f"s3://{bucket}/data_capture"
