"""The whole workflow on a real AWS account: stage, train, deploy, blue/green, workflow, captures, cleanup.

Skipped unless ``pytest --backend aws`` (or ``SCONES_AWS_E2E=1``) and boto3
finds credentials and a region. It costs
money — about $0.30 to $1 per run with the defaults below (a 2-epoch job on
ml.g4dn.xlarge, an ml.m5.large endpoint for ~20 minutes) — and cleans up after
itself in ``finally``: every resource it creates carries a project tag unique
to the run, and the run's bucket is emptied and deleted.

Settings (environment): ``SCONES_AWS_E2E_TRAINING_INSTANCE`` (ml.g4dn.xlarge),
``SCONES_AWS_E2E_ENDPOINT_INSTANCE`` (ml.m5.large), ``SCONES_CIFAR_ARCHIVE``
(a real cifar-100-python.tar.gz; default: a small synthetic archive).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import boto3
import pytest

from scones.capture import parse_record
from scones.hyperparameters import Hyperparameters

pytestmark = pytest.mark.aws


def _skip_reason(config) -> str | None:
    if os.environ.get("SCONES_AWS_E2E") != "1" and config.getoption("--backend") != "aws":
        return "real-AWS test: run pytest --backend aws (it creates billed resources and deletes them)"
    session = boto3.session.Session()
    if session.get_credentials() is None:
        return "real-AWS test: no AWS credentials configured (aws configure / AWS_PROFILE)"
    if not session.region_name:
        return "real-AWS test: no AWS region configured (AWS_DEFAULT_REGION)"
    return None


@dataclass(frozen=True)
class RealRun:
    backend: object  # AwsBackend
    archive: str
    run: str  # unique to this run: names and the project tag carry it


@pytest.fixture(scope="module")
def real_run(pytestconfig, tmp_path_factory):
    reason = _skip_reason(pytestconfig)
    if reason:
        pytest.skip(reason)
    from scones.backends.aws import AwsBackend

    run = uuid.uuid4().hex[:8]
    session = boto3.session.Session()
    account = session.client("sts").get_caller_identity()["Account"]
    backend = AwsBackend(
        session=session,
        bucket=f"scones-e2e-{account}-{run}",
        project=f"scones-e2e-{run}",
        name_prefix=f"e2e{run}-",
        training_instance_type=os.environ.get("SCONES_AWS_E2E_TRAINING_INSTANCE", "ml.g4dn.xlarge"),
        endpoint_instance_type=os.environ.get("SCONES_AWS_E2E_ENDPOINT_INSTANCE", "ml.m5.large"),
        max_runtime_seconds=3600,
    )
    archive = os.environ.get("SCONES_CIFAR_ARCHIVE") or str(synthetic_archive(tmp_path_factory.mktemp("cifar")))
    try:
        yield RealRun(backend, archive, run)
    finally:
        report = backend.cleanup(delete_data=True)
        print(f"cleanup: {len(report.deleted)} deleted, ${report.hourly_cost_usd:.3f}/h saved")
        bucket = backend.client("s3")
        leftovers = bucket.list_objects_v2(Bucket=backend.bucket).get("Contents", [])
        if leftovers:
            backend.storage.delete(f"s3://{backend.bucket}/{item['Key']}" for item in leftovers)
        bucket.delete_bucket(Bucket=backend.bucket)


def synthetic_archive(folder):
    from scones.synthetic_cifar import synthetic_split, write_cifar_archive

    train = synthetic_split([8, 48] * 40, seed=1)  # 40 bicycles, 40 motorcycles
    test = synthetic_split([8, 48] * 10, seed=2)
    return write_cifar_archive(folder / "cifar-100-python.tar.gz", train, test)


def test_the_whole_workflow_on_aws(real_run):
    backend = real_run.backend
    bucket = backend.bucket
    endpoint = f"scones-e2e-{real_run.run}"

    report = backend.stage(real_run.archive)
    assert report.uploaded, report.summary()
    samples = backend.storage.get(f"s3://{bucket}/train.lst").decode().count("\n")

    training = backend.train(hyperparameters=Hyperparameters.course(samples).replace(epochs=2))
    assert training.model_uri.startswith(f"s3://{bucket}/models/") and backend.storage.exists(training.model_uri)
    assert [epoch.epoch for epoch in training.epochs] == [0, 1]
    assert 0.0 <= training.validation_accuracy <= 1.0

    first = backend.deploy(model_uri=training.model_uri, endpoint_name=endpoint)
    test_key = backend.storage.get(f"s3://{bucket}/test.lst").decode().splitlines()[0].split("\t")[2]
    image = backend.storage.get(f"s3://{bucket}/test/{test_key}")
    probabilities = backend.invoke_endpoint(endpoint, image)
    assert len(probabilities) == 2 and sum(probabilities) == pytest.approx(1.0, abs=1e-3)

    second = backend.deploy(model_uri=training.model_uri, endpoint_name=endpoint)
    assert second.location == first.location  # blue/green: same endpoint, new config

    workflow = backend.deploy_workflow(endpoint_name=endpoint, threshold=0.93)
    assert backend.deploy_workflow(endpoint_name=endpoint, threshold=0.93) == workflow
    outcome = backend.start_execution(workflow, {"s3_bucket": bucket, "s3_key": f"test/{test_key}"},
                                      name=f"scones-e2e-{real_run.run}")
    assert outcome.status in ("SUCCEEDED", "FAILED"), outcome
    if outcome.status == "FAILED":
        assert outcome.error == "THRESHOLD_CONFIDENCE_NOT_MET", outcome.cause
    assert outcome.history[0]["type"] == "ExecutionStarted"

    # Data Capture flushes every few minutes; deleting the endpoint flushes what is pending.
    assert backend.delete_endpoint(endpoint) is True
    capture_prefix = backend.captures_uri(endpoint)
    captures = backend.poller.until(lambda: [stored.uri for stored in backend.storage.list(capture_prefix)],
                                    bool, what="Data Capture files", interval=30, timeout=900, status=len)
    records = [parse_record(line) for uri in captures
               for line in backend.storage.get(uri).decode().splitlines() if line.strip()]
    assert records and records[0].endpoint_input.observed_content_type == "image/png"

    cleanup = backend.cleanup()
    assert cleanup.deleted and any(line.startswith("IAM role") for line in cleanup.deleted)
    assert backend.cleanup().deleted == []
