"""The Backend contract: the same assertions against every backend.

The local backend runs for real (the session's S3 over HTTP, MXNet, the
endpoint server, the ASL interpreter); the memory backend in dictionaries, so
that tests built on it mean the same as on the other two. The aws backend runs against the
emulated services its own tests use: moto for S3 and the SageMaker, Lambda,
IAM and Step Functions request shapes, with :func:`act_as_aws` doing on each
fake sleep what AWS would do meanwhile (a finished job's model.tar.gz, a
finished execution). Each test below is one meaning of one step, held by
both.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from scones import bucket_layout as layout
from scones.backend import BACKENDS, Backend, WorkflowInfo, get_backend
from scones.backends.local import LocalBackend
from scones.errors import InputError, NotStaged
from scones.execution_rows import outcome_inferences
from scones.inferences import top_class
from scones.synthetic_cifar import synthetic_split, write_cifar_archive
from scones.workflow_functions import FUNCTIONS

from ..aws.aws_fakes import REGION, FakeClock, act_as_aws, repair_endpoint_config_arns
from ..workflow.colour_model import colour_model_tarball, solid_png

STAGED_KEYS = ["classes.json", "test.lst", "test/bicycle_s_02000000.png", "test/motorcycle_s_02000001.png",
               "train.lst", "train/bicycle_s_01000000.png", "train/bicycle_s_01000002.png",
               "train/motorcycle_s_01000001.png", "train/motorcycle_s_01000003.png"]
SMALL_TRAINING = {"epochs": "1", "num_layers": "20", "mini_batch_size": "2"}


@dataclass
class Subject:
    backend: Backend
    model_uri: str  # a model served by the endpoint the tests deploy (the colour model)


def stage_colour_model(backend: Backend) -> str:
    backend.storage.ensure_bucket(backend.bucket)
    uri = layout.model_uri(backend.bucket, "colour")
    backend.storage.put(uri, colour_model_tarball())
    return uri


@pytest.fixture(params=sorted(BACKENDS))
def subject(request, monkeypatch, tmp_path):
    if request.param == "memory":
        with get_backend("memory", bucket="scones-contract") as memory:
            yield Subject(memory, stage_colour_model(memory))
        return
    if request.param == "local":
        url, bucket = request.getfixturevalue("s3_endpoint_url"), request.getfixturevalue("bucket")
        with LocalBackend(endpoint_url=url, bucket=bucket, training_progress=False) as local:
            yield Subject(local, stage_colour_model(local))
        return
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.events.register("after-call.sagemaker.CreateEndpointConfig", repair_endpoint_config_arns)
        clock = FakeClock()
        with get_backend("aws", session=session, bucket="scones-contract", sleep=clock.sleep, clock=clock.clock,
                         log=lambda _: None) as aws:
            clock.on_sleep.append(act_as_aws(aws, session, colour_model_tarball()))
            yield Subject(aws, stage_colour_model(aws))


@pytest.fixture
def archive(tmp_path):
    return str(write_cifar_archive(tmp_path / "cifar-100-python.tar.gz", synthetic_split([8, 48] * 2, seed=1),
                                   synthetic_split([8, 48], seed=2)))


def contract_parameters(function) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_every_step_has_the_contracts_signature(subject):
    backend = subject.backend
    assert isinstance(backend, Backend) and Backend.__abstractmethods__
    for step in sorted(Backend.__abstractmethods__ - {"storage"}):
        assert contract_parameters(getattr(type(backend), step)) == contract_parameters(getattr(Backend, step)), step


def test_stage_writes_the_layouts_keys_once(subject, archive):
    backend = subject.backend
    report = backend.stage(archive)
    staged = sorted(uri.split("/", 3)[3] for uri in report.uploaded)
    assert staged == STAGED_KEYS and report.bucket == backend.bucket
    assert json.loads(backend.storage.get(layout.uri(backend.bucket, layout.CLASSES_KEY))) == ["bicycle", "motorcycle"]
    again = backend.stage(archive)
    assert again.uploaded == [] and len(again.unchanged) == len(STAGED_KEYS)


def test_default_hyperparameters_count_the_staged_images_and_take_overrides(subject, archive):
    backend = subject.backend
    with pytest.raises(NotStaged, match=r"train\.lst does not exist: run `scones stage` first"):
        backend.default_hyperparameters()
    backend.stage(archive)
    chosen = backend.default_hyperparameters({"epochs": "3"})
    assert chosen.num_training_samples == 4 and chosen.epochs == 3 and chosen.num_classes == 2
    assert backend.default_hyperparameters().epochs != 3


def test_train_puts_the_model_where_the_layout_says(subject, archive):
    backend = subject.backend
    backend.stage(archive)
    outcome = backend.train(hyperparameters=backend.default_hyperparameters(SMALL_TRAINING), job_name="contract-job")
    assert outcome.job_name == "contract-job"
    assert outcome.model_uri == layout.model_uri(backend.bucket, "contract-job")
    assert backend.storage.exists(outcome.model_uri)
    assert outcome.class_names == ("bicycle", "motorcycle")


def test_deploy_without_capture_is_the_default_capture(subject):
    backend = subject.backend
    endpoint = backend.deploy(model_uri=subject.model_uri)
    assert endpoint.name == "scones-endpoint" and endpoint.variant == "AllTraffic"
    assert endpoint.model_uri == subject.model_uri
    assert endpoint.capture == backend.default_capture()
    assert endpoint.capture.destination_s3_uri == f"s3://{backend.bucket}/data_capture"
    assert backend.captures_uri("scones-endpoint") == f"s3://{backend.bucket}/data_capture/scones-endpoint/"


def test_the_workflow_carries_its_settings_and_runs_as_given(subject):
    backend = subject.backend
    backend.storage.put(layout.uri(backend.bucket, layout.image_key("test", "red.png")), solid_png(255, 0, 0))
    endpoint = backend.deploy(model_uri=subject.model_uri)
    workflow = backend.deploy_workflow(endpoint_name=endpoint.name, threshold=0.9)
    assert isinstance(workflow, WorkflowInfo)
    assert (workflow.endpoint_name, workflow.threshold) == ("scones-endpoint", 0.9)
    assert sorted(workflow.functions) == sorted(FUNCTIONS)
    outcome = backend.start_execution(workflow, {"image_data": "", "s3_bucket": backend.bucket,
                                                 "s3_key": "test/red.png"}, name="contract-0001")
    assert (outcome.name, outcome.status, outcome.error) == ("contract-0001", "SUCCEEDED", None)
    best, confidence = top_class(outcome_inferences(outcome))
    assert best == 0 and confidence >= 0.9


def test_a_bad_threshold_is_refused_before_anything_is_deployed(subject):
    with pytest.raises(InputError, match="THRESHOLD must be between 0 and 1"):
        subject.backend.deploy_workflow(threshold=1.5)


def test_cleanup_stops_endpoints_and_deletes_only_the_layouts_data(subject, archive):
    backend = subject.backend
    backend.stage(archive)
    backend.storage.put(layout.uri(backend.bucket, "mine/keep.txt"), b"not Scones's")
    backend.deploy(model_uri=subject.model_uri)
    listed = backend.cleanup(dry_run=True)
    assert listed.dry_run and any("scones-endpoint" in item for item in listed.deleted)
    assert backend.cleanup(delete_data=True).deleted
    left = [stored.uri for stored in backend.storage.list(layout.uri(backend.bucket))]
    assert left == [layout.uri(backend.bucket, "mine/keep.txt")]
    assert not any("scones-endpoint" in item for item in backend.cleanup().deleted)
    assert backend.delete_endpoint("scones-endpoint") is False
